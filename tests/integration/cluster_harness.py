"""A whole local cluster for tests: scripts/cluster.sh started on free loopback
ports in a temporary state directory (two PostgreSQL instances, three NATS
servers, three natterd nodes, HAProxy), driven through the script's commands
and stopped at the end."""

import os
import random
import shutil
import subprocess
import tempfile
import time

import natter_harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.abspath(os.path.join(HERE, "..", "..", "scripts", "cluster.sh"))


class Endpoint:
    """One HTTP/WebSocket address (the proxy or a node) with the same helpers
    as a single natterd (register, login, new_user, http, text)."""

    def __init__(self, port):
        self.port = port
        self._handle_counter = h.itertools.count(random.randint(1, 10 ** 6) * 1000)

    @property
    def ws_url(self):
        return f"ws://{h.HOST}:{self.port}/v1/ws"

    http = h.Natterd.http
    text = h.Natterd.text
    metrics = h.Natterd.metrics
    register = h.Natterd.register
    login = h.Natterd.login
    new_user = h.Natterd.new_user
    relogin = h.Natterd.relogin


class LocalCluster:
    def __init__(self, natterd_args=""):
        self.dir = tempfile.mkdtemp(prefix="natter-cluster-")
        os.chmod(self.dir, 0o755)  # PostgreSQL runs as its own user when we are root
        self.natterd_args = natterd_args
        self.env = None

    def _run(self, *args, check=True, timeout=120):
        env = dict(os.environ)
        env["NATTER_CLUSTER_DIR"] = self.dir
        proc = subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"cluster.sh {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop()  # tearDownClass does not run when setUpClass fails
            raise

    def _start(self):
        env = dict(os.environ)
        env.update({"NATTER_CLUSTER_DIR": self.dir, "NATTERD": h.NATTERD,
                    "NATTER_CLUSTER_NATTERD_ARGS": " ".join(h.group_adds_args(self.natterd_args.split()) +
                                                            self.natterd_args.split()),
                    "NATTER_CLUSTER_PASSWORD_PROFILE": "minimal"})
        # Ports come from one base, below the kernel's ephemeral range (32768
        # and up), where outgoing connections could take one at any moment; try
        # a few bases until one is free.
        failures = []
        for _ in range(8):
            env["NATTER_CLUSTER_BASE_PORT"] = str(random.randrange(20000, 32000, 100))
            proc = subprocess.run([SCRIPT, "start"], env=env, capture_output=True, text=True, timeout=180)
            if proc.returncode == 0:
                break
            if proc.returncode != 4:  # 4: a port is taken; anything else is a failure
                failures.append(f"cluster.sh start exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
                if len(failures) > 1:
                    raise AssertionError("\n".join(failures))
        else:
            raise AssertionError("no free port range for the cluster")
        self.env = self.read_env()
        self.proxy = Endpoint(port_of(self.env["PROXY_URL"]))
        self.nodes = {n: Endpoint(port_of(self.env[f"NODE_{n}_URL"])) for n in (1, 2, 3)}
        self.pg_urls = self.env["PG_URLS"].split(",")
        return self

    def read_env(self):
        out = {}
        for line in self._run("env").stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip()] = value.strip().strip("'\"")
        return out

    def command(self, *args, check=True):
        return self._run(*args, check=check)

    def log(self, name):
        path = os.path.join(self.dir, "logs", name)
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        try:
            self._run("stop", check=False)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def port_of(url):
    return int(url.rsplit(":", 1)[1].split("/")[0])


def partition_of(conversation_id, partitions=2):
    """The store partition of a conversation, as natterd computes it
    (Store::PartitionOfKey: splitmix64's finaliser, then modulo)."""
    mask = (1 << 64) - 1
    k = conversation_id & mask
    k ^= k >> 30
    k = (k * 0xbf58476d1ce4e5b9) & mask
    k ^= k >> 27
    k = (k * 0x94d049bb133111eb) & mask
    k ^= k >> 31
    return k % partitions


def wait_until(predicate, timeout=20.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
