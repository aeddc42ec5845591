#!/usr/bin/env python3
"""End-to-end failure matrix of the seed's ap-mode stack in the lab (issue 7).

Runs against a lab brought up with crm-examples/ap-mode.crm (LAB=<name>), as root. A probe in the
client namespace (tests/lab/probe.py) calls the API through the VIP every 0.1 s for the whole run:
TCP connect, GET /ready, POST /v1/records; acknowledged inserts are recorded. For each scenario:
the event, then the service must come back (VIP answers, /ready 200, a write acknowledged) — on
another node where the scenario says so — and when the failed part returns nothing moves back.
While events run, a sampler checks every 0.2 s that no two nodes hold the VIP and no two MariaDB
servers accept writes. At the end every acknowledged insert must be on every node.

The lab fences through its power switch (lab/pdu, stonith:fence_ferroha_lab, stonith-action=off):
where the majority must fence the failed node (2 nic down, 3 corosync killed, 6 partition) the
test checks that it did, then powers the node on again, as an operator would after the repair.

Prints one line per scenario and the closing line 'lab-e2e: N passed, M failed'. Timings go to
--json (event -> VIP answers, -> API ready, -> first write).
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LABTOOL = os.path.join(ROOT, "lab", "ferroha-lab")
NODES = ["n1", "n2", "n3"]


class Lab:
    def __init__(self, name, subnet):
        self.name, self.subnet = name, subnet
        self.vip = f"{subnet}.100"
        self.env = dict(os.environ, LAB=name, LAB_SUBNET=subnet)
        self.root = f"/tmp/ferroha-lab/{name}"

    def run(self, *args, check=True, timeout=120):
        return subprocess.run([LABTOOL, *args], env=self.env, capture_output=True, text=True,
                              check=check, timeout=timeout)

    def ns(self, node):
        return f"fh{self.name}-{node}"

    def powered(self, node):
        """The node's switch port is up: it was not powered off (by the test or by fencing)."""
        port = subprocess.run(["ip", "-n", self.ns("br"), "-o", "link", "show", f"p-{node}"],
                              capture_output=True, text=True, check=False).stdout
        return ",UP," in port.replace("<", ",").replace(">", ",")

    def on_network(self, node):
        """The node's cable is in and its NIC up: what it holds is reachable by others."""
        port = subprocess.run(["ip", "-n", self.ns("br"), "-o", "link", "show", f"p-{node}"],
                              capture_output=True, text=True, check=False).stdout
        nic = subprocess.run(["ip", "-n", self.ns(node), "-o", "link", "show", "eth0"],
                             capture_output=True, text=True, check=False).stdout
        return ",UP," in port.replace("<", ",").replace(">", ",") and "state UP" in nic

    def holds_vip(self, node):
        """The VIP is configured on the node's eth0 and the node is on the network (an address
        left on a powered-off or unplugged node is not held: nobody can reach it)."""
        r = subprocess.run(["ip", "-n", self.ns(node), "-o", "-4", "addr", "show", "dev", "eth0"],
                           capture_output=True, text=True, check=False)
        return f" {self.vip}/" in r.stdout and self.on_network(node)

    def vip_holders(self):
        return [n for n in NODES if self.holds_vip(n)]

    def writable_db(self, node):
        """True/False when the node's server answers, None when it does not."""
        r = subprocess.run([LABTOOL, "exec", node, "mariadb", "--connect-timeout=1", "-Nse",
                            "select @@global.read_only"], env=self.env, capture_output=True,
                           text=True, check=False, timeout=10)
        out = r.stdout.strip()
        return None if r.returncode != 0 or not out else out == "0"

    def pid(self, node, path):
        try:
            return int(open(f"{self.root}/{node}/{path}").read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def crm_state(self):
        """(vip node, promoted node, api node, unpromoted nodes) from any node that answers."""
        for n in NODES:
            r = subprocess.run([LABTOOL, "exec", n, "crm_mon", "-1", "--output-as=xml"],
                               env=self.env, capture_output=True, text=True, check=False, timeout=20)
            if r.returncode != 0 or "<resources>" not in r.stdout:
                continue
            doc = ET.fromstring(r.stdout)
            dc = doc.find("./summary/current_dc")
            if dc is None or dc.get("with_quorum") != "true":
                continue  # a minority's view of the cluster is not the cluster's
            vip = api = prom = None
            unprom = []
            for res in doc.iter("resource"):
                nodes = [x.get("name") for x in res.findall("node")]
                if not nodes or res.get("active") != "true" or res.get("failed") == "true":
                    continue
                rid = res.get("id")
                if rid == "vip":
                    vip = nodes[0]
                elif rid == "api":
                    api = nodes[0]
                elif rid.startswith("db"):
                    if res.get("role") == "Promoted":
                        prom = nodes[0]
                    elif res.get("role") == "Unpromoted":
                        unprom.append(nodes[0])
            return vip, prom, api, sorted(unprom)
        return None, None, None, []


class Probe:
    def __init__(self, lab, workdir, seconds):
        self.samples = os.path.join(workdir, "probe.jsonl")
        self.acked = os.path.join(workdir, "acked.txt")
        token = f"{lab.root}/secrets/api.token"
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("nc"), sys.executable, os.path.join(HERE, "probe.py"),
             "--vip", lab.vip, "--token-file", token, "--acked", self.acked,
             "--seconds", str(seconds), "--every", "0.1"],
            stdout=open(self.samples, "w"), stderr=subprocess.DEVNULL)

    def since(self, t0):
        out = []
        with open(self.samples) as f:
            for line in f:
                try:
                    s = json.loads(line)
                except ValueError:
                    continue
                if s["t"] >= t0:
                    out.append(s)
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Sampler(threading.Thread):
    """No two VIP holders, no two writable servers, at any sampled instant."""

    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab, self.violations, self.running = lab, [], True

    def run(self):
        while self.running:
            holders = self.lab.vip_holders()
            if len(holders) > 1:
                self.violations.append((time.time(), "VIP on " + " ".join(holders)))
            writable = [n for n in NODES if self.lab.writable_db(n)]
            if len(writable) > 1:
                self.violations.append((time.time(), "writable on " + " ".join(writable)))
            time.sleep(0.2)


def wait_service(probe, t0, timeout, after=None):
    """Seconds from t0 until the service is back: VIP answering, /ready 200 and a first
    acknowledged write after the outage the event caused (the gap method of
    netns-cluster-lab.md: a node that keeps serving for a moment after the event does not count
    as restored). None when it does not come back within `timeout`."""
    end = time.time() + timeout
    while time.time() < end:
        s = probe.since(after or t0)
        gap = next((i for i, x in enumerate(s) if x["write"] is None), None)
        if gap is not None:
            back = s[gap:]
            tcp = next((x["t"] for x in back if x["tcp"]), None)
            ready = next((x["t"] for x in back if x["ready"] == 200), None)
            write = next((x["t"] for x in back if x["write"] is not None), None)
            if write is not None and ready is not None:
                return {k: round(v - t0, 2) for k, v in (("vip", tcp), ("ready", ready), ("write", write))}
        elif len(s) > 100:  # served throughout 10 s after the event: no outage at all
            return {"vip": 0.0, "ready": 0.0, "write": 0.0}
        time.sleep(0.2)
    return None


def wait_until(pred, timeout, every=0.5):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", default=os.environ.get("LAB", "e2e"))
    ap.add_argument("--subnet", default=os.environ.get("LAB_SUBNET", "10.77.0"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--failovers", type=int, default=10)
    a = ap.parse_args()
    lab = Lab(a.lab, a.subnet)
    results, timings = [], {}
    probe = Probe(lab, a.workdir, 3000)
    sampler = Sampler(lab)
    sampler.start()

    def check(name, ok, detail=""):
        results.append((name, ok))
        print(f"{'PASS' if ok else 'FAIL'}  {name}  {detail}", flush=True)
        return ok

    def active():
        vip, prom, api, _ = lab.crm_state()
        return vip if vip and vip == prom == api else None

    def settled(exclude=None):
        def ok():
            vip, prom, api, unprom = lab.crm_state()
            if vip and vip == prom == api and vip != exclude:
                return vip
            return None
        return wait_until(ok, 120)

    def rejoined(node, keep_active):
        def ok():
            vip, prom, api, unprom = lab.crm_state()
            return node in unprom and vip == keep_active
        return wait_until(ok, 120)

    def failover(name, event, restore, other_node=True, fenced=False):
        before = settled()
        if not before:
            return check(name, False, "service not running before the event")
        t0 = time.time()
        event(before)
        t = wait_service(probe, t0, 120, after=time.time())
        after = settled(exclude=before if other_node else None)
        timings[name] = t
        ok = t is not None and after is not None
        check(f"{name}: service restored" + (" on another node" if other_node else ""), ok,
              f"{before} -> {after}, {t}")
        if fenced:
            # The cluster, not the test, powered the node off through the lab's power switch.
            off = wait_until(lambda: not lab.powered(before), 30, every=0.2)
            check(f"{name}: the majority fenced {before} (powered off)", bool(off))
        if restore is not None:
            restore(before)
            # The operator's part after a repair: clear the failures the event left, or
            # migration-threshold=1 keeps the repaired node barred from the resources that failed
            # there (until failure-timeout) and the next failover has nowhere to go.
            for n in NODES:
                if lab.run("exec", n, "crm_resource", "--cleanup", check=False).returncode == 0:
                    break
            back = rejoined(before, after) if after != before else wait_until(lambda: active(), 60)
            time.sleep(5)
            still = active()
            check(f"{name}: {before} rejoined as replica, nothing moved back",
                  bool(back) and still == after, f"active now {still}")
        return ok

    if not settled():
        print("lab-e2e: service never came up", flush=True)
        print("lab-e2e: 0 passed, 1 failed")
        return 1
    wait_service(probe, time.time(), 60)

    def revive(n):
        lab.run("revive", n)

    failover("1 power off the active node", lambda n: lab.run("kill", n), revive)
    # Cut off, the node loses quorum and the majority fences it: back online means powered on.
    failover("2 nic down on the active node", lambda n: lab.run("nic-down", n),
             lambda n: (lab.run("nic-up", n), revive(n)), fenced=True)
    # Its resources keep running without the stack: only fencing stops a second primary.
    failover("3 cluster stack (corosync) killed on the active node",
             lambda n: lab.run("crash-stack", n), revive, fenced=True)

    def kill_pid(node, path):
        pid = lab.pid(node, path)
        if pid:
            os.kill(pid, 9)

    failover("4 ferroha-api killed", lambda n: kill_pid(n, "run/ferroha/api.pid"), lambda n: None)
    failover("5 mariadbd killed", lambda n: kill_pid(n, "run/mysqld/mysqld.pid"), lambda n: None)
    # The client still reaches the cut-off node: its writes must not be acknowledged and lost.
    failover("6 active node partitioned from the other two", lambda n: lab.run("partition", n),
             lambda n: (lab.run("heal", n), revive(n)), fenced=True)
    for i in range(a.failovers):
        failover(f"7.{i + 1} repeated power off", lambda n: lab.run("kill", n), revive)

    sampler.running = False
    sampler.join(timeout=5)
    check("never two reachable VIP holders nor two writable servers", not sampler.violations,
          "; ".join(v for _, v in sampler.violations[:5]))
    probe.stop()

    acked = [l.split()[0] for l in open(probe.acked) if l.strip()]
    time.sleep(3)
    _, prom, _, unprom = lab.crm_state()
    serving = sorted({prom, *unprom} - {None})
    if serving != NODES:
        print(f"INFO  7: checking the running servers {serving}; the others are not replicas now",
              flush=True)
    check("7 the primary and at least one replica run at the end", len(serving) >= 2, str(serving))
    missing = {}
    for n in serving:
        r = subprocess.run([LABTOOL, "exec", n, "mariadb", "-Nse", "select id from ferroha.records"],
                           env=lab.env, capture_output=True, text=True, check=False, timeout=30)
        have = set(r.stdout.split())
        missing[n] = [x for x in acked if x not in have]
    check("7 every acknowledged insert is on the primary and every replica",
          all(not m for m in missing.values()) and len(acked) > 0,
          f"{len(acked)} acknowledged; missing: " + ", ".join(f"{n}={len(m)}" for n, m in missing.items()))

    json.dump({"timings": timings, "acked": len(acked)}, open(a.json, "w"), indent=1)
    passed = sum(1 for _, ok in results if ok)
    print(f"lab-e2e: {passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
