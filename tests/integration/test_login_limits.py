"""Login limits under concurrency, against a real natterd hashing with the
production Argon2id cost: a burst of simultaneous wrong guesses gets no more
password checks than the limit allows, and a flood of logins from one address
does not make another address's login wait."""

import concurrent.futures
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402

SANITIZED = bool(os.environ.get("NATTER_SANITIZER"))


def login(port, handle, password, source=None):
    return h.http_request(port, "POST", "/v1/auth/login", body={"handle": handle, "password": password},
                          source=source, timeout=60)


class LoginLimitsTest(h.ServerTestCase):
    @classmethod
    def natterd_args(cls):
        # The real cost: a burst outruns it, and a flood fills its queue.
        return ("--password-profile", "interactive", "--max-login-failures", "10")

    def test_a_burst_of_guesses_gets_no_more_checks_than_the_limit(self):
        victim = self.server.new_user("victim")
        guesser = "127.0.0.4"  # its own address: the address limit binds there only

        def guess(i):
            return login(self.server.port, victim.handle, f"wrong-guess-{i}", source=guesser)

        # 60 wrong guesses at once: refused with 429 past the limit (or past the
        # address's share of the hashing queue), never checked beyond it.
        with concurrent.futures.ThreadPoolExecutor(60) as pool:
            statuses = [status for status, _ in pool.map(guess, range(60))]
        checked = statuses.count(401)
        self.assertLessEqual(checked, 10, f"{checked} guesses were checked: {statuses}")
        self.assertEqual(checked + statuses.count(429), 60, statuses)
        # One by one until refused: exactly ten checks in all, then not even the
        # right password is checked.
        for i in range(60, 80):
            status, _ = guess(i)
            if status != 401:
                break
            checked += 1
        self.assertEqual(status, 429)
        self.assertEqual(checked, 10)
        status, body = login(self.server.port, victim.handle, victim.password, source=guesser)
        self.assertEqual(status, 429, body)
        self.assertEqual(body["error"]["code"], "rate_limited")

    def test_a_flood_from_one_address_leaves_others_logging_in_quickly(self):
        attacker = self.server.new_user("flood")
        polite = self.server.new_user("polite")
        stop = threading.Event()
        flood_statuses = []

        def flood():
            # Right passwords: successes never count as failures, so only a fair
            # share of the hashing keeps this address from taking all of it.
            while not stop.is_set():
                flood_statuses.append(login(self.server.port, attacker.handle, attacker.password,
                                            source="127.0.0.2")[0])

        threads = [threading.Thread(target=flood, daemon=True) for _ in range(32)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)  # the queue fills
            took = []
            for _ in range(3):
                t0 = time.monotonic()
                status, body = login(self.server.port, polite.handle, polite.password, source="127.0.0.3")
                took.append(time.monotonic() - t0)
                self.assertEqual(status, 200, body)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertGreater(flood_statuses.count(200), 0)
        self.assertLess(max(took), 2.0 * (4 if SANITIZED else 1), f"logins took {took}")


if __name__ == "__main__":
    h.main()
