#!/usr/bin/env python3
"""Failover and idle cost, ferroha stack vs heartbeat stack, side by side (issue 6; make bench-failover).

For each stack in turn (ferroha, then heartbeat) the script brings up its own private lab with
lab/ferroha-lab (LAB=fo<pid>f / fo<pid>h, subnets 10.81.0 / 10.82.0 by default; every address is
inside the lab's namespaces), with the lab's corosync settings (token 1000 ms unless LAB_TOKEN says
otherwise) and cluster properties, and loads:

  ferroha    crm-examples/ap-mode.crm (the lab rewrites its 10.77.0. addresses to the lab's subnet);
  heartbeat  bench/anchor-stack.crm (IPaddr2 + mysql promotable clone + anything/ferroha-api, the
             same constraints, op intervals, stickiness and migration-threshold), after `up` with
             only the template's property/rsc_defaults lines; the replication password the lab
             generated and the subnet are substituted into a temporary 0600 copy, and the node
             attributes db_mysql_master_IP are set, as the mysql RA needs.

Once the stack is settled (promoted on one node, VIP and API with it, two replicas, API /ready 200
through the VIP from the client namespace) and a probe table exists:

Idle cost. After a quiet period, over --idle-seconds: CPU of every process in the three node
namespaces (`ip netns pids`), as the sum of utime+stime+cutime+cstime deltas from /proc/PID/stat;
agent calls are children of pacemaker-execd and show up in its cutime/cstime once reaped. The PID
sets are sampled every 0.5 s: a process born and still alive at the end counts whole; a process
that exits and was last seen with a parent outside the namespaces (an orphan, reaped by the host's
init) is lost to the sum, and its last-seen CPU is reported as a lower bound of what was missed.
RSS (VmRSS) and PSS (smaps_rollup) are summed at the end. The split: cluster daemons (corosync,
pacemaker*), agents (everything pacemaker-execd/fenced reaped, plus processes agents left running
such as mysqld_safe), mariadbd, ferroha-api.

Failover. --crashes times: the node holding the promoted instance is powered off (`ferroha-lab
kill`: cable out, SIGKILL of every process in its namespace). t0 is taken just before that command.
A probe in the client namespace (this script, `_probe`) pings the VIP at 20 Hz (`ping -D -n -i
0.05`) from before the crash; once `kill` has returned (the old node can no longer answer):
  VIP        the first ping reply received after that;
  SQL write  the first `INSERT` through VIP:3306 by the mariadb client (password in a 0600
             --defaults-extra-file) that succeeds on a node other than the victim (@@hostname);
  API write  the first POST /v1/records through VIP:8080 (bearer token of the lab) answered 201.
SQL and API attempts start when the VIP answers ping (they cannot succeed before it: nobody holds
the address) and are retried every 0.05 s. Detection is corosync's "Members left: <victim id>" in
a surviving node's corosync.log (hires timestamps), i.e. the membership change Pacemaker acts on;
"above the detection floor" = time to the write - detection. A crash whose VIP, SQL and API
writes are not all back within --failover-timeout (60 s) is recorded as a failure. Then the node
is revived, must come back as an Unpromoted replica (bounded wait), failures are cleaned up
(crm_resource --cleanup), and after --settle seconds the next crash follows.

The labs are always removed (`ferroha-lab down` in a finally, also on Ctrl-C/SIGTERM); no process is
killed other than through ferroha-lab or the probe processes this script started. Raw per-crash
figures go to target/bench/failover.json; Markdown tables go to stdout. Root, the agents and
ferroha-api installed (make install), resource-agents, mariadb-server and curl are needed; lab/ on
PYTHONPATH for labctl (bench/failover.sh sets it).
"""
import argparse
import datetime
import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from labctl import Lab, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
AP_MODE = os.path.join(ROOT, "crm-examples", "ap-mode.crm")
ANCHOR = os.path.join(HERE, "anchor-stack.crm")
STACKS = ("ferroha", "heartbeat")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PING_REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from ")
LOG_TIME = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d(?:\.\d+)?) ")


def log(msg):
    print(f"[{time.strftime('%T')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The lab's logs


def log_offsets(lab, nodes):
    """{log file: its size now} of the nodes' corosync and Pacemaker logs."""
    out = {}
    for n in nodes:
        for path in lab.log_files(n):
            try:
                out[path] = os.path.getsize(path)
            except OSError:
                out[path] = 0
    return out


def log_epoch(line, year):
    """Epoch of a corosync/pacemaker log line ('Nov 22 16:31:02.123 ...', local time)."""
    m = LOG_TIME.match(line)
    if not m:
        return None
    mon, day, hms = m.groups()
    fmt = "%Y %b %d %H:%M:%S.%f" if "." in hms else "%Y %b %d %H:%M:%S"
    return datetime.datetime.strptime(f"{year} {mon} {day} {hms}", fmt).timestamp()


def lines_from(path, offset):
    """The lines a log got after `offset` (none if it cannot be read)."""
    try:
        with open(path, errors="replace") as f:
            f.seek(offset)
            return f.read().splitlines()
    except OSError:
        return []


def detection(offsets, victim, t0):
    """(corosync, pacemaker) epochs at which the survivors' logs (read from the offsets taken
    before the crash) report the victim gone: corosync's new membership with 'Members left:'
    naming the victim's node id, and Pacemaker's 'Node <victim> state is now lost'. Earliest
    over the survivors; None where not found."""
    vid = victim[1:]
    year = datetime.datetime.fromtimestamp(t0).year
    coro = pcmk = None
    for path, off in offsets.items():
        for line in lines_from(path, off):
            t = None
            m = re.search(r"Members left: ([\d ]+)", line)
            if m and vid in m.group(1).split():
                t = log_epoch(line, year)
                if t is not None and t >= t0 - 1 and (coro is None or t < coro):
                    coro = t
            elif f"Node {victim} state is now lost" in line:
                t = log_epoch(line, year)
                if t is not None and t >= t0 - 1 and (pcmk is None or t < pcmk):
                    pcmk = t
    return coro, pcmk


PHASES = (("fenced", r"Operation '(?:off|reboot)' targeting {victim} .*: OK"),
          ("promote_begin", r"Requesting local execution of promote operation for db "),
          ("promote_end", r"Result of promote operation for db on \S+: ok"),
          ("vip_started", r"Result of start operation for vip on \S+: ok"),
          ("api_started", r"Result of start operation for api on \S+: ok"))


def phases(offsets, victim, t0):
    """Epochs of the first fencing confirmation, promote request/result and VIP/API start results
    after t0 in the survivors' Pacemaker logs: where the time above the floor goes."""
    pats = {k: re.compile(p.format(victim=victim)) for k, p in PHASES}
    year = datetime.datetime.fromtimestamp(t0).year
    found = {}
    for path, off in offsets.items():
        if not path.endswith("pacemaker.log"):
            continue
        for line in lines_from(path, off):
            for k, pat in pats.items():
                if pat.search(line):
                    t = log_epoch(line, year)
                    if t is not None and t >= t0 and (k not in found or t < found[k]):
                        found[k] = t
    return found


# ---------------------------------------------------------------------------------------------
# The probe: runs inside the client namespace (`failover.py _probe ...`)


def probe_main(argv):
    """Ping the VIP from now on; print {"ready": bool} once it answers. Then read
    "<t_killed> <deadline>" from stdin, and print one JSON line: the first ping reply after
    t_killed, then the first SQL and API writes (attempts start once the VIP answers)."""
    ap = argparse.ArgumentParser(prog="failover.py _probe")
    ap.add_argument("--vip", required=True)
    ap.add_argument("--victim", required=True)
    ap.add_argument("--defaults", required=True, help="mariadb client defaults file (0600)")
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--tag", required=True)
    a = ap.parse_args(argv)
    replies, cond = [], threading.Condition()
    ping = subprocess.Popen(["stdbuf", "-oL", "ping", "-D", "-n", "-i", "0.05", a.vip],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def reader():
        for line in ping.stdout:
            m = PING_REPLY.match(line)
            if m:
                with cond:
                    replies.append(float(m.group(1)))
                    cond.notify_all()

    def first_reply_after(t, deadline):
        with cond:
            while True:
                r = next((x for x in replies if x > t), None)  # replies arrive in order
                if r is not None:
                    return r
                left = deadline - time.time()
                if left <= 0:
                    return None
                cond.wait(min(left, 0.2))

    threading.Thread(target=reader, daemon=True).start()
    try:
        ok = first_reply_after(0, time.time() + 15) is not None
        print(json.dumps({"ready": ok}), flush=True)
        if not ok:
            return 1
        t_killed, deadline = map(float, sys.stdin.readline().split())
        out = {"vip": first_reply_after(t_killed, deadline)}
        if out["vip"] is not None:
            token = open(a.token_file).read().strip()
            threads = [threading.Thread(target=sql_writes, args=(a, deadline, out)),
                       threading.Thread(target=api_writes, args=(a, token, deadline, out))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        print(json.dumps(out), flush=True)
        return 0
    finally:
        ping.terminate()
        ping.wait(timeout=5)


def sql_writes(a, deadline, out):
    """First INSERT through the VIP that lands on a node other than the victim."""
    n = 0
    sql = "INSERT INTO ferroha.failover_probe () VALUES (); SELECT @@hostname"
    while time.time() < deadline:
        n += 1
        try:
            r = subprocess.run(["mariadb", f"--defaults-extra-file={a.defaults}", "--connect-timeout=1",
                                "-h", a.vip, "-P", "3306", "-N", "-s", "-e", sql],
                               capture_output=True, text=True,
                               timeout=max(0.2, min(3.0, deadline - time.time())))
            t, host = time.time(), r.stdout.strip()
            if r.returncode == 0 and host and host != a.victim:
                out.update(sql=t, sql_host=host, sql_attempts=n)
                return
            out["sql_last_error"] = (r.stderr.strip() or host)[-200:]
        except subprocess.TimeoutExpired:
            out["sql_last_error"] = "client timeout"
        time.sleep(0.05)
    out["sql_attempts"] = n


def api_writes(a, token, deadline, out):
    """First POST /v1/records through the VIP answered 201."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    n = 0
    while time.time() < deadline:
        n += 1
        body = json.dumps({"name": f"{a.tag}-{n}", "data": {"victim": a.victim}}).encode()
        req = urllib.request.Request(f"http://{a.vip}:8080/v1/records", data=body, method="POST")
        req.add_header("Authorization", "Bearer " + token)
        req.add_header("Content-Type", "application/json")
        status = None
        try:
            with opener.open(req, timeout=min(1.0, max(0.1, deadline - time.time()))) as resp:
                status = resp.status
                resp.read()
        except urllib.error.HTTPError as e:
            status = e.code
        except (OSError, urllib.error.URLError) as e:
            out["api_last_error"] = str(e)[-200:]
        if status == 201:
            out.update(api=time.time(), api_attempts=n)
            return
        if status is not None:
            out["api_last_error"] = f"HTTP {status}"
        time.sleep(0.05)
    out["api_attempts"] = n


class Probe:
    """The probe process in the client namespace, from the main side."""

    def __init__(self, lab, victim, defaults, tag):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("nc"), sys.executable, os.path.abspath(__file__), "_probe",
             "--vip", lab.vip, "--victim", victim, "--defaults", defaults,
             "--token-file", lab.secret("api.token"), "--tag", tag],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        return json.loads(line) if line else None

    def go(self, t_killed, deadline):
        self.proc.stdin.write(f"{t_killed} {deadline}\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # our own child (ip netns exec execs into python)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Idle cost


def proc_stat(pid):
    """comm, ppid, own and reaped-children CPU ticks, start time of a process; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    f = s[s.rindex(")") + 2:].split()
    return {"comm": comm, "ppid": int(f[1]), "own": int(f[11]) + int(f[12]),
            "reaped": int(f[13]) + int(f[14]), "start": int(f[19])}


def proc_mem(pid):
    """(VmRSS, Pss) in KiB; zeros for a kernel thread or a process that is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def category(comm):
    if comm == "corosync" or comm.startswith("pacemaker"):
        return "cluster"
    if comm in ("mariadbd", "mysqld"):
        return "mariadbd"
    if comm == "ferroha-api":
        return "api"
    return "agents"


def ns_snapshot(lab):
    """{(pid, start): stat} of every process in the three node namespaces."""
    snap = {}
    for n in lab.nodes:
        r = subprocess.run(["ip", "netns", "pids", lab.ns(n)], capture_output=True, text=True,
                           check=False)
        for pid in r.stdout.split():
            st = proc_stat(int(pid))
            if st:
                st["pid"], st["node"] = int(pid), n
                snap[(int(pid), st["start"])] = st
    return snap


def measure_idle(lab, seconds):
    """CPU (% of one core) and memory of the settled lab's node namespaces over `seconds`."""
    first = ns_snapshot(lab)
    t_start = time.monotonic()
    seen = dict(first)           # last stat of every process seen during the window
    gone = {}
    end = t_start + seconds
    while time.monotonic() < end:
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
        now = ns_snapshot(lab)
        for k in set(seen) - set(now):
            gone[k] = seen.pop(k)
        seen.update(now)
    last = ns_snapshot(lab)
    window = time.monotonic() - t_start
    for k in set(seen) - set(last):
        gone[k] = seen.pop(k)
    ticks = {"cluster": 0, "agents": 0, "mariadbd": 0, "api": 0}
    mem = {c: [0, 0] for c in ticks}
    procs = {c: 0 for c in ticks}
    for k, st in last.items():
        before = first.get(k)
        own = st["own"] - (before["own"] if before else 0)
        reaped = st["reaped"] - (before["reaped"] if before else 0)
        cat = category(st["comm"])
        ticks[cat] += own
        # What pacemaker-execd / -fenced reaped are agent runs (and whatever those ran).
        reaper = st["comm"].startswith("pacemaker-exec") or st["comm"].startswith("pacemaker-fence")
        ticks["agents" if reaper else cat] += reaped
        rss, pss = proc_mem(st["pid"])
        mem[cat][0] += rss
        mem[cat][1] += pss
        procs[cat] += 1
    # A process that exited was reaped by its parent if that parent was one of the namespaces'
    # processes (its CPU then shows in the parent's cutime/cstime); otherwise it is lost.
    ns_pids = {st["pid"] for snap in (first, gone, last) for st in snap.values()}
    orphans = {k: st for k, st in gone.items() if st["ppid"] not in ns_pids}
    lost = sum(st["own"] + st["reaped"] - (first[k]["own"] + first[k]["reaped"] if k in first else 0)
               for k, st in orphans.items())

    def pct(ticks):
        return round(100.0 * ticks / CLK_TCK / window, 2)

    return {
        "window_s": round(window, 1),
        "cpu_pct": pct(sum(ticks.values())),
        "cpu_pct_by": {c: pct(t) for c, t in ticks.items()},
        "rss_mib": round(sum(m[0] for m in mem.values()) / 1024, 1),
        "pss_mib": round(sum(m[1] for m in mem.values()) / 1024, 1),
        "rss_mib_by": {c: round(m[0] / 1024, 1) for c, m in mem.items()},
        "pss_mib_by": {c: round(m[1] / 1024, 1) for c, m in mem.items()},
        "processes_at_end": procs,
        "exited_during_window": len(gone),
        "orphan_exits": len(orphans),
        "orphan_cpu_pct_lost_lower_bound": pct(lost),
        "comms_at_end": sorted({st["comm"] for st in last.values()}),
        "orphan_exit_comms": sorted({st["comm"] for st in orphans.values()}),
    }


# ---------------------------------------------------------------------------------------------
# One stack


def stack_configs(stack, lab, tmp):
    """(config for `ferroha-lab up`, template to load afterwards or None)."""
    if stack == "ferroha":
        return AP_MODE, None
    # Heartbeat: up with the template's properties and defaults only (no resources yet: the
    # mysql RA needs the replication password the lab generates during `up`).
    base = [line for line in open(ANCHOR) if line.startswith(("property ", "rsc_defaults "))]
    path = os.path.join(tmp, f"{lab.name}-base.crm")
    with open(path, "w") as f:
        f.writelines(base)
    return path, ANCHOR


def load_anchor(lab, template, tmp):
    """Node attributes for the mysql RA, then the template with subnet and password filled in,
    from a 0600 copy that is removed again."""
    for n in lab.nodes:
        r = lab.on(lab.nodes[0], "crm_attribute", "-N", n, "-l", "forever", "-n", "db_mysql_master_IP",
                   "-v", lab.node_ip(n))
        if r.returncode != 0:
            raise RuntimeError(f"crm_attribute db_mysql_master_IP for {n} failed: {r.stderr}")
    pw = open(lab.secret("repl.pw")).read().strip()
    text = open(template).read().replace("@SUBNET@", lab.subnet).replace("@REPL_PASSWD@", pw)
    fd, path = tempfile.mkstemp(prefix=f"{lab.name}-anchor.", suffix=".crm", dir=tmp)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        r = lab.on(lab.nodes[0], "crm", "configure", "load", "update", path, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"loading the anchor stack failed: {r.stderr}")
    finally:
        os.unlink(path)


def client_defaults(lab, tmp):
    """A 0600 mariadb client defaults file for the API's database user (the password never goes
    on a command line)."""
    pw = open(lab.secret("api-db.pw")).read().strip()
    path = os.path.join(tmp, f"{lab.name}-client.cnf")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"[client]\nuser=ferroha\npassword={pw}\n")
    return path


def create_probe_table(lab, defaults):
    sql = ("CREATE TABLE IF NOT EXISTS ferroha.failover_probe (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
           "at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")

    def once():
        r = lab.on("nc", "mariadb", f"--defaults-extra-file={defaults}", "--connect-timeout=2",
                   "-h", lab.vip, "-e", sql, timeout=20)
        return r.returncode == 0

    if not wait_until(once, 30, every=1):
        raise RuntimeError("could not create the probe table through the VIP")


def other_labs(lab):
    """Labs of others running at the same time (they share the 2 cores): their namespace prefixes."""
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    names = {line.split()[0].rsplit("-", 1)[0] for line in r.stdout.splitlines() if line.strip()}
    return sorted(n for n in names if n != lab.prefix)


def crash_once(lab, i, args, defaults):
    """One power-off of the promoted node, its failover figures, and the node's return."""
    st = lab.settled()
    if not st:
        return {"crash": i, "ok": False, "error": "not settled before the crash"}
    victim = st.promoted
    survivors = [n for n in lab.nodes if n != victim]
    rec = {"crash": i, "victim": victim, "victim_was_dc": st.dc == victim,
           "loadavg_1m": os.getloadavg()[0], "other_labs": other_labs(lab)}
    offsets = log_offsets(lab, survivors)
    probe = Probe(lab, victim, defaults, tag=f"fo-{lab.name}-{i}")
    try:
        hello = probe.next(20)
        if not hello or not hello.get("ready"):
            rec.update(ok=False, error="VIP did not answer ping before the crash")
            return rec
        t0 = time.time()
        lab.run("kill", victim, timeout=60)
        t_killed = time.time()
        deadline = t0 + args.failover_timeout
        probe.go(t_killed, deadline)
        res = probe.next(args.failover_timeout + 15) or {}
    finally:
        probe.close()

    def rel(t):
        return round(t - t0, 3) if t is not None else None

    rec.update(t0=round(t0, 3), kill_s=rel(t_killed), vip=rel(res.get("vip")),
               sql=rel(res.get("sql")), api=rel(res.get("api")), sql_host=res.get("sql_host"),
               sql_attempts=res.get("sql_attempts"), api_attempts=res.get("api_attempts"))
    for k in ("sql_last_error", "api_last_error"):
        if k in res and res.get(k.split("_")[0]) is None:
            rec[k] = res[k]
    coro = pcmk = None
    for _ in range(10):  # the logs are written by now; allow for a slow flush
        coro, pcmk = detection(offsets, victim, t0)
        if coro is not None:
            break
        time.sleep(0.5)
    rec.update(detect=rel(coro), detect_pacemaker=rel(pcmk))
    rec["ok"] = all(rec[k] is not None for k in ("vip", "sql", "api"))
    if not rec["ok"]:
        rec["error"] = f"failover not complete within {args.failover_timeout:.0f} s"
    if rec["detect"] is not None:
        for k in ("vip", "sql", "api"):
            if rec[k] is not None:
                rec[f"{k}_above_floor"] = round(rec[k] - rec["detect"], 3)
    log(f"{lab.name} crash {i}: {victim} off (DC: {rec['victim_was_dc']}); detect {rec['detect']} "
        f"vip {rec['vip']} sql {rec['sql']} ({rec['sql_host']}) api {rec['api']}")

    # The node comes back; it must rejoin as a replica, then failures are cleared.
    t_rev = time.time()
    lab.run("revive", victim, timeout=120)
    view = survivors + [victim]  # ask the nodes that stayed up first
    back = wait_until(lambda: lab.settled(rejoined=victim, nodes=view), args.rejoin_timeout, every=1)
    rec["rejoin_s"] = round(time.time() - t_rev, 1) if back else None
    lab.cleanup(nodes=survivors)
    again = wait_until(lambda: lab.settled(rejoined=victim, nodes=view), 60, every=1)
    if not back or not again:
        rec["rejoin_error"] = f"{victim} not back as a replica of a settled stack"
    # Read only now: an action's result may be logged after the first write already went through.
    rec["phases"] = {k: rel(t) for k, t in sorted(phases(offsets, victim, t0).items(), key=lambda x: x[1])}
    time.sleep(args.settle)
    return rec


def denied_lines(lab):
    """How many lines of the nodes' Pacemaker logs report a denied privilege or login (the agents
    log their SQL errors there): 0 shows the replication account's grants were enough."""
    n = 0
    for node in lab.nodes:
        try:
            with open(lab.log_files(node)[1], errors="replace") as f:
                n += sum(1 for line in f if "denied" in line.lower())
        except OSError:
            pass
    return n


def keep_logs(lab, dest):
    """Copy the nodes' corosync and Pacemaker logs out of the lab before it is removed."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest, exist_ok=True)
    for node in lab.nodes:
        for path in lab.log_files(node):
            if os.path.exists(path):
                shutil.copy(path, os.path.join(dest, f"{node}-{os.path.basename(path)}"))


def run_stack(stack, args, tmp, out, save):
    pid = os.getpid()
    lab = Lab(name=f"fo{pid}{stack[0]}",
              subnet=args.subnet_ferroha if stack == "ferroha" else args.subnet_heartbeat)
    res = out["stacks"][stack] = {"lab": lab.name, "subnet": lab.subnet, "crashes": [], "idle": None,
                                  "error": None}
    config, template = stack_configs(stack, lab, tmp)
    try:
        log(f"{stack}: lab {lab.name} ({lab.subnet}.0/24) up")
        t = time.time()
        lab.up(config)
        if template:
            load_anchor(lab, template, tmp)
        st = wait_until(lab.settled, args.start_timeout, every=1)
        if not st:
            raise RuntimeError(f"stack not settled within {args.start_timeout} s: {lab.state()}")
        res["up_to_settled_s"] = round(time.time() - t, 1)
        r = lab.on(lab.nodes[0], "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-G", "-q")
        res["stonith_enabled"] = r.stdout.strip() if r.returncode == 0 else "unset"
        defaults = client_defaults(lab, tmp)
        create_probe_table(lab, defaults)
        log(f"{stack}: settled (primary {st.promoted}); quiet {args.quiet} s, "
            f"then idle window {args.idle_seconds} s")
        time.sleep(args.quiet)
        if args.idle_seconds > 0:
            res["idle"] = measure_idle(lab, args.idle_seconds)
            res["idle"].update(loadavg_1m_after=os.getloadavg()[0], other_labs=other_labs(lab))
            log(f"{stack}: idle {res['idle']['cpu_pct']} % of a core, RSS {res['idle']['rss_mib']} MiB")
        save()
        for i in range(1, args.crashes + 1):
            rec = crash_once(lab, i, args, defaults)
            res["crashes"].append(rec)
            save()
            if rec.get("rejoin_error") or rec.get("error") == "not settled before the crash":
                if not wait_until(lab.settled, 60, every=2):
                    res["error"] = f"stack did not settle again after crash {i}; stopped there"
                    log(f"{stack}: {res['error']}")
                    break
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        res["error"] = str(e)[-2000:]
        log(f"{stack}: ERROR {res['error']}")
    finally:
        res["log_denied_lines"] = denied_lines(lab)
        keep_logs(lab, os.path.join(os.path.dirname(args.json), "failover-logs", stack))
        log(f"{stack}: lab {lab.name} down")
        lab.down()
        save()


# ---------------------------------------------------------------------------------------------
# Report


def stats(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": round(statistics.median(vals), 2), "min": round(min(vals), 2),
            "max": round(max(vals), 2), "n": len(vals)}


def fmt(s):
    return "–" if not s else f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def summarize(out):
    summ = {}
    for stack, res in out["stacks"].items():
        ok = [c for c in res["crashes"] if c.get("ok") and c.get("detect") is not None]
        s = {k: stats([c[k] for c in ok]) for k in
             ("detect", "detect_pacemaker", "vip", "sql", "api", "vip_above_floor",
              "sql_above_floor", "api_above_floor")}
        s["api_above_floor_share_pct"] = stats([100 * c["api_above_floor"] / c["api"] for c in ok])
        s["sql_above_floor_share_pct"] = stats([100 * c["sql_above_floor"] / c["sql"] for c in ok])
        s["phases"] = {k: stats([c.get("phases", {}).get(k) for c in ok]) for k, _ in PHASES}
        s["crashes"] = len(res["crashes"])
        s["failed"] = sum(1 for c in res["crashes"] if not c.get("ok"))
        s["victim_was_dc"] = sum(1 for c in res["crashes"] if c.get("victim_was_dc"))
        summ[stack] = s
    if all(k in summ for k in STACKS):
        for k in ("sql_above_floor", "api_above_floor", "sql", "api"):
            f, h = summ["ferroha"][k], summ["heartbeat"][k]
            if f and h and f["median"] > 0:
                summ[f"ratio_{k}"] = round(h["median"] / f["median"], 2)
    out["summary"] = summ
    return summ


def report(out):
    summ = summarize(out)
    p = print
    p("\n### Failover: power-off of the node holding the promoted instance\n")
    p("Seconds from the power-off; median (min–max) of the completed crashes. VIP: first ping "
      "reply from the client namespace. Detection: corosync's new membership on a survivor.\n")
    p("| stack | crashes (failed) | victim was DC | detection | → VIP | → SQL write | → API write "
      "| SQL above floor | API above floor | API share above floor |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for stack in STACKS:
        s = summ.get(stack)
        if not s:
            continue
        share = s["api_above_floor_share_pct"]
        p(f"| {stack} | {s['crashes']} ({s['failed']}) | {s['victim_was_dc']} | {fmt(s['detect'])} "
          f"| {fmt(s['vip'])} | {fmt(s['sql'])} | {fmt(s['api'])} | {fmt(s['sql_above_floor'])} "
          f"| {fmt(s['api_above_floor'])} | {share['median']:.0f} % |" if share else
          f"| {stack} | {s['crashes']} ({s['failed']}) | {s['victim_was_dc']} | – | – | – | – | – | – | – |")
    for k, what in (("sql_above_floor", "SQL write above the floor"),
                    ("api_above_floor", "API write above the floor"),
                    ("api", "total to API write")):
        if f"ratio_{k}" in summ:
            p(f"\nRatio heartbeat / ferroha, {what} (medians): **{summ[f'ratio_{k}']}×**")
    p("\n### Where the time goes (medians, s from power-off; Pacemaker logs of the survivors)\n")
    p("| stack | corosync detection | fencing confirmed | promote requested | promoted | VIP started "
      "| VIP answers ping | API started | API write |")
    p("|---|---|---|---|---|---|---|---|---|")
    for stack in STACKS:
        s = summ.get(stack)
        if not s or not s.get("phases"):
            continue
        ph = s["phases"]

        def m(x):
            return "–" if not x else f"{x['median']:.2f}"

        p(f"| {stack} | {m(s['detect'])} | {m(ph['fenced'])} | {m(ph['promote_begin'])} "
          f"| {m(ph['promote_end'])} | {m(ph['vip_started'])} | {m(s['vip'])} | {m(ph['api_started'])} "
          f"| {m(s['api'])} |")
    p("\n### Per crash (s from power-off)\n")
    p("| stack | # | victim | DC | detection | → VIP | → SQL | → API | API above floor | rejoin |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for stack in STACKS:
        for c in out["stacks"].get(stack, {}).get("crashes", []):

            def g(k, c=c):
                return "–" if c.get(k) is None else f"{c[k]:.2f}"

            p(f"| {stack} | {c['crash']} | {c.get('victim', '–')} | {'yes' if c.get('victim_was_dc') else 'no'} "
              f"| {g('detect')} | {g('vip')} | {g('sql')} | {g('api')} | {g('api_above_floor')} "
              f"| {g('rejoin_s')}{' ' + c['error'] if c.get('error') else ''} |")
    p("\n### Idle cost of the settled 3-node lab\n")
    p("| stack | window s | CPU % of one core | cluster daemons | agents | mariadbd | ferroha-api "
      "| RSS MiB (cluster / agents / mariadbd / api) | PSS MiB | orphan exits (CPU % missed, ≥) |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for stack in STACKS:
        i = out["stacks"].get(stack, {}).get("idle")
        if not i:
            continue
        b, r = i["cpu_pct_by"], i["rss_mib_by"]
        p(f"| {stack} | {i['window_s']} | {i['cpu_pct']:.2f} | {b['cluster']:.2f} | {b['agents']:.2f} "
          f"| {b['mariadbd']:.2f} | {b['api']:.2f} | {i['rss_mib']} ({r['cluster']} / {r['agents']} / "
          f"{r['mariadbd']} / {r['api']}) | {i['pss_mib']} | {i['orphan_exits']} "
          f"({i['orphan_cpu_pct_lost_lower_bound']:.2f}) |")
    for stack in STACKS:
        res = out["stacks"].get(stack, {})
        if res.get("error"):
            p(f"\n**{stack}: {res['error']}**")
        if res.get("log_denied_lines"):
            p(f"\n**{stack}: {res['log_denied_lines']} log lines with a denied privilege or login "
              f"(target/bench/failover-logs/{stack}/): the agents did not run as configured.**")


# ---------------------------------------------------------------------------------------------


def versions():
    def cmd(*c):
        try:
            return subprocess.run(c, capture_output=True, text=True, timeout=20, cwd=ROOT).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    pkgs = cmd("dpkg-query", "-W", "-f", "${Package}=${Version} ", "pacemaker", "corosync",
               "resource-agents", "mariadb-server")
    return {"git_head": cmd("git", "rev-parse", "--short", "HEAD"),
            "git_last_mariadb_commit": cmd("git", "log", "-1", "--format=%h %s", "--", "agents/mariadb"),
            "installed_mariadb_agent_mtime": time.strftime(
                "%F %T", time.localtime(os.path.getmtime("/usr/lib/ocf/resource.d/ferroha/mariadb")))
            if os.path.exists("/usr/lib/ocf/resource.d/ferroha/mariadb") else None,
            "packages": pkgs, "kernel": os.uname().release, "cpus": os.cpu_count(),
            "corosync_token_ms": int(os.environ.get("LAB_TOKEN", "1000"))}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_probe":
        return probe_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crashes", type=int, default=10, help="power-offs per stack (10)")
    ap.add_argument("--idle-seconds", type=float, default=60, help="idle window per stack (60)")
    ap.add_argument("--quiet", type=float, default=10, help="wait before the idle window (10 s)")
    ap.add_argument("--settle", type=float, default=5, help="pause after a node rejoined (5 s)")
    ap.add_argument("--failover-timeout", type=float, default=60)
    ap.add_argument("--rejoin-timeout", type=float, default=150)
    ap.add_argument("--start-timeout", type=float, default=180)
    ap.add_argument("--stacks", default=",".join(STACKS), help="ferroha,heartbeat (both, in order)")
    ap.add_argument("--subnet-ferroha", default="10.81.0")
    ap.add_argument("--subnet-heartbeat", default="10.82.0")
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "bench", "failover.json"))
    a = ap.parse_args()
    stacks = [s for s in a.stacks.split(",") if s]
    if any(s not in STACKS for s in stacks) or not stacks:
        ap.error(f"--stacks takes {','.join(STACKS)}")
    if os.geteuid() != 0:
        ap.error("run as root (it builds network namespaces and starts cluster daemons)")
    for tool in ("curl", "mariadb", "ping", "stdbuf"):
        if not shutil.which(tool):
            ap.error(f"{tool} is missing")

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)

    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    out = {"started": time.strftime("%F %T %Z"), "settings": {k: v for k, v in vars(a).items()},
           "versions": versions(), "stacks": {}}

    def save():
        summarize(out)
        with open(a.json + ".tmp", "w") as f:
            json.dump(out, f, indent=1)
        os.replace(a.json + ".tmp", a.json)

    tmp = tempfile.mkdtemp(prefix="ferroha-failover.", dir="/tmp")
    try:
        for stack in stacks:
            run_stack(stack, a, tmp, out, save)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        out["finished"] = time.strftime("%F %T %Z")
        save()
    report(out)
    log(f"raw figures: {a.json}")
    failed = any(s.get("error") for s in out["stacks"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
