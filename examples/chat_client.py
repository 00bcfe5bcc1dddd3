#!/usr/bin/python3
"""A small terminal chat client for natterd, on Debian's python3-websockets.

Logs in, opens the WebSocket, prints every message of one conversation as it
arrives, and sends each line typed on standard input.

  /usr/bin/python3 examples/chat_client.py --handle bob --password "battery staple" --conversation ID
"""
import argparse
import asyncio
import json
import sys
import urllib.request
import uuid

import websockets


def login(base, handle, password):
    body = json.dumps({"handle": handle, "password": password, "device": "chat_client.py"}).encode()
    req = urllib.request.Request(base + "/v1/auth/login", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def show(message, me):
    who = "me" if message["sender_id"] == me else str(message["sender_id"])
    print(f"[{message['seq']}] {who}: {message['text']}", flush=True)


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

        async def received():
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message" and frame["message"]["conversation_id"] == args.conversation:
                    show(frame["message"], me)
                elif kind == "result" and frame.get("id") == "history":
                    for m in frame["data"]["messages"]:
                        show(m, me)
                elif kind == "result" and frame.get("id") == "send":
                    show(frame["data"], me)
                elif kind == "error":
                    print(f"error {frame['code']}: {frame['message']}", file=sys.stderr, flush=True)

        done, pending = await asyncio.wait([asyncio.create_task(typed()), asyncio.create_task(received())],
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--handle", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--conversation", type=int, required=True)
    asyncio.run(chat(parser.parse_args()))


if __name__ == "__main__":
    main()
