#!/usr/bin/env python3
"""Service probe for the lab, run inside the client namespace.

Every `--every` seconds, until `--seconds` have passed (bounded; traffic only to the lab VIP):
  ping-equivalent TCP connect to VIP:8080, GET /ready, and POST /v1/records with the bearer token
  (read from a file, never from argv). Each acknowledged insert (HTTP 201 with an id) is appended
  to --acked as "id name". Prints one JSON line per sample to stdout:
  {"t": epoch, "tcp": bool, "ready": status|null, "write": id|null}
"""
import argparse
import json
import socket
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vip", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--acked", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--tag", default="w")
    a = ap.parse_args()
    token = open(a.token_file).read().strip()
    base = f"http://{a.vip}:{a.port}"
    end = time.time() + min(a.seconds, 3600)
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
                        acked.write(f"{wid} {name}\n")
                        acked.flush()
            print(json.dumps({"t": t, "tcp": tcp, "ready": ready, "write": wid}), flush=True)
            time.sleep(max(0.0, a.every - (time.time() - t)))


if __name__ == "__main__":
    main()
