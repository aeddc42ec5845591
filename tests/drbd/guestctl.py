#!/usr/bin/env python3
"""Control channel to a test guest over its virtio-serial port (drbd-in-qemu.md section 7).

The guest runs `sh -s` on the port; the host connects to qemu's unix socket. Each command is sent
wrapped so that its output and exit code come back together:
    { CMD
    } </dev/null 2>&1; echo "__RC_<token>=$?"
CLI: guestctl.py SOCKET 'command' [timeout_s]   (prints output, exits with the command's rc)
     guestctl.py SOCKET --wait [timeout_s]
"""
import os
import secrets
import socket
import sys
import threading
import time


class GuestError(Exception):
    pass


class Guest:
    def __init__(self, path, name=None, boot_timeout=180):
        self.path = path
        self.name = name or os.path.basename(path)
        self.buf = b""
        self.sock = None
        self._connect(boot_timeout)

    def _recv_until(self, marker, deadline):
        while marker not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return False
            self.sock.settimeout(min(left, 0.5))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise GuestError(f"{self.name}: control channel closed")
            self.buf += data
        return True

    def _connect(self, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.path)
                self.sock = s
                break
            except OSError:
                if time.time() > deadline:
                    raise GuestError(f"{self.name}: cannot connect to {self.path}")
                time.sleep(0.1)
        # Data sent while the guest has the port closed is dropped: repeat a token until echoed.
        token = "__HELLO_" + secrets.token_hex(4)
        while True:
            if time.time() > deadline:
                raise GuestError(f"{self.name}: guest shell did not answer within {timeout}s")
            # qemu stops reading while the guest has the port closed: a send may block.
            self.sock.settimeout(2)
            try:
                self.sock.sendall(f"echo {token}\n".encode())
            except socket.timeout:
                continue
            if self._recv_until(token.encode(), min(deadline, time.time() + 0.5)):
                break
        # Early lines queued before the driver was up may run late: a second token, then drain.
        token2 = "__SYNC_" + secrets.token_hex(4)
        self.sock.settimeout(max(1, deadline - time.time()))
        self.sock.sendall(f"echo {token2}\n".encode())
        if not self._recv_until(token2.encode(), deadline):
            raise GuestError(f"{self.name}: no sync echo")
        time.sleep(0.2)
        self.sock.settimeout(0.1)
        try:
            while self.sock.recv(65536):
                pass
        except socket.timeout:
            pass
        self.buf = b""

    def run(self, cmd, timeout=120):
        """Run a shell command in the guest; returns (rc, output)."""
        token = "__RC_" + secrets.token_hex(6)
        self.sock.settimeout(timeout)
        self.sock.sendall(f"{{ {cmd}\n}} </dev/null 2>&1; echo \"{token}=$?\"\n".encode())
        marker = f"{token}=".encode()
        deadline = time.time() + timeout
        if not self._recv_until(marker, deadline):
            raise GuestError(f"{self.name}: command timed out after {timeout}s: {cmd}")
        if not self._recv_until(b"\n", deadline) or b"\n" not in self.buf.split(marker, 1)[1]:
            raise GuestError(f"{self.name}: no rc line")
        out, rest = self.buf.split(marker, 1)
        rc_line, self.buf = rest.split(b"\n", 1)
        return int(rc_line.decode().strip()), out.decode(errors="replace")

    def close(self):
        if self.sock:
            self.sock.close()


def sh(g, cmd, timeout=120):
    """Run a command in guest g; its output, or GuestError naming the command when it fails."""
    rc, out = g.run(cmd, timeout)
    if rc != 0:
        raise GuestError(f"{g.name}: '{cmd}' failed rc={rc}: {out}")
    return out


def in_parallel(fn, guests):
    """fn(guest) for every guest at once (threads); the results in the order of guests."""
    res = [None] * len(guests)

    def go(i, g):
        res[i] = fn(g)

    ts = [threading.Thread(target=go, args=(i, g)) for i, g in enumerate(guests)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res


if __name__ == "__main__":
    sock = sys.argv[1]
    if sys.argv[2] == "--wait":
        Guest(sock, boot_timeout=float(sys.argv[3]) if len(sys.argv) > 3 else 180)
        sys.exit(0)
    g = Guest(sock)
    rc, out = g.run(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 120)
    sys.stdout.write(out)
    sys.exit(rc)
