"""The natter CLI's commands against a real natterd, as a person or a script
uses them: groups with roles, replies, edits, deletes and reactions shown by
handle, direct chats named by the peer, members, presence, leaving and being
removed, and --help that shows every default."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import natter_harness as h
from client_harness import CLI, Server


class CliTest(h.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="natter-cli-")
        cls.server = Server(os.path.join(cls.dir, "server"), "--admins", "alice").start()
        for who in ("alice", "bob", "carol"):
            cls.run_cli(who, "register", who, f"password-{who}")
            cls.run_cli(who, "login", who, f"password-{who}")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def run_cli(cls, profile, *args, check=True):
        out = subprocess.run([CLI, "--server", cls.server.url, "--profile", os.path.join(cls.dir, profile),
                              "--timeout", "5", *args], capture_output=True, text=True, timeout=60)
        if check and out.returncode != 0:
            raise AssertionError(f"natter {' '.join(args)}: {out.returncode}\n{out.stderr}{out.stdout}")
        return out

    def cli(self, profile, *args, check=True):
        return self.run_cli(profile, *args, check=check)

    def seq_of(self, output):
        found = re.search(r"as \[(\d+)\]", output)
        self.assertIsNotNone(found, output)
        return found.group(1)

    def test_a_group_conversation_through_every_message_command(self):
        group = self.cli("alice", "create-group", "team", "bob").stdout.split()[1]
        hello = self.seq_of(self.cli("alice", "send", group, "hello").stdout)
        self.seq_of(self.cli("bob", "reply", group, hello, "hi back").stdout)
        self.assertIn("reacted as [", self.cli("bob", "react", group, hello, "+1").stdout)
        self.assertIn("edited as [", self.cli("alice", "edit", group, hello, "hello all").stdout)
        oops = self.seq_of(self.cli("alice", "send", group, "oops").stdout)
        self.assertIn("deleted as [", self.cli("alice", "delete", group, oops).stdout)

        history = self.cli("carol", "history", group, check=False)
        self.assertEqual(history.returncode, 1, "carol is not in the group")
        history = self.cli("bob", "history", group).stdout
        self.assertIn(f"[{hello}] alice: hello all (edited)  +1 bob", history)
        self.assertIn(f"bob: (reply to [{hello}]) hi back", history)
        self.assertIn(f"[{oops}] alice: (deleted)", history)
        self.assertIn(f"* alice edited [{hello}]: hello all", history)

        # Someone else's message cannot be edited: the server's reason is printed.
        out = self.cli("bob", "edit", group, hello, "mine now", check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("natter: forbidden: ", out.stderr)

        # A reaction taken back.
        self.assertIn("reaction taken back", self.cli("bob", "react", group, hello).stdout)
        self.assertNotIn("+1 bob", self.cli("bob", "history", group).stdout.split("\n")[0])

    def test_members_roles_removal_and_leaving(self):
        group = self.cli("alice", "create-group", "roles", "bob").stdout.split()[1]
        self.cli("alice", "add-members", group, "carol")
        self.assertIn("carol is admin in", self.cli("alice", "role", group, "carol", "admin").stdout)
        members = self.cli("alice", "members", group).stdout
        self.assertRegex(members, r"alice  owner")
        self.assertRegex(members, r"carol  admin")
        self.assertRegex(members, r"bob  member")
        self.assertIn(f"renamed {group} (crew)", self.cli("carol", "rename", group, "crew").stdout)

        self.cli("alice", "remove", group, "carol")
        self.assertNotIn("carol", self.cli("alice", "members", group).stdout)
        self.cli("carol", "sync")
        self.assertNotIn(f"{group}  group", self.cli("carol", "conversations").stdout)

        self.assertIn(f"left {group}", self.cli("bob", "leave", group).stdout)
        self.assertNotIn(f"{group}  group", self.cli("bob", "conversations").stdout)
        history = self.cli("alice", "history", group).stdout
        self.assertIn("* carol is now admin", history)
        self.assertIn("* alice removed carol", history)
        self.assertIn("* bob left", history)
        self.assertIn('* carol renamed the conversation to "crew"', history)

    def test_direct_chats_are_named_by_the_peer_and_presence_by_handle(self):
        direct = self.cli("carol", "create-direct", "alice").stdout.split()[1]
        self.cli("carol", "send", direct, "hey")
        self.assertIn(f"{direct}  direct  carol  unread 1", self.cli("alice", "conversations").stdout)
        self.assertIn(f"{direct}  direct  alice  unread 0", self.cli("carol", "conversations").stdout)
        self.cli("bob", "create-direct", "carol")  # presence is shown to those who share a conversation
        self.cli("bob", "create-direct", "alice")
        presence = self.cli("bob", "presence", "alice", "carol").stdout
        self.assertRegex(presence, r"(?m)^alice  (online|offline)")
        self.assertRegex(presence, r"(?m)^carol  (online|offline)")
        out = self.cli("bob", "presence", "nobody-here", check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("no user nobody-here", out.stderr)

    def test_blocking_refuses_direct_messages_and_hides_group_ones(self):
        for who in ("dave", "erin", "frank"):
            self.cli(who, "register", who, f"password-{who}")
            self.cli(who, "login", who, f"password-{who}")
        direct = self.cli("erin", "create-direct", "dave").stdout.split()[1]
        group = self.cli("frank", "create-group", "shared", "dave", "erin").stdout.split()[1]
        self.assertIn("blocked erin", self.cli("dave", "block", "erin").stdout)
        self.assertEqual(self.cli("dave", "blocked").stdout.split(), ["erin"])
        out = self.cli("erin", "send", direct, "hello?", check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("failed: this user does not accept messages from you", out.stdout)
        self.cli("erin", "send", group, "in the group")
        self.assertIn("erin: (hidden: you blocked this user)", self.cli("dave", "history", group).stdout)
        self.assertIn("erin: in the group", self.cli("frank", "history", group).stdout)
        self.assertIn("unblocked erin", self.cli("dave", "unblock", "erin").stdout)
        self.assertEqual(self.cli("dave", "blocked").stdout.strip(), "")
        self.assertIn("erin: in the group", self.cli("dave", "history", group).stdout)

    def test_invitations_are_listed_accepted_and_declined(self):
        for who in ("gina", "hank"):
            self.cli(who, "register", who, f"password-{who}")
            self.cli(who, "login", who, f"password-{who}")
        self.assertIn("group adds: nobody", self.cli("gina", "group-adds", "nobody").stdout)
        self.assertIn("group adds: nobody", self.cli("gina", "group-adds").stdout)
        self.assertNotEqual(self.cli("gina", "group-adds", "friends", check=False).returncode, 0)
        made = self.cli("hank", "create-group", "party", "gina").stdout
        self.assertIn("invited gina (not a member until they accept)", made)
        party = made.split()[1]
        self.cli("gina", "sync")
        self.assertNotIn(party, self.cli("gina", "conversations").stdout)
        self.assertIn(f"{party}  group  party  from hank  members 1", self.cli("gina", "invitations").stdout)
        self.assertIn(f"joined {party} (party)", self.cli("gina", "accept", party).stdout)
        self.assertIn(party, self.cli("gina", "conversations").stdout)
        again = self.cli("hank", "create-group", "again", "gina").stdout.split()[1]
        self.assertIn(f"declined {again}", self.cli("gina", "decline", again).stdout)
        self.assertEqual(self.cli("gina", "invitations").stdout.strip(), "")
        out = self.cli("gina", "accept", again, check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("no invitation to this conversation", out.stdout + out.stderr)

    def test_admin_commands(self):
        for who in ("mike", "nina"):
            self.cli(who, "register", who, f"password-{who}")
            self.cli(who, "login", who, f"password-{who}")
        found = self.cli("alice", "admin", "users", "MIK").stdout
        self.assertRegex(found, r"^\d+  mike\n$")
        out = self.cli("nina", "admin", "users", check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("needs the server role moderator", out.stdout + out.stderr)
        self.assertIn("nina is moderator", self.cli("alice", "admin", "role", "nina", "moderator").stdout)
        self.assertIn("mike", self.cli("nina", "admin", "users").stdout)
        out = self.cli("alice", "admin", "suspend", "mike", "--reason", "spam").stdout
        self.assertIn("suspended mike (1 session(s) ended)", out)
        shown = self.cli("alice", "admin", "user", "mike").stdout
        self.assertIn("mike  suspended", shown)
        self.assertIn("natter-cli  ended", shown)
        self.assertNotEqual(self.cli("mike", "sync", check=False).returncode, 0)
        self.assertIn("unsuspended mike", self.cli("alice", "admin", "unsuspend", "mike").stdout)
        self.cli("mike", "login", "mike", "password-mike")
        direct = self.cli("mike", "create-direct", "nina").stdout.split()[1]
        self.cli("mike", "send", direct, "rude words")
        self.cli("mike", "send", direct, "kind words")
        self.assertIn("deleted [1]", self.cli("nina", "admin", "delete", direct, "1").stdout)
        self.assertIn("new password for mike", self.cli("alice", "admin", "reset-password", "mike",
                                                       "another-password").stdout)
        audit = self.cli("alice", "admin", "audit", "--target", "mike").stdout.splitlines()
        actions = [line.split("  ")[2] for line in audit]
        self.assertEqual(actions[:5], ["admin.users.reset_password", "auth.login", "admin.users.suspend",
                                       "admin.users.get", "admin.users.suspend"])
        self.assertIn("auth.register", actions)
        self.assertIn("admin.messages.delete", self.cli("alice", "admin", "audit", "--actor", "nina").stdout)
        archive = json.loads(self.cli("alice", "admin", "export", "mike").stdout)
        self.assertEqual((archive["format"], archive["account"]["handle"]), ("natter-export/1", "mike"))
        self.assertNotIn("@type", archive)
        self.assertEqual([[m["text"] for m in c["messages"]] for c in archive["conversations"]], [["kind words"]])
        # One of his messages was deleted already; the direct chat keeps him.
        out = self.cli("alice", "admin", "erase", "mike", check=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("add --yes", out.stderr)
        self.assertIn("erased mike (1 message(s), left 0 conversation(s))",
                      self.cli("alice", "admin", "erase", "mike", "--yes").stdout)
        self.assertNotEqual(self.cli("alice", "admin", "user", "mike", check=False).returncode, 0)  # no such handle

    def test_admin_bot_commands(self):
        out = self.cli("alice", "admin", "bot", "clibot", "--name", "CLI bot").stdout.splitlines()
        self.assertRegex(out[0], r"^bot clibot \(\d+\)$")
        token = out[1].split()[1]
        status, login = h.http_request(self.server.port, "POST", "/v1/auth/bot", body={"token": token})
        self.assertEqual(status, 200, login)
        rotated = self.cli("alice", "admin", "bot-token", "clibot").stdout.split()[1]
        self.assertNotEqual(rotated, token)
        self.assertEqual(h.http_request(self.server.port, "POST", "/v1/auth/bot", body={"token": token})[0], 401)
        self.assertEqual(h.http_request(self.server.port, "POST", "/v1/auth/bot", body={"token": rotated})[0], 200)

    def test_control_characters_from_others_are_shown_not_obeyed(self):
        """A message that would clear the screen, move the cursor back to fake
        another sender's line, or set the clipboard prints as visible escapes."""
        direct = self.cli("carol", "create-direct", "bob").stdout.split()[1]
        evil = "\x1b[2J\r[1] alice: transfer approved\x1b]52;c;aGk=\x07\u009b"
        self.cli("carol", "send", direct, evil)
        history = self.cli("bob", "history", direct).stdout
        self.assertNotIn("\x1b", history)
        self.assertNotIn("\r", history)
        self.assertNotIn("\u009b", history)
        self.assertIn("carol: \\x1b[2J\\x0d[1] alice: transfer approved\\x1b]52;c;aGk=\\x07\\u009b", history)
        # Scripts get the text as it is.
        raw = self.cli("bob", "--json", "history", direct).stdout
        self.assertIn("\\u001b[2J", raw)

    def test_help_shows_defaults_and_version(self):
        out = subprocess.run([CLI, "--help"], capture_output=True, text=True).stdout
        for default in ("--server TEXT=http://127.0.0.1:8080", "--keep-messages INT=1000",
                        "--profile TEXT=./natter-profile"):
            self.assertIn(default, out)
        self.assertRegex(out, r"--timeout FLOAT:FLOAT in \[0.01 - 3600\]=10\n")
        for command in ("reply", "edit", "delete", "react", "leave", "remove", "role", "presence", "members"):
            self.assertRegex(out, rf"(?m)^  {command} ")
        self.assertRegex(subprocess.run([CLI, "--version"], capture_output=True, text=True).stdout,
                         r"^natter \d+\.\d+")


if __name__ == "__main__":
    h.main()
