#!/usr/bin/env python3
"""The DRBD cluster lab: two emulated (TCG) qemu guests with real DRBD 8.4, corosync and
pacemaker inside both, running crm-examples/drbd-stack.crm with ferroha's agents.

    drbdlab.py up | down | status | on NODE | off NODE     (lab/drbd-lab is the front end)

Networks (nothing leaves the host; the guests have no default route):
- eth0 of each guest: DRBD replication only, 10.99.0.N, a point-to-point UDP "cable" between the
  two qemu processes on 127.0.0.1 (stateless, so either side survives the other's power cycle);
  cutting it (qemu's set_link, `drbdlab.py cut|repair NODE`) cuts DRBD and nothing else.
- eth1: the cluster network SUBNET.N/24 on a host bridge (SUBNET.254 is the host): corosync, the
  VIP SUBNET.100, the clients, and the power switch (pdu.py on SUBNET.254:7410) that the guests'
  fence agent reaches.
Names: lab NAME (DRBD_LAB, default "lab"), directory /tmp/ferroha-drbd-lab/NAME, bridge fdbNAME,
taps fdtNAMEn1/n2, qemu pidfiles in the directory; `down` removes exactly these.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "drbd"))
from guestctl import Guest, GuestError, sh  # noqa: E402

NODES = ("node1", "node2")
CACHE = os.environ.get("FERROHA_DRBD_CACHE", "/var/cache/ferroha-drbd")
PDU_PORT = 7410
# Corosync under TCG: a guest can stall for a second or more (both cores busy with two emulated
# CPUs); token 5000 ms rides that out, consensus is corosync's default 1.2 x token.
TOKEN_MS = 5000
BINARIES = ("volume", "mariadb", "vip", "restapi", "ferroha-api", "ferroha-check")


def log(msg):
    print(f"drbd-lab: {msg}", flush=True)


def die(msg):
    print(f"drbd-lab: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, text=True, **kw)


def qemu_pid(pidfile):
    """The PID in a qemu pidfile, if that process is alive and is qemu."""
    try:
        pid = int(open(pidfile).read().strip())
        if b"qemu" in open(f"/proc/{pid}/cmdline", "rb").read():
            return pid
    except (OSError, ValueError):
        pass
    return None


def kill_qemu(pidfile):
    """Power off: SIGKILL to the qemu of pidfile, wait until it is gone, remove the pidfile."""
    pid = qemu_pid(pidfile)
    if pid:
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.05)
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass


class Lab:
    def __init__(self, name=None):
        self.name = name or os.environ.get("DRBD_LAB", "lab")
        if not self.name.isalnum() or len(self.name) > 9:
            die(f"lab name {self.name!r}: letters and digits, at most 9")
        self.dir = f"/tmp/ferroha-drbd-lab/{self.name}"
        self.share = os.path.join(self.dir, "share")
        self.bridge = f"fdb{self.name}"
        self.taps = {n: f"fdt{self.name}{n[0]}{n[-1]}" for n in NODES}
        self.state_file = os.path.join(self.dir, "state.json")
        self.state = {}
        if os.path.exists(self.state_file):
            with open(self.state_file) as f:
                self.state = json.load(f)
        self.guests = {}

    # ---- state
    def save(self):
        with open(self.state_file, "w") as f:
            json.dump(self.state, f)

    @property
    def subnet(self):
        return self.state["subnet"]

    @property
    def vip(self):
        return f"{self.subnet}.100"

    def node_ip(self, n):
        return f"{self.subnet}.{n[-1]}"

    def pidfile(self, n):
        return os.path.join(self.dir, f"{n}.pid")

    def qemu_pid(self, n):
        return qemu_pid(self.pidfile(n))

    # ---- guests
    def guest(self, n, boot_timeout=240):
        g = self.guests.get(n)
        if g is None:
            g = Guest(os.path.join(self.dir, f"{n}.ctl"), n, boot_timeout=boot_timeout)
            self.guests[n] = g
        return g

    def forget(self, n):
        g = self.guests.pop(n, None)
        if g:
            g.close()

    def sh(self, n, cmd, timeout=120):
        return sh(self.guest(n), cmd, timeout)

    def run_in(self, n, cmd, timeout=120):
        return self.guest(n).run(cmd, timeout)

    def monitor(self, n, command):
        """One HMP command to node n's qemu monitor (e.g. set_link n0 off)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(os.path.join(self.dir, f"{n}.mon"))
        s.sendall((command + "\n").encode())
        time.sleep(0.3)
        out = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                out += d
        except socket.timeout:
            pass
        s.close()
        return out.decode(errors="replace")

    def power_off(self, n):
        """Pull the plug: SIGKILL to the guest's qemu (by its pidfile)."""
        self.forget(n)
        kill_qemu(self.pidfile(n))

    def power_on(self, n):
        self.forget(n)
        if not self.qemu_pid(n):
            run(os.path.join(self.dir, f"{n}.start"))

    # ---- cluster views
    def crm_mon_xml(self, n, timeout=60):
        rc, out = self.run_in(n, "crm_mon -1 --output-as=xml 2>/dev/null", timeout)
        if rc != 0 or "<pacemaker-result" not in out:
            return None
        try:
            return ET.fromstring(out[out.index("<pacemaker-result"):out.rindex("</pacemaker-result>") + 19])
        except ET.ParseError:
            return None

    def view(self, n):
        """{'online': [...], 'promoted': node|None, 'unpromoted': [...], 'db': node|None,
        'vip': node|None, 'api': node|None, 'dc': ..., 'idle': bool} seen from node n."""
        x = self.crm_mon_xml(n)
        if x is None:
            return None
        v = {"online": [], "promoted": None, "unpromoted": [], "db": None, "vip": None,
             "api": None, "failed": [], "dc": None}
        for node in x.iter("node"):
            if node.get("online") == "true" and node.get("name"):
                v["online"].append(node.get("name"))
        for r in x.iter("resource"):
            rid, role, active = r.get("id"), r.get("role"), r.get("active") == "true"
            where = [e.get("name") for e in r.iter("node")]
            if rid == "vol" and active:
                if role == "Promoted":
                    v["promoted"] = where[0] if where else None
                elif role == "Unpromoted":
                    v["unpromoted"] += where
            if rid in ("db", "db-ip", "api") and active and role == "Started" and where:
                v[{"db": "db", "db-ip": "vip", "api": "api"}[rid]] = where[0]
            if r.get("failed") == "true":
                v["failed"].append(rid)
        cd = x.find("summary/current_dc")
        if cd is not None:
            v["dc"] = cd.get("name")
        return v

    def drbd(self, n):
        if not self.qemu_pid(n):
            return "powered off"
        try:
            rc, out = self.guest(n, boot_timeout=5).run("grep -A1 '^ 0:' /proc/drbd || echo unconfigured", 10)
        except GuestError:
            self.forget(n)
            return "booting (no shell yet)"
        return " ".join(out.split()[:6]) if rc == 0 else "?"

    # ---- up
    def pick_subnet(self):
        if os.environ.get("DRBD_LAB_SUBNET"):
            return os.environ["DRBD_LAB_SUBNET"]
        used = run("ip", "-4", "-o", "addr", "show", capture_output=True).stdout
        used += run("ip", "-4", "route", "show", "table", "all", capture_output=True).stdout
        start = os.getpid() % 200
        for i in range(200):
            cand = f"10.97.{(start + i) % 200 + 20}"
            if f"{cand}." not in used:
                return cand
        die("no free 10.97.X.0/24 subnet")

    def up(self, config):
        if os.geteuid() != 0:
            die("run as root (bridge, taps, qemu)")
        if os.path.exists(self.state_file):
            die(f"lab {self.name} exists ({self.dir}); drbd-lab down first")
        t0 = time.time()
        os.makedirs(os.path.join(self.share, "bin"))
        os.makedirs(os.path.join(self.share, "cluster", "ferroha"))
        self.state = {"subnet": self.pick_subnet(), "t0": t0}
        self.save()
        self.build()
        self.network()
        self.files()
        self.seed_datadir()
        self.write_start_scripts()
        for n in NODES:
            self.power_on(n)
        self.start_pdu()
        log(f"guests started ({time.time() - t0:.0f} s); cluster network {self.subnet}.0/24 on {self.bridge}")
        for n in NODES:
            self.guest(n)
        self.init_drbd()
        open(os.path.join(self.share, "cluster", "autostart"), "w").close()
        self.wait(lambda: (v := self.view("node1")) and sorted(v["online"]) == list(NODES), 240,
                  "both nodes online in pacemaker")
        log(f"pacemaker up on both ({time.time() - t0:.0f} s); loading {config}")
        self.load_config(config)
        self.wait(self.service_ready, 300, "the stack (volume promoted, db, vip, api answering)")
        log(f"up in {time.time() - t0:.0f} s: API http://{self.vip}:8080, SQL {self.vip}:3306")

    def build(self):
        target = os.path.join(ROOT, "target", "x86_64-unknown-linux-gnu", "release")
        if not os.environ.get("DRBD_LAB_NO_BUILD"):
            log("building static binaries")
            env = dict(os.environ, RUSTFLAGS="-C target-feature=+crt-static")
            env["PATH"] = os.path.expanduser("~/.cargo/bin") + ":" + env["PATH"]
            run("cargo", "build", "--quiet", "--release", "--locked", "--target", "x86_64-unknown-linux-gnu",
                "-p", "ferroha-volume", "-p", "ferroha-mariadb", "-p", "ferroha-vip", "-p", "ferroha-restapi",
                "-p", "ferroha-api", "-p", "ferroha-check", cwd=ROOT, env=env)
        for b in BINARIES:
            shutil.copy(os.path.join(target, b), os.path.join(self.share, "bin", b))
        run(os.path.join(ROOT, "tests", "drbd", "build-images.sh"), CACHE)
        run(os.path.join(HERE, "build-image.sh"), CACHE)

    def network(self):
        run("ip", "link", "add", self.bridge, "type", "bridge")
        self.state["bridge"] = self.bridge
        self.save()
        run("ip", "addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for n in NODES:
            run("ip", "tuntap", "add", "dev", self.taps[n], "mode", "tap")
            self.state.setdefault("taps", []).append(self.taps[n])
            self.save()
            run("ip", "link", "set", self.taps[n], "master", self.bridge, "up")
        ports = []
        for _ in NODES:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            ports.append((s, s.getsockname()[1]))
        self.state["udp"] = [p for _, p in ports]
        for s, _ in ports:
            s.close()
        self.save()

    def files(self):
        c = os.path.join(self.share, "cluster")
        nodelist = "".join(
            f"    node {{\n        name: {n}\n        nodeid: {n[-1]}\n        ring0_addr: {self.node_ip(n)}\n    }}\n"
            for n in NODES)
        with open(os.path.join(c, "corosync.conf"), "w") as f:
            f.write(f"""totem {{
    version: 2
    cluster_name: ferroha-drbd-{self.name}
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: {TOKEN_MS}
}}
logging {{
    to_stderr: no
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: no
    timestamp: hires
}}
quorum {{
    provider: corosync_votequorum
    two_node: 1
}}
nodelist {{
{nodelist}}}
""")
        with open(os.path.join(c, "hosts"), "w") as f:
            f.write("127.0.0.1\tlocalhost\n")
            for n in NODES:
                f.write(f"{self.node_ip(n)}\t{n}\n")
            f.write(f"{self.vip}\tvip\n")
        with open(os.path.join(c, "my.cnf"), "w") as f:
            f.write("""[mysqld]
bind-address = 0.0.0.0
skip-name-resolve
lc-messages-dir = /usr/share/mysql
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
performance_schema = OFF
innodb_flush_log_at_trx_commit = 1
""")
        # DRBD 8.4: resource-and-stonith fencing through the drbd-utils handlers (the clone's id
        # given, since they look for ocf:linbit:drbd's drbd_resource parameter). Timeouts in
        # tenths of a second, raised for TCG.
        drbd = """global { usage-count no; }
common {
  net { protocol C; timeout 60; ping-timeout 20; ping-int 5; connect-int 5; }
  disk { resync-rate 100M; fencing resource-and-stonith; }
  handlers {
    fence-peer "/usr/lib/drbd/crm-fence-peer.sh --master-id=vol-clone --timeout=90";
    after-resync-target "/usr/lib/drbd/crm-unfence-peer.sh --master-id=vol-clone";
  }
}
"""
        # The resource itself, shared with the DRBD suite (tests/drbd/run.sh).
        with open(os.path.join(HERE, "..", "drbd", "r0.res")) as f:
            drbd += f.read()
        for p in (os.path.join(c, "drbd.conf"), os.path.join(self.share, "drbd.conf")):
            with open(p, "w") as f:
                f.write(drbd)
        sec = os.path.join(self.dir, "secrets")
        os.makedirs(sec, mode=0o700)
        pw = secrets.token_urlsafe(18)
        token = secrets.token_urlsafe(24)
        old = os.umask(0o077)
        for d in (sec, os.path.join(c, "ferroha")):
            with open(os.path.join(d, "api-db.pw"), "w") as f:
                f.write(pw + "\n")
            with open(os.path.join(d, "api.token"), "w") as f:
                f.write(token + "\n")
        # The host's SQL client: password in a defaults file, never on a command line.
        with open(os.path.join(sec, "client.cnf"), "w") as f:
            f.write(f"[client]\nuser=ferroha\npassword={pw}\nhost={self.vip}\nconnect-timeout=3\n")
        os.umask(old)
        with open(os.path.join(c, "ferroha", "api.conf"), "w") as f:
            f.write(f"""listen = 0.0.0.0:8080
db_host = {self.vip}
db_port = 3306
db_user = ferroha
db_name = ferroha
db_password_file = /etc/ferroha/api-db.pw
token_file = /etc/ferroha/api.token
""")

    def seed_datadir(self):
        """An initialised datadir with the API's user and the client's table, made on the host
        (the guests have no mariadb-install-db) and copied onto the DRBD disk at init."""
        d = os.path.join(self.share, "seed", "mysql")
        sdir = os.path.join(self.dir, "seed-run")   # the server's socket, pid file and tmpdir
        for x in (d, sdir):
            os.makedirs(x)
            shutil.chown(x, "mysql", "mysql")
        with open(os.path.join(self.dir, "install-db.out"), "w") as out:
            run("mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={d}", "--skip-test-db",
                "--innodb-log-file-size=16M", f"--tmpdir={sdir}", stdout=out, stderr=subprocess.STDOUT)
        sock = os.path.join(sdir, "seed.sock")
        with open(os.path.join(self.dir, "seed-server.out"), "w") as out:
            srv = subprocess.Popen(["mariadbd", "--no-defaults", "--user=mysql", "--skip-networking",
                                    f"--datadir={d}", f"--socket={sock}", f"--pid-file={sdir}/seed.pid",
                                    "--innodb-log-file-size=16M", "--skip-log-bin", f"--tmpdir={sdir}"],
                                   stdout=out, stderr=out, start_new_session=True)
        try:
            self.wait(lambda: run("mariadb", "--no-defaults", f"--socket={sock}", "-e", "select 1",
                                  check=False, capture_output=True).returncode == 0, 60, "the seed server")
            pw = open(os.path.join(self.dir, "secrets", "api-db.pw")).read().strip()
            sql = f"""CREATE USER 'ferroha'@'%' IDENTIFIED BY '{pw}';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON `ferroha`.* TO 'ferroha'@'%';
CREATE DATABASE ferroha;
CREATE TABLE ferroha.acks (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB;
"""
            run("mariadb", "--no-defaults", f"--socket={sock}", input=sql)
        finally:
            srv.terminate()
            srv.wait(60)

    def write_start_scripts(self):
        qemu = os.path.join(CACHE, "qemu", "usr", "bin", "qemu-system-x86_64")
        p1, p2 = self.state["udp"]
        for i, n in enumerate(NODES):
            img = os.path.join(self.dir, f"{n}.img")
            run("qemu-img", "create", "-q", "-f", "raw", img, "256M")
            local, remote = (p1, p2) if i == 0 else (p2, p1)
            nn = n[-1]
            script = f"""#!/bin/sh
# Power on {n} (used by drbd-lab and by the power switch pdu.py).
export QEMU_MODULE_DIR={CACHE}/qemu/usr/lib/x86_64-linux-gnu/qemu
rm -f {self.dir}/{n}.ctl {self.dir}/{n}.mon
exec {qemu} -nodefaults -accel tcg -smp 1 -m 768 -machine pc \\
  -display none -no-reboot -L {CACHE}/fw -kernel {CACHE}/vmlinuz -initrd {CACHE}/initrd-cluster.img \\
  -append "console=ttyS0 quiet panic=-1 drbdvm.node={nn} drbdvm.lan={self.subnet}" \\
  -serial file:{self.dir}/{n}.console.$(date +%s) \\
  -drive file={img},if=virtio,format=raw,cache=unsafe \\
  -netdev socket,id=n0,udp=127.0.0.1:{remote},localaddr=127.0.0.1:{local} \\
  -device virtio-net-pci,netdev=n0,mac=52:54:00:99:00:0{nn},romfile= \\
  -netdev tap,id=n1,ifname={self.taps[n]},script=no,downscript=no \\
  -device virtio-net-pci,netdev=n1,mac=52:54:00:98:00:0{nn},romfile= \\
  -device virtio-serial-pci -chardev socket,id=ctl,path={self.dir}/{n}.ctl,server=on,wait=off \\
  -device virtserialport,chardev=ctl,name=ctl \\
  -monitor unix:{self.dir}/{n}.mon,server=on,wait=off \\
  -virtfs local,path={self.share},mount_tag=host,security_model=none,id=fs0 \\
  -pidfile {self.pidfile(n)} -daemonize
"""
            path = os.path.join(self.dir, f"{n}.start")
            with open(path, "w") as f:
                f.write(script)
            os.chmod(path, 0o755)

    def start_pdu(self):
        out = open(os.path.join(self.dir, "pdu.log"), "a")
        p = subprocess.Popen([sys.executable, "-B", os.path.join(HERE, "pdu.py"), "--run", self.dir,
                              "--listen", f"{self.subnet}.254:{PDU_PORT}"],
                             stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        self.state["pdu_pid"] = p.pid
        self.save()

    def init_drbd(self):
        """Fresh metadata on both, no initial sync (both disks are zeroes), ext4 and the seeded
        datadir from node1, then down again: from here on Pacemaker drives DRBD."""
        for n in NODES:
            self.sh(n, "drbdadm create-md --force r0 >/dev/null 2>&1 && drbdadm up r0")
        self.wait(lambda: all(self.run_in(n, "drbdadm cstate r0")[1].strip() == "Connected" for n in NODES),
                  120, "DRBD connected")
        self.sh("node1", "drbdadm -- --clear-bitmap new-current-uuid r0 && drbdadm primary r0")
        self.sh("node1", "mkfs.ext4 -q -F /dev/drbd0 && mkdir -p /srv/data && mount /dev/drbd0 /srv/data"
                " && cp -a /mnt/host/seed/mysql /srv/data/ && chown -R mysql:mysql /srv/data/mysql"
                " && umount /srv/data && drbdadm secondary r0", 180)
        self.wait(lambda: self.run_in("node2", "drbdadm dstate r0")[1].strip() == "UpToDate/UpToDate",
                  120, "DRBD UpToDate on both")
        for n in NODES:
            self.sh(n, "drbdadm down r0")

    def load_config(self, config):
        """The crm example with this lab's VIP and NIC, plus the power-switch fence devices, into a
        CIB file with crmsh on the host; its configuration section replaces the guests'."""
        text = open(config).read().replace("ip=192.0.2.50", f"ip={self.vip}").replace("nic=eth0", "nic=eth1")
        crm = os.path.join(self.dir, "stack.crm")
        with open(crm, "w") as f:
            f.write(text)
        cib = os.path.join(self.dir, "cib.xml")
        with open(cib, "w") as f:
            run("cibadmin", "--empty", stdout=f)
        env = dict(os.environ, CIB_file=cib)
        # crmsh verifies while loading: fencing is off until the fence devices are in.
        run("crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false", env=env)
        run("crm", "configure", "load", "update", crm, env=env)
        for n in NODES:
            prim = (f'<primitive id="fence-{n}" class="stonith" type="fence_ferroha_qemu">'
                    f'<instance_attributes id="fence-{n}-ia">'
                    f'<nvpair id="fence-{n}-ip" name="ipaddr" value="{self.subnet}.254"/>'
                    f'<nvpair id="fence-{n}-port" name="ipport" value="{PDU_PORT}"/>'
                    f'<nvpair id="fence-{n}-hosts" name="pcmk_host_list" value="{n}"/>'
                    f'</instance_attributes><operations>'
                    f'<op id="fence-{n}-mon" name="monitor" interval="60s" timeout="30s"/>'
                    f'</operations></primitive>')
            run("cibadmin", "--create", "-o", "resources", "--xml-text", prim, env=env)
            run("cibadmin", "--create", "-o", "constraints", "--xml-text",
                f'<rsc_location id="fence-{n}-not-on-{n}" rsc="fence-{n}" node="{n}" score="-INFINITY"/>', env=env)
        # Fencing powers a node off; it stays off until powered on (drbd-lab on NODE), like a
        # node whose BMC is told "off": a person looks at it before it rejoins.
        for k, v in (("stonith-enabled", "true"), ("stonith-action", "off"), ("stonith-timeout", "120s")):
            run("crm_attribute", "--type", "crm_config", "--name", k, "--update", v, env=env)
        run("crm_verify", "--xml-file", cib)
        conf = ET.parse(cib).getroot().find("configuration")
        ET.ElementTree(conf).write(os.path.join(self.share, "cluster", "configuration.xml"))
        self.sh("node1", "cibadmin --replace -o configuration --xml-file /mnt/host/cluster/configuration.xml")

    def service_ready(self):
        v = self.view("node1") or self.view("node2")
        if not v or not (v["promoted"] and v["db"] == v["promoted"] and v["api"] == v["promoted"]):
            return False
        return http_status(f"http://{self.vip}:8080/ready") == 200

    @staticmethod
    def wait(pred, timeout, what):
        end = time.time() + timeout
        while True:
            try:
                if pred():
                    return
            except (GuestError, OSError):
                pass
            if time.time() > end:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(1)

    # ---- down / status
    def down(self):
        for n in NODES:
            self.power_off(n)
        pid = self.state.get("pdu_pid")
        if pid:
            try:
                if b"pdu.py" in open(f"/proc/{pid}/cmdline", "rb").read():
                    os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for t in self.state.get("taps", []):
            run("ip", "link", "del", t, check=False, stderr=subprocess.DEVNULL)
        if self.state.get("bridge"):
            run("ip", "link", "del", self.state["bridge"], check=False, stderr=subprocess.DEVNULL)
        seed_pid = os.path.join(self.dir, "seed-run", "seed.pid")
        if os.path.exists(seed_pid):
            try:
                pid = int(open(seed_pid).read())
                if b"mariadbd" in open(f"/proc/{pid}/cmdline", "rb").read():
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def status(self):
        if not self.state:
            print(f"drbd-lab {self.name}: not running")
            return 1
        print(f"drbd-lab {self.name}: {self.dir}, cluster network {self.subnet}.0/24 on {self.bridge}, "
              f"VIP {self.vip}")
        for n in NODES:
            print(f"  {n}: qemu {'pid ' + str(self.qemu_pid(n)) if self.qemu_pid(n) else 'off'}; DRBD: {self.drbd(n)}")
        for n in NODES:
            if self.qemu_pid(n):
                try:
                    rc, out = self.guest(n, boot_timeout=5).run("crm_mon -1 -r 2>&1 | sed -n '/^Node List/,$p'", 30)
                    print(f"  crm_mon on {n}:")
                    print("\n".join("    " + line for line in out.splitlines()))
                    break
                except GuestError:
                    self.forget(n)
        return 0


def http_status(url, method="GET", body=None, token=None, timeout=3):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def main():
    if len(sys.argv) < 2:
        die(__doc__.strip().splitlines()[2].strip())
    lab = Lab()
    cmd = sys.argv[1]
    if cmd == "up":
        config = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "crm-examples", "drbd-stack.crm")
        try:
            lab.up(os.path.abspath(config))
        except BaseException:
            if not os.environ.get("DRBD_LAB_KEEP_FAILED"):
                log("up failed; removing the lab (DRBD_LAB_KEEP_FAILED=1 keeps it)")
                lab.down()
            raise
        return 0
    if cmd == "down":
        lab.down()
        return 0
    if cmd == "status":
        return lab.status()
    if cmd in ("on", "off") and len(sys.argv) == 3 and sys.argv[2] in NODES:
        (lab.power_on if cmd == "on" else lab.power_off)(sys.argv[2])
        return 0
    if cmd in ("cut", "repair") and len(sys.argv) == 3 and sys.argv[2] in NODES:
        lab.monitor(sys.argv[2], f"set_link n0 {'off' if cmd == 'cut' else 'on'}")
        return 0
    die("usage: drbd-lab up [CONFIG] | down | status | on NODE | off NODE | cut NODE | repair NODE")


if __name__ == "__main__":
    sys.exit(main())
