#!/usr/bin/env python3
"""Service probe for the lab, run inside the client namespace.

Every `--every` seconds, until `--seconds` have passed (bounded; traffic only to the lab VIP):
  ping-equivalent TCP connect to VIP:8080, GET /ready, and POST /v1/records with the bearer token
  (read from a file, never from argv). Each acknowledged insert (HTTP 201 with an id) is appended
  to --acked as "id name epoch". Prints one JSON line per sample to stdout:
  {"t": epoch, "tcp": bool, "ready": status|null, "write": id|null}
With --sql-defaults (a 0600 mariadb client option file with the API's database user: the password
is never on a command line), a second writer inserts by SQL through VIP:3306 every --every seconds,
one `mariadb` client per insert, with no client-side read timeout (a commit that waits for a
semi-sync acknowledgement waits as long as the server makes it, up to 120 s): each insert whose id
the server returned (committed and acknowledged) is appended to --sql-acked as "id name epoch".
This is the client the API's own 2 s database timeout does not stand for (issue 15, D3). With
--sql-only only this writer runs, to --vip, which may then be a node's own address: a client that
still reaches a cut-off primary after its VIP moved (the VIP itself is removed before the demote).
"""
import argparse
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request


def req(url, method="GET", body=None, token=None, timeout=0.5):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(url, data=data, method=method)
    if token:
        r.add_header("Authorization", "Bearer " + token)
    if data is not None:
        r.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, urllib.error.URLError):
        return None, b""


SQL_TABLE = ("CREATE TABLE IF NOT EXISTS ferroha.sql_probe (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
             "name VARCHAR(64) NOT NULL)")


def sql(a, statement, timeout):
    """One mariadb client through the VIP; (returncode, stdout)."""
    try:
        r = subprocess.run(["mariadb", f"--defaults-extra-file={a.sql_defaults}", "--connect-timeout=1",
                            "-h", a.vip, "-P", "3306", "-N", "-s", "-e", statement],
                           capture_output=True, text=True, check=False, timeout=timeout)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired:
        return None, ""


def sql_writer(a, end):
    """Inserts by SQL until `end`, each acknowledged one recorded."""
    while time.time() < end and sql(a, SQL_TABLE, 10)[0] != 0:
        time.sleep(0.5)
    n = 0
    with open(a.sql_acked, "a") as acked:
        while time.time() < end:
            t = time.time()
            n += 1
            name = f"{a.tag}-sql-{n}"
            rc, out = sql(a, f"INSERT INTO ferroha.sql_probe (name) VALUES ('{name}'); "
                          "SELECT LAST_INSERT_ID()", 120)
            if rc == 0 and out.strip().isdigit():
                acked.write(f"{out.strip()} {name} {time.time():.3f}\n")
                acked.flush()
            time.sleep(max(0.0, a.every - (time.time() - t)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vip", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--token-file")
    ap.add_argument("--acked")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--tag", default="w")
    ap.add_argument("--sql-defaults", help="mariadb client option file (0600): also write by SQL")
    ap.add_argument("--sql-acked", help="where the SQL writer records its acknowledged inserts")
    ap.add_argument("--sql-only", action="store_true", help="only the SQL writer (--vip may be a node's address)")
    a = ap.parse_args()
    end = time.time() + min(a.seconds, 3600)
    if a.sql_only:
        sql_writer(a, end)
        return
    if not (a.token_file and a.acked):
        ap.error("--token-file and --acked are required (unless --sql-only)")
    token = open(a.token_file).read().strip()
    base = f"http://{a.vip}:{a.port}"
    if a.sql_defaults:
        threading.Thread(target=sql_writer, args=(a, end), daemon=True).start()
    n = 0
    with open(a.acked, "a") as acked:
        while time.time() < end:
            t = time.time()
            try:
                socket.create_connection((a.vip, a.port), timeout=0.3).close()
                tcp = True
            except OSError:
                tcp = False
            ready, _ = req(base + "/ready") if tcp else (None, b"")
            wid = None
            if tcp:
                n += 1
                name = f"{a.tag}-{n}"
                st, body = req(base + "/v1/records", "POST", {"name": name, "data": {"n": n}}, token)
                if st == 201:
                    try:
                        wid = json.loads(body)["id"]
                    except (ValueError, KeyError):
                        wid = None
                    if wid is not None:
                        acked.write(f"{wid} {name} {time.time():.3f}\n")
                        acked.flush()
            print(json.dumps({"t": t, "tcp": tcp, "ready": ready, "write": wid}), flush=True)
            time.sleep(max(0.0, a.every - (time.time() - t)))


if __name__ == "__main__":
    main()
