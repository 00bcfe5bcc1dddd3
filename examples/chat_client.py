#!/usr/bin/python3
"""A small terminal chat client for natterd, on Debian's python3-websockets.

Logs in, opens the WebSocket, prints every entry of one conversation as it
arrives (messages, edits, deletions, reactions, members coming and going),
sends each line typed on standard input, and renews its access token on the
open socket before it expires.

  /usr/bin/python3 examples/chat_client.py --handle bob --password "battery staple" --conversation ID
"""
import argparse
import asyncio
import json
import sys
import time
import urllib.request
import uuid

import websockets


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def login(base, handle, password):
    return post(base, "/v1/auth/login", {"handle": handle, "password": password, "device": "chat_client.py"})


def describe(entry, me):
    """One line for any timeline entry (protocol section 5.1): a message may be
    deleted (no text); other kinds point at a message or a member."""
    who = "me" if entry["sender_id"] == me else str(entry["sender_id"])
    kind = entry.get("kind", "message")
    if kind == "message":
        text = "(deleted)" if entry.get("deleted") else entry.get("text", "")
        edited = " (edited)" if entry.get("edited_at") else ""
        return f"[{entry['seq']}] {who}: {text}{edited}"
    if kind == "edit":
        return f"[{entry['seq']}] {who} edited [{entry.get('target_seq')}]: {entry.get('text', '')}"
    if kind == "delete":
        return f"[{entry['seq']}] {who} deleted [{entry.get('target_seq')}]"
    if kind == "reaction":
        emoji = entry.get("text") or "(removed)"
        return f"[{entry['seq']}] {who} reacted {emoji} to [{entry.get('target_seq')}]"
    target = entry.get("target_user")
    return f"[{entry['seq']}] {who}: {kind.replace('_', ' ')}" + (f" {target}" if target else "")


async def chat(args):
    session = login(args.server, args.handle, args.password)
    me, token = session["user_id"], session["access_token"]
    ws_url = args.server.replace("http", "ws", 1) + "/v1/ws"
    async with websockets.connect(ws_url, extra_headers={"Authorization": "Bearer " + token}) as ws:
        # Show the latest page of history first.
        await ws.send(json.dumps({"type": "messages.history", "id": "history",
                                  "conversation_id": args.conversation, "limit": 20}))
        loop = asyncio.get_running_loop()
        lines = asyncio.Queue()
        loop.add_reader(sys.stdin, lambda: lines.put_nowait(sys.stdin.readline()))

        async def typed():
            while True:
                line = await lines.get()
                if not line:
                    return  # end of input
                text = line.rstrip("\n")
                if text:
                    await ws.send(json.dumps({"type": "messages.send", "id": "send",
                                              "conversation_id": args.conversation,
                                              "client_msg_id": str(uuid.uuid4()), "text": text}))

        async def renew():
            # The socket lives as long as its token: renew it halfway through
            # its life (or a minute before it ends) and tell the socket.
            nonlocal session
            while True:
                left = session["access_expires_at"] - time.time()
                await asyncio.sleep(max(1.0, min(left / 2, left - 60)))
                session = await loop.run_in_executor(
                    None, post, args.server, "/v1/auth/refresh", {"refresh_token": session["refresh_token"]})
                await ws.send(json.dumps({"type": "auth", "id": "renew", "token": session["access_token"]}))

        async def received():
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message" and frame["message"]["conversation_id"] == args.conversation:
                    print(describe(frame["message"], me), flush=True)
                elif kind == "result" and frame.get("id") == "history":
                    for m in frame["data"]["messages"]:
                        print(describe(m, me), flush=True)
                elif kind == "result" and frame.get("id") == "send":
                    print(describe(frame["data"], me), flush=True)
                elif kind == "error":
                    print(f"error {frame['code']}: {frame['message']}", file=sys.stderr, flush=True)

        tasks = [asyncio.create_task(t()) for t in (typed, received, renew)]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()  # an error in a task is reported, not swallowed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--handle", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--conversation", type=int, required=True)
    asyncio.run(chat(parser.parse_args()))


if __name__ == "__main__":
    main()
