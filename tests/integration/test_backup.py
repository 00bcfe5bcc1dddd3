"""natterd backup: a consistent copy of a data directory, taken while natterd
serves. Clients send as fast as acknowledgements come while `natterd backup`
copies (slowly, a few pages a step, so commits land between its steps); a
second natterd started on the copy holds every message acknowledged before the
backup started, each conversation's history has no gap, and a token issued by
the first server still works. Also: a destination that is not empty, a backup
with no natterd running, data directories that are not natterd's, and a
cluster's configuration, which is refused."""

import asyncio
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import WsClient  # noqa: E402

SENDERS = 6
LOAD_BEFORE_BACKUP_SECONDS = 1.5
PAGE = 100
FAST = ("--requests-per-second", "100000", "--request-burst", "100000")


class Sender:
    def __init__(self, index, user, cid):
        self.index = index
        self.user = user
        self.cid = cid
        self.acked = []  # (monotonic time the ack arrived, seq, client_msg_id, text)
        self.errors = []

    async def run(self, server, stop):
        client = await WsClient.connect(server, token=self.user.token, keep_events=False)
        try:
            n = 0
            while not stop.is_set():
                # Long texts: more pages for the backup to copy a few at a time.
                cmid, text = f"b{self.index}-{n}", f"sender {self.index} message {n} " + "~" * 1500
                frame = await client.request("messages.send", timeout=10, conversation_id=self.cid,
                                             client_msg_id=cmid, text=text)
                if frame["type"] == "error":
                    if frame["code"] == "unavailable":
                        await asyncio.sleep(0.01)  # overloaded: the same message again
                        continue
                    self.errors.append(frame)
                    return
                self.acked.append((time.monotonic(), frame["data"]["seq"], cmid, text))
                n += 1
        finally:
            await client.close()


async def read_all(client, cid):
    """A conversation's whole history, paging forward."""
    messages, cursor = [], 0
    for _ in range(10_000):
        page = await client.call("messages.history", conversation_id=cid, after=cursor, limit=PAGE)
        messages.extend(page["messages"])
        if not page["has_more"]:
            return messages
        cursor = page["messages"][-1]["seq"]
    raise AssertionError("history did not end")


def run_backup(*args, timeout=60):
    """`natterd backup ARGS`, waited for; the CompletedProcess."""
    return subprocess.run([h.NATTERD, "backup", *args], capture_output=True, text=True, timeout=timeout)


class BackupTest(h.AsyncTestCase):
    timeout = 120

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="natter-backup-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def natterd(self, *args, data_dir=None):
        """A natterd whose data directory is <data_dir>/data (the harness's layout)."""
        server = h.Natterd(*FAST, *args, data_dir=data_dir)
        self.servers.append(server)
        return server

    def restore_root(self, name):
        """A directory for a natterd started on a backup: the backup goes to <it>/data."""
        path = os.path.join(self.root, name)
        os.mkdir(path)
        return path

    def assert_private(self, dest):
        self.assertEqual(stat.S_IMODE(os.stat(dest).st_mode), 0o700)
        for name in os.listdir(dest):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dest, name)).st_mode), 0o600, name)

    async def test_a_backup_under_load_holds_everything_acknowledged_before_it(self):
        server = self.natterd().start()
        users = [server.new_user("bk") for _ in range(4)]
        owner = users[0]
        cids = []
        for i in range(3):
            status, conv = server.http("POST", "/v1/conversations",
                                       {"kind": "group", "title": f"backup {i}",
                                        "members": [u.id for u in users[1:]]}, token=owner.token)
            self.assertEqual(status, 200, conv)
            cids.append(conv["id"])
        senders = [Sender(i, users[i % 4], cids[i % 3]) for i in range(SENDERS)]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(s.run(server, stop)) for s in senders]
        try:
            await asyncio.sleep(LOAD_BEFORE_BACKUP_SECONDS)
            restored_root = self.restore_root("restored")
            dest = os.path.join(restored_root, "data")
            # A few pages a step with a pause between: the copy takes many
            # steps, and the senders' commits land between them.
            backup_started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                h.NATTERD, "backup", "--data-dir", os.path.join(server.data_dir, "data"),
                "--pages-per-step", "4", "--step-pause-ms", "3", dest,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            backup_ended = time.monotonic()
            await asyncio.sleep(0.2)
        finally:
            stop.set()
            try:
                await asyncio.wait_for(asyncio.gather(*tasks), 20)
            except BaseException:
                # A sender lost its server: say how it ended.
                print("\nnatterd's log:\n" + server.log_text(), file=sys.stderr)
                crash_dir = os.path.join(server.data_dir, "data", "crash")
                for name in os.listdir(crash_dir):
                    with open(os.path.join(crash_dir, name)) as f:
                        print(f.read(), file=sys.stderr)
                raise
        out, err = out.decode(), err.decode()
        self.assertTrue(server.running(), "natterd did not outlive the backup:\n" + server.log_text())
        self.assertEqual(proc.returncode, 0, out + err)
        self.assertIn("integrity check found nothing wrong", out)
        self.assertIn("copied the signing keys", out)
        for s in senders:
            self.assertEqual(s.errors, [], f"sender {s.index}")
        before = [(s, a) for s in senders for a in s.acked if a[0] < backup_started]
        during = [a for s in senders for a in s.acked if backup_started <= a[0] < backup_ended]
        after = [a for s in senders for a in s.acked if a[0] >= backup_ended]
        self.assertGreater(len(before), 100, "too little load before the backup to prove anything")
        self.assertGreater(len(during), 0, "nothing was acknowledged while the backup ran")
        self.assert_private(dest)
        self.assertIn("jwt-keys.json", os.listdir(dest))
        self.assertNotIn("media", os.listdir(dest))

        # The copy is a data directory: a second natterd serves it, with the
        # first one's signing keys (the owner's old token works) and accounts.
        restored = self.natterd(data_dir=restored_root).start()
        reader = await WsClient.connect(restored, token=owner.token, keep_events=False)
        try:
            histories = {}
            for cid in cids:
                history = await read_all(reader, cid)
                seqs = [m["seq"] for m in history]
                self.assertEqual(seqs, list(range(1, len(history) + 1)), f"conversation {cid}: a gap")
                histories[cid] = {m["seq"]: m for m in history}
            for s, (_, seq, cmid, text) in before:
                stored = histories[s.cid].get(seq)
                self.assertIsNotNone(stored, f"{cmid} (seq {seq}), acknowledged before the backup, is missing")
                self.assertEqual((stored["client_msg_id"], stored["text"], stored["sender_id"]),
                                 (cmid, text, s.user.id))
            # Nothing in the copy that the first server did not acknowledge (or
            # had in flight when the senders stopped).
            acked_ids = {(s.user.id, a[2]) for s in senders for a in s.acked}
            for cid in cids:
                for m in histories[cid].values():
                    if m.get("kind", "message") == "message" and m["client_msg_id"].startswith("b"):
                        self.assertIn((m["sender_id"], m["client_msg_id"]), acked_ids)
        finally:
            await reader.close()
        status, login = restored.login(users[1].handle, users[1].password)
        self.assertEqual(status, 200, login)
        stored = sum(len(hst) for hst in histories.values())
        print(f"\n  backup: {len(before)} acknowledged before it, {len(during)} during "
              f"({backup_ended - backup_started:.2f} s), {len(after)} after; {stored} events in the copy\n  "
              + out.strip().replace("\n", "\n  "), file=sys.stderr)

    async def test_a_backup_with_no_natterd_running_into_an_empty_directory(self):
        server = self.natterd().start()
        alice, bob = server.new_user("qa"), server.new_user("qb")
        status, conv = server.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": bob.id},
                                   token=alice.token)
        self.assertEqual(status, 200, conv)
        status, ack = server.http("POST", f"/v1/conversations/{conv['id']}/messages",
                                  {"client_msg_id": "quiet-1", "text": "written before the stop"},
                                  token=alice.token)
        self.assertEqual(status, 200, ack)
        self.assertEqual(server.stop(), 0)

        restored_root = self.restore_root("quiet")
        dest = os.path.join(restored_root, "data")
        os.mkdir(dest, 0o755)  # empty: allowed, and made private
        # The data directory from the server's own configuration file.
        config = os.path.join(self.root, "natter.toml")
        with open(config, "w") as f:
            f.write(f'data-dir = "{os.path.join(server.data_dir, "data")}"\nport = 0\n')
        out = run_backup("--config", config, dest)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assert_private(dest)

        restored = self.natterd(data_dir=restored_root).start()
        status, page = restored.http("GET", f"/v1/conversations/{conv['id']}/messages", token=bob.token)
        self.assertEqual(status, 200, page)
        self.assertIn("written before the stop", [m.get("text") for m in page["messages"]])

    def test_a_destination_that_is_not_empty_is_refused(self):
        server = self.natterd().start()
        server.new_user("ne")
        data = os.path.join(server.data_dir, "data")
        dest = os.path.join(self.root, "full")
        os.mkdir(dest)
        with open(os.path.join(dest, "something"), "w") as f:
            f.write("mine")
        out = run_backup("--data-dir", data, dest)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("not empty", out.stderr)
        self.assertEqual(os.listdir(dest), ["something"])
        a_file = os.path.join(self.root, "a-file")
        with open(a_file, "w") as f:
            f.write("mine")
        out = run_backup("--data-dir", data, a_file)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("not a directory", out.stderr)
        # Where the data directory is comes from the environment too, as for the server.
        dest = os.path.join(self.root, "from-env")
        out = subprocess.run([h.NATTERD, "backup", dest], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "NATTER_DATA_DIR": data})
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("natter.db", os.listdir(dest))

    def test_what_is_not_a_natterd_data_directory_is_refused(self):
        dest = os.path.join(self.root, "dest")
        out = run_backup("--data-dir", os.path.join(self.root, "nowhere"), dest)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("no data directory", out.stderr)

        empty = os.path.join(self.root, "empty")
        os.mkdir(empty)
        out = run_backup("--data-dir", empty, dest)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("holds no natter.db", out.stderr)

        garbage = os.path.join(self.root, "garbage")
        os.mkdir(garbage)
        with open(os.path.join(garbage, "natter.db"), "wb") as f:
            f.write(b"this is no database at all\n" * 400)
        out = run_backup("--data-dir", garbage, dest)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("not a database", out.stderr)

        foreign = os.path.join(self.root, "foreign")
        os.mkdir(foreign)
        db = sqlite3.connect(os.path.join(foreign, "natter.db"))
        db.execute("CREATE TABLE accounts (name TEXT)")
        db.commit()
        db.close()
        out = run_backup("--data-dir", foreign, dest)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("not a natterd database", out.stderr)
        self.assertFalse(os.path.exists(dest), "a failed backup left its destination behind")

    def test_a_cluster_is_refused_and_pointed_to_pg_dump(self):
        dest = os.path.join(self.root, "pg")
        out = run_backup("--postgres", "postgresql://127.0.0.1:1/natter", dest)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("pg_dump", out.stderr)
        self.assertFalse(os.path.exists(dest))
        out = run_backup("--data-dir", self.root)  # no destination
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("DEST is required", out.stderr)


if __name__ == "__main__":
    h.main()
