#!/usr/bin/env python3
"""The power switch of the DRBD cluster guests (what an IPMI board is to a real node).

Listens on ADDR:PORT on the host's side of the guests' private bridge (never on another
address), one request line, one reply line:

    off NODE     kill the guest's qemu process (SIGKILL, by the PID in RUN/NODE.pid) -> ok
    on NODE      boot it again (RUN/NODE.start, the same qemu command line)           -> ok
    status NODE  -> on | off
    list         -> the node names
    ping         -> pong

Errors reply "error: <why>". Power operations run one at a time; every request is logged with its
time on stderr (the run directory keeps it in pdu.log: the fencing phase of a failover).
"""
import argparse
import os
import socketserver
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from drbdlab import NODES, kill_qemu, qemu_pid  # noqa: E402


def log(msg):
    t = time.time()
    stamp = time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"
    print(f"{stamp} {msg}", file=sys.stderr, flush=True)


class Switch:
    def __init__(self, run):
        self.run = run
        self.lock = threading.Lock()

    def status(self, node):
        return "on" if qemu_pid(self.pidfile(node)) else "off"

    def pidfile(self, node):
        return os.path.join(self.run, f"{node}.pid")

    def off(self, node):
        kill_qemu(self.pidfile(node))
        return "ok"

    def on(self, node):
        if qemu_pid(self.pidfile(node)):
            return "ok"
        r = subprocess.run([os.path.join(self.run, f"{node}.start")], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError((r.stderr or r.stdout).strip()[-200:] or "start failed")
        return "ok"

    def handle(self, line):
        words = line.split()
        if words == ["ping"]:
            return "pong"
        if words == ["list"]:
            return " ".join(NODES)
        if len(words) != 2 or words[0] not in ("on", "off", "status"):
            return "error: expected 'on|off|status NODE', 'list' or 'ping'"
        verb, node = words
        if node not in NODES:
            return f"error: unknown node {node!r}"
        if verb == "status":
            return self.status(node)
        try:
            with self.lock:
                return self.off(node) if verb == "off" else self.on(node)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            return f"error: {e}"


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(200).decode(errors="replace").strip()
        reply = self.server.switch.handle(line)
        if not line.startswith("status"):
            log(f"{self.client_address[0]} {line!r} -> {reply}")
        self.wfile.write((reply + "\n").encode())


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="the run directory (NODE.pid, NODE.start)")
    ap.add_argument("--listen", required=True, help="ADDR:PORT on the guests' bridge")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    server = Server((host, int(port)), Handler)
    server.switch = Switch(a.run)
    log(f"listening on {a.listen}")
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
