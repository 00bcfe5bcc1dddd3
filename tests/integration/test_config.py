"""natterd's configuration: zero config, a TOML file, NATTER_* environment
variables and flags, in that order of precedence; --help documents every
setting; the data directory and signing key persist across restarts."""

import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

import natter_harness as h


def run_natterd(args, cwd, env_extra=None, timeout=20):
    """Starts natterd with exactly `args` (no harness defaults) in `cwd`;
    returns (process, port)."""
    env = dict(os.environ)
    env.update(env_extra or {})
    proc = subprocess.Popen([h._binary(), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        m = h.LISTEN_RE.search(line.decode("utf-8", "replace"))
        if m:
            return proc, int(m.group(1)), seen.decode()
    proc.kill()
    proc.wait(5)
    raise AssertionError("natterd did not start:\n" + seen.decode())


def stop(proc):
    proc.terminate()
    rc = proc.wait(10)
    proc.stdout.close()
    return rc


class ConfigTest(h.unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="natter-config-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def text_limit(self, port, token, cid, size):
        status, body = h.http_request(port, "POST", f"/v1/conversations/{cid}/messages",
                                      {"client_msg_id": f"c{size}", "text": "x" * size}, token=token)
        return status

    def setup_chat(self, port):
        for handle in ("cfgalice", "cfgbob"):
            status, _ = h.http_request(port, "POST", "/v1/auth/register",
                                       {"handle": handle, "password": "password-" + handle})
            self.assertIn(status, (200, 409))
        _, a = h.http_request(port, "POST", "/v1/auth/login", {"handle": "cfgalice", "password": "password-cfgalice"})
        _, b = h.http_request(port, "POST", "/v1/auth/login", {"handle": "cfgbob", "password": "password-cfgbob"})
        _, conv = h.http_request(port, "POST", "/v1/conversations", {"kind": "direct", "peer_id": b["user_id"]},
                                 token=a["access_token"])
        return a["access_token"], conv["id"]

    def test_help_documents_every_setting(self):
        out = subprocess.run([h._binary(), "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        for flag in ("--data-dir", "--listen", "--port", "--tls-cert", "--tls-key", "--allowed-origins",
                     "--max-frame-bytes", "--max-text-bytes", "--max-group-members", "--requests-per-second",
                     "--max-login-failures", "--access-token-ttl", "--config", "--log-json"):
            self.assertIn(flag, out.stdout)
        self.assertIn("NATTER_PORT", out.stdout)
        bad = subprocess.run([h._binary(), "--no-such-flag"], capture_output=True, text=True, timeout=10)
        self.assertNotEqual(bad.returncode, 0)

    def test_a_misspelled_key_or_variable_is_refused_with_a_suggestion(self):
        toml = os.path.join(self.dir, "typo.toml")
        with open(toml, "w") as f:
            f.write("prot = 18481\n")
        out = subprocess.run([h._binary(), "--config", toml, "--data-dir", os.path.join(self.dir, "t")],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("config key 'prot' is not a setting (did you mean 'port'?)", out.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "t")))
        env = dict(os.environ, NATTER_MAX_TEXT_BYTE="100")
        out = subprocess.run([h._binary(), "--data-dir", os.path.join(self.dir, "t")], env=env,
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("NATTER_MAX_TEXT_BYTE is not a setting (did you mean 'NATTER_MAX_TEXT_BYTES'?)", out.stderr)
        # Nothing close: no guess.
        with open(toml, "w") as f:
            f.write("completely-unrelated-thing = 1\n")
        out = subprocess.run([h._binary(), "--config", toml], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("'completely-unrelated-thing' is not a setting;", out.stderr)
        # A table is no setting either.
        with open(toml, "w") as f:
            f.write("[server]\nport = 1\n")
        out = subprocess.run([h._binary(), "--config", toml], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("'server' is not a setting", out.stderr)

    def test_variables_of_other_natter_tools_are_left_alone(self):
        env_extra = {"NATTER_SERVER": "https://chat.example.com", "NATTER_PROFILE": "/tmp/p",
                     "NATTER_CLUSTER_NODES": "3", "NATTER_SANITIZER": "", "NATTER_PORT": "0"}
        proc, port, _ = run_natterd(["--password-profile", "minimal", "--data-dir", os.path.join(self.dir, "d")],
                                    cwd=self.dir, env_extra=env_extra)
        self.assertEqual(stop(proc), 0)

    def test_check_config_checks_without_starting(self):
        data = os.path.join(self.dir, "cc")
        out = subprocess.run([h._binary(), "check-config", "--data-dir", data, "--port", "1"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("the configuration is valid", out.stdout)
        self.assertFalse(os.path.exists(data))  # nothing was made
        bad_key = os.path.join(self.dir, "bad.key")
        with open(bad_key, "w") as f:
            f.write("not a key\n")
        out = subprocess.run([h._binary(), "check-config", "--tls-cert", bad_key, "--tls-key", bad_key,
                              "--external-issuer", "https://id.example.com", "--external-key", bad_key,
                              "--external-audience", "natter", "--apns-key-file", "/nonexistent/key.p8",
                              "--data-dir", os.path.join(bad_key, "data")],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        for problem in ("--tls-cert/--tls-key", "--external-key", "--apns-key-file: cannot read /nonexistent/key.p8",
                        "--data-dir"):
            self.assertIn(problem, out.stderr)
        out = subprocess.run([h._binary(), "check-config", "--log-format", "xml"], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--log-format must be auto, json or text", out.stderr)

    def test_version_is_printed_without_starting(self):
        out = subprocess.run([h._binary(), "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout.strip(), r"^natterd \d+\.\d+\.\d+$")
        cli = os.path.join(os.path.dirname(h._binary()), "natter")
        out = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout.strip(), r"^natter \d+\.\d+\.\d+$")

    def test_zero_config_keeps_data_and_key_in_natter_data(self):
        # Only the port is given (the default 8080 may be taken on a test machine).
        proc, port, log = run_natterd(["--port", "0", "--password-profile", "minimal"], cwd=self.dir)
        try:
            self.assertIn("127.0.0.1", log)  # listens on loopback by default
            self.assertIn("data in " + os.path.realpath(os.path.join(self.dir, "natter-data")), log)
            token, cid = self.setup_chat(port)
        finally:
            rc = stop(proc)  # never leave it running, whatever failed
        self.assertEqual(rc, 0)
        data = os.path.join(self.dir, "natter-data")
        self.assertTrue(os.path.exists(os.path.join(data, "natter.db")))
        keys = os.path.join(data, "jwt-keys.json")
        self.assertEqual(stat.S_IMODE(os.stat(keys).st_mode), 0o600)
        # Restarted, it keeps the users, the conversation and the signing key:
        # the token from the first run still works.
        proc, port, _ = run_natterd(["--port", "0", "--password-profile", "minimal"], cwd=self.dir)
        try:
            status, body = h.http_request(port, "GET", f"/v1/conversations/{cid}", token=token)
            self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_a_second_natterd_on_the_same_data_directory_is_refused(self):
        args = ["--port", "0", "--password-profile", "minimal", "--data-dir", os.path.join(self.dir, "data")]
        first, port, _ = run_natterd(args, cwd=self.dir)
        try:
            second = subprocess.run([h._binary(), *args], cwd=self.dir, capture_output=True, text=True, timeout=20)
            self.assertNotEqual(second.returncode, 0)
            self.assertIn("another natterd is running on the data directory", second.stdout + second.stderr)
            # The first goes on serving.
            self.assertEqual(h.http_request(port, "GET", "/healthz")[0], 200)
        finally:
            self.assertEqual(stop(first), 0)
        # Once it has stopped (or died), the directory is free again.
        again, _, _ = run_natterd(args, cwd=self.dir)
        self.assertEqual(stop(again), 0)

    def test_file_then_environment_then_flags(self):
        toml = os.path.join(self.dir, "natter.toml")
        with open(toml, "w") as f:
            f.write('data-dir = "%s"\nport = 0\npassword-profile = "minimal"\nmax-text-bytes = 100\n'
                    % os.path.join(self.dir, "data"))
        # The file alone.
        proc, port, _ = run_natterd(["--config", toml], cwd=self.dir)
        try:
            token, cid = self.setup_chat(port)
            self.assertEqual(self.text_limit(port, token, cid, 100), 200)
            self.assertEqual(self.text_limit(port, token, cid, 150), 413)
        finally:
            stop(proc)
        # The environment wins over the file.
        proc, port, _ = run_natterd(["--config", toml], cwd=self.dir, env_extra={"NATTER_MAX_TEXT_BYTES": "200"})
        try:
            token, cid = self.setup_chat(port)
            self.assertEqual(self.text_limit(port, token, cid, 150), 200)
            self.assertEqual(self.text_limit(port, token, cid, 250), 413)
        finally:
            stop(proc)
        # A flag wins over both.
        proc, port, _ = run_natterd(["--config", toml, "--max-text-bytes", "300"], cwd=self.dir,
                                    env_extra={"NATTER_MAX_TEXT_BYTES": "200"})
        try:
            token, cid = self.setup_chat(port)
            self.assertEqual(self.text_limit(port, token, cid, 250), 200)
            self.assertEqual(self.text_limit(port, token, cid, 350), 413)
        finally:
            stop(proc)

    def test_bad_configuration_is_refused_at_start(self):
        toml = os.path.join(self.dir, "bad.toml")
        with open(toml, "w") as f:
            f.write("port = \"not a number\"\n")
        out = subprocess.run([h._binary(), "--config", toml], capture_output=True, text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("port", out.stderr + out.stdout)
        out = subprocess.run([h._binary(), "--tls-cert", "/nonexistent.pem", "--port", "0",
                              "--data-dir", os.path.join(self.dir, "d")], capture_output=True, text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)  # a cert without a key

    def test_node_id_outside_the_id_layout_is_refused(self):
        # Ids hold 4 bits of node id: node 16 would make node 0's ids, and the
        # online_nodes bit of node 64 or -1 is an undefined shift.
        for node in ("16", "64", "-1"):
            out = subprocess.run([h._binary(), "--node-id", node, "--port", "0",
                                  "--data-dir", os.path.join(self.dir, "n" + node)],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 2, node)
            self.assertIn("--node-id must be 0 to 15", out.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.dir, "n" + node)), node)

    def test_data_files_are_private_whatever_the_umask(self):
        # Outside its systemd unit natterd inherits the shell's umask (022):
        # the database holds password hashes and sessions, the directory the
        # signing key.
        data = os.path.join(self.dir, "private")
        old = os.umask(0o022)
        try:
            proc, port, _ = run_natterd(["--port", "0", "--password-profile", "minimal", "--data-dir", data],
                                        cwd=self.dir)
        finally:
            os.umask(old)
        try:
            self.setup_chat(port)  # the WAL and its index exist once something was written
        finally:
            self.assertEqual(stop(proc), 0)
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)
        for name in os.listdir(data):
            mode = stat.S_IMODE(os.stat(os.path.join(data, name)).st_mode)
            self.assertEqual(mode & 0o077, 0, f"{name} is {oct(mode)}")
        self.assertIn("natter.db", os.listdir(data))

    def test_existing_database_files_are_made_private(self):
        # A data directory from an earlier version, with 0644 files: the files
        # are natterd's and are made private; the directory may be shared on
        # purpose, so natterd only says so.
        data = os.path.join(self.dir, "older")
        proc, port, _ = run_natterd(["--port", "0", "--password-profile", "minimal", "--data-dir", data],
                                    cwd=self.dir)
        self.assertEqual(stop(proc), 0)
        os.chmod(os.path.join(data, "natter.db"), 0o644)
        os.chmod(data, 0o755)
        proc, port, log = run_natterd(["--port", "0", "--password-profile", "minimal", "--data-dir", data],
                                      cwd=self.dir)
        self.assertEqual(stop(proc), 0)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(data, "natter.db")).st_mode), 0o600)
        self.assertIn("may be read by other users", log)

    def test_minimal_password_profile_warns_and_stays_on_loopback(self):
        proc, port, log = run_natterd(["--port", "0", "--password-profile", "minimal",
                                       "--data-dir", os.path.join(self.dir, "m")], cwd=self.dir)
        self.assertEqual(stop(proc), 0)
        self.assertIn("password-profile minimal", log)
        self.assertIn("not for production", log)
        # On an address others can reach it is refused...
        out = subprocess.run([h._binary(), "--port", "0", "--password-profile", "minimal", "--listen", "0.0.0.0",
                              "--data-dir", os.path.join(self.dir, "m2")], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("--allow-minimal-passwords", out.stderr)
        # ...unless the operator says so.
        proc, port, log = run_natterd(["--port", "0", "--password-profile", "minimal", "--listen", "0.0.0.0",
                                       "--allow-minimal-passwords", "--data-dir", os.path.join(self.dir, "m3")],
                                      cwd=self.dir)
        self.assertEqual(stop(proc), 0)
        self.assertIn("not for production", log)


if __name__ == "__main__":
    h.main()
