"""The suite's client: writes through the VIP the whole time, over the API (POST /v1/records) and
over SQL (INSERT into ferroha.acks with the mariadb client), and records every acknowledged write
with its time. check() reads everything back through the VIP and names the acknowledged writes
that are missing."""
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request


class Writer:
    def __init__(self, lab, tag):
        self.lab = lab
        self.tag = tag
        self.vip = lab.vip
        sec = os.path.join(lab.dir, "secrets")
        self.token = open(os.path.join(sec, "api.token")).read().strip()
        self.cnf = os.path.join(sec, "client.cnf")
        self.acked_api = []    # (time, name)
        self.acked_sql = []    # (time, id)
        self.errors = 0
        self.stop_ev = threading.Event()
        self.threads = []
        self.seq = 0

    def sql(self, query, timeout=10):
        return subprocess.run(["mariadb", f"--defaults-extra-file={self.cnf}", "-N", "-B", "ferroha", "-e", query],
                              capture_output=True, text=True, timeout=timeout)

    def _api_loop(self):
        i = 0
        while not self.stop_ev.is_set():
            name = f"{self.tag}-{i}"
            body = json.dumps({"name": name, "data": {"i": i}}).encode()
            req = urllib.request.Request(f"http://{self.vip}:8080/v1/records", data=body, method="POST")
            req.add_header("Authorization", f"Bearer {self.token}")
            req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    if r.status == 201:
                        self.acked_api.append((time.time(), name))
                        i += 1
                        time.sleep(0.2)
                        continue
            except (urllib.error.URLError, OSError):
                pass
            self.errors += 1
            time.sleep(0.5)

    def _sql_loop(self):
        base = abs(hash(self.tag)) % 1000 * 1000000
        i = 0
        while not self.stop_ev.is_set():
            # A fresh id for every attempt: an insert whose client timed out during an I/O freeze
            # may still commit, and retrying its id would fail as a duplicate for ever.
            n = base + i
            i += 1
            try:
                r = self.sql(f"INSERT INTO acks VALUES ({n}, '{self.tag}')", timeout=15)
                if r.returncode == 0:
                    self.acked_sql.append((time.time(), n))
                    time.sleep(0.2)
                    continue
            except subprocess.TimeoutExpired:
                pass
            self.errors += 1
            time.sleep(0.5)

    def start(self):
        for fn in (self._api_loop, self._sql_loop):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)

    def count(self):
        return len(self.acked_api) + len(self.acked_sql)

    def first_ack_after(self, t):
        times = [a for a, _ in self.acked_api + self.acked_sql if a > t]
        return min(times) if times else None

    def acked_after(self, t):
        """Both kinds acknowledged since t (the service answers writes again)."""
        return any(a > t for a, _ in self.acked_api) and any(a > t for a, _ in self.acked_sql)

    def check(self):
        """Missing acknowledged writes: (missing_api_names, missing_sql_ids); raises when the
        database cannot be read."""
        r = self.sql(f"SELECT name FROM records WHERE name LIKE '{self.tag}-%'", timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"read-back failed: {r.stderr.strip()}")
        names = set(r.stdout.split())
        r2 = self.sql(f"SELECT id FROM acks WHERE v = '{self.tag}'", timeout=30)
        if r2.returncode != 0:
            raise RuntimeError(f"read-back failed: {r2.stderr.strip()}")
        ids = {int(x) for x in r2.stdout.split()}
        return ([n for _, n in self.acked_api if n not in names],
                [i for _, i in self.acked_sql if i not in ids])
