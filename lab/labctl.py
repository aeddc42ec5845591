#!/usr/bin/env python3
"""Drive a lab (lab/ferroha-lab) from Python: the one wrapper that tests/lab, bench and lab/pdu use.

- `Lab`: run ferroha-lab, run a command on a node, the power and network state of a node, who holds
  the VIP, which MariaDB servers accept writes, the cluster's state as a node with quorum sees it.
  Its settings (name, subnet, directory, node names, VIP) come from `ferroha-lab env`, the one place
  they are defined.
- `parse_crm_mon`: the one reader of `crm_mon --output-as=xml`. Semantics, decided once:
  * clone instances are reported under their base name (`db:1` -> `db`), so anonymous and unique
    clones read alike;
  * an instance counts where it runs only when it is active and not failed; failed instances are
    listed in `failed` (by instance id) whether or not they still run somewhere;
  * a view without quorum (a minority's, or one with no DC) is not the cluster's: `Lab.state`
    skips it and asks the next node.
- `wait_until`: the one polling loop.

Command line (used by lab/ferroha-lab): `labctl.py online` exits 0 when a node sees a quorate
cluster with every node online; `labctl.py summary [--wait S]` says what runs where and how to use it.
"""
import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
LABTOOL = os.path.join(HERE, "ferroha-lab")
# The resource ids of crm-examples/ap-mode.crm, the stack the lab runs by default.
VIP, DB, API = "vip", "db", "api"


def wait_until(pred, timeout, every=0.5):
    """The first truthy value of pred() within `timeout` seconds (asked once more at the
    deadline), else None."""
    end = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() >= end:
            return None
        time.sleep(every)


def link_up(ip_link_output):
    """True when `ip -o link show DEV` reports the administrative UP flag (`<...,UP,...>`)."""
    if "<" not in ip_link_output:
        return False
    flags = ip_link_output.split("<", 1)[1].split(">", 1)[0].split(",")
    return "UP" in flags


def switch_port_up(bridge_ns, node):
    """The node's port on the lab's switch is up: the node is powered (not killed or fenced)."""
    r = subprocess.run(["ip", "-n", bridge_ns, "-o", "link", "show", f"p-{node}"],
                       capture_output=True, text=True, check=False, timeout=10)
    return r.returncode == 0 and link_up(r.stdout)


@dataclass
class Instance:
    id: str            # as crm_mon reports it: "db" or "db:1" for a clone instance
    base: str          # "db"
    role: str          # Started, Stopped, Promoted, Unpromoted
    nodes: list        # where it is active
    active: bool
    failed: bool
    managed: bool


@dataclass
class ClusterState:
    dc: str
    quorate: bool
    maintenance: bool                             # cluster-wide maintenance-mode
    nodes: dict = field(default_factory=dict)     # name -> {"online": bool, "standby": bool, ...}
    instances: list = field(default_factory=list)

    def running(self, base):
        """Sorted nodes where an active, not failed instance of `base` runs."""
        return sorted({n for i in self.instances if i.base == base and i.active and not i.failed
                       for n in i.nodes})

    def with_role(self, base, role):
        return sorted({n for i in self.instances if i.base == base and i.active and not i.failed
                       and i.role == role for n in i.nodes})

    @property
    def failed(self):
        return sorted({i.id for i in self.instances if i.failed})

    @property
    def online(self):
        return sorted(n for n, a in self.nodes.items() if a.get("online"))

    @property
    def promoted(self):
        p = self.with_role(DB, "Promoted")
        return p[0] if len(p) == 1 else None

    @property
    def unpromoted(self):
        return self.with_role(DB, "Unpromoted")

    def one(self, base):
        r = self.running(base)
        return r[0] if len(r) == 1 else None

    @property
    def vip(self):
        return self.one(VIP)

    @property
    def api(self):
        return self.one(API)

    def service_node(self):
        """The node where the ap-mode service runs whole (VIP, promoted MariaDB and the API
        together), else None."""
        v = self.vip
        return v if v and v == self.promoted == self.api else None


def _true(e, attr):
    return e.get(attr) == "true"


def parse_crm_mon(text):
    """A ClusterState from `crm_mon -1 --output-as=xml`, None when it is not that XML."""
    try:
        doc = ET.fromstring(text)
    except ET.ParseError:
        return None
    summary = doc.find("summary")
    if summary is None:
        return None
    dc = summary.find("current_dc")
    opts = summary.find("cluster_options")
    st = ClusterState(dc=dc.get("name") if dc is not None and _true(dc, "present") else None,
                      quorate=dc is not None and _true(dc, "with_quorum"),
                      maintenance=opts is not None and _true(opts, "maintenance-mode"))
    for n in doc.findall("./nodes/node"):
        st.nodes[n.get("name")] = {k: _true(n, k) for k in
                                   ("online", "standby", "maintenance", "pending", "unclean", "shutdown")}
    resources = doc.find("resources")
    for r in resources.iter("resource") if resources is not None else ():
        rid = r.get("id", "")
        st.instances.append(Instance(id=rid, base=rid.split(":")[0], role=r.get("role", ""),
                                     nodes=[x.get("name") for x in r.findall("node")],
                                     active=_true(r, "active"), failed=_true(r, "failed"),
                                     managed=_true(r, "managed")))
    return st


def _completed(args, rc, out="", err=""):
    return subprocess.CompletedProcess(args, rc, out, err)


class Lab:
    """One lab (namespaces fh<name>-*), driven through lab/ferroha-lab."""

    def __init__(self, name=None, subnet=None, tool=LABTOOL):
        env = dict(os.environ)
        if name:
            env["LAB"] = name
        if subnet:
            env["LAB_SUBNET"] = subnet
        out = subprocess.run([tool, "env"], env=env, capture_output=True, text=True, check=True,
                             timeout=30).stdout
        s = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        self.tool = tool
        self.name, self.subnet, self.root = s["LAB"], s["LAB_SUBNET"], s["LAB_ROOT"]
        self.nodes = s["LAB_NODES"].split()
        self.vip, self.client_ip, self.prefix = s["LAB_VIP"], s["LAB_CLIENT_IP"], s["LAB_NS_PREFIX"]
        self.env = dict(env, LAB=self.name, LAB_SUBNET=self.subnet)

    # -- ferroha-lab and commands on nodes

    def run(self, *args, check=True, timeout=120):
        """A ferroha-lab verb (kill, revive, stop, ...), its output captured."""
        return subprocess.run([self.tool, *args], env=self.env, capture_output=True, text=True,
                              check=check, timeout=timeout)

    def up(self, config=None, out=sys.stderr, timeout=900):
        """`ferroha-lab up`, its progress lines to `out`."""
        args = ["up"] + (["--config", config] if config else [])
        subprocess.run([self.tool, *args], env=self.env, stdout=out, stderr=out, timeout=timeout,
                       check=True)

    def down(self, out=sys.stderr):
        subprocess.run([self.tool, "down"], env=self.env, stdout=out, stderr=out, timeout=600,
                       check=False)

    def on(self, node, *cmd, timeout=60, stdin=None):
        """Run a command on a node (or "nc", the client); a timeout is returncode 124."""
        try:
            return subprocess.run([self.tool, "exec", node, *cmd], env=self.env, capture_output=True,
                                  text=True, check=False, timeout=timeout, input=stdin)
        except subprocess.TimeoutExpired:
            return _completed(cmd, 124, err=f"timed out after {timeout} s")

    def ns(self, node):
        return f"{self.prefix}-{node}"

    def node_ip(self, node):
        return f"{self.subnet}.{10 + int(node[1:])}"

    def secret(self, name):
        return f"{self.root}/secrets/{name}"

    def pid(self, node, path):
        """The pid in a file under the node's directory (e.g. run/mysqld/mysqld.pid), else None."""
        try:
            with open(f"{self.root}/{node}/{path}") as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def log_files(self, node):
        return [f"{self.root}/{node}/var/log/corosync/corosync.log",
                f"{self.root}/{node}/var/log/pacemaker/pacemaker.log"]

    # -- power and network

    def powered(self, node):
        """The node's switch port is up: it was not powered off (by a test or by fencing)."""
        return switch_port_up(self.ns("br"), node)

    def nic_up(self, node):
        r = subprocess.run(["ip", "-n", self.ns(node), "-o", "link", "show", "eth0"],
                           capture_output=True, text=True, check=False, timeout=10)
        return r.returncode == 0 and link_up(r.stdout)

    def on_network(self, node):
        """Cable in and NIC up: what the node holds is reachable by others."""
        return self.powered(node) and self.nic_up(node)

    def holds_vip(self, node):
        """The VIP is on the node's eth0 and the node is on the network (an address left on a
        powered-off or unplugged node is not held: nobody can reach it)."""
        r = subprocess.run(["ip", "-n", self.ns(node), "-o", "-4", "addr", "show", "dev", "eth0"],
                           capture_output=True, text=True, check=False, timeout=10)
        return f" {self.vip}/" in r.stdout and self.on_network(node)

    def vip_holders(self):
        return [n for n in self.nodes if self.holds_vip(n)]

    def writable(self, node):
        """True/False when the node's MariaDB answers (read_only off/on), None when it does not."""
        r = self.on(node, "mariadb", "--connect-timeout=1", "-Nse", "select @@global.read_only",
                    timeout=10)
        out = r.stdout.strip()
        return None if r.returncode != 0 or not out else out == "0"

    # -- the cluster

    def state(self, nodes=None):
        """The cluster as the first node (of `nodes`, default all) that answers with quorum sees
        it; None when none does."""
        for n in nodes or self.nodes:
            r = self.on(n, "crm_mon", "-1", "--output-as=xml", timeout=20)
            st = parse_crm_mon(r.stdout) if r.returncode == 0 else None
            if st and st.quorate:
                return st
        return None

    def crm(self, *args, nodes=None, timeout=120):
        """A cluster command (crm_resource, crm, pcs, ...) on the first node where it succeeds;
        the last result when it fails everywhere."""
        r = None
        for n in nodes or self.nodes:
            r = self.on(n, *args, timeout=timeout)
            if r.returncode == 0:
                return r
        return r

    def idle(self, nodes=None):
        """The DC (as a node of `nodes` with quorum sees it) reports S_IDLE: no transition and no
        join round in progress."""
        st = self.state(nodes)
        if not st or not st.dc:
            return False
        r = self.crm("crmadmin", "-S", st.dc, nodes=nodes, timeout=20)
        return "S_IDLE" in r.stdout + r.stderr

    def configured(self, rid):
        """The configuration has a resource with id `rid` (running or not)."""
        r = self.crm("cibadmin", "-Q", "-o", "resources", timeout=20)
        try:
            return r.returncode == 0 and any(e.get("id") == rid for e in ET.fromstring(r.stdout).iter())
        except ET.ParseError:
            return False

    def cleanup(self, nodes=None):
        """crm_resource --cleanup: what an operator does after a repair (with
        migration-threshold=1 a failure bars the node from the resource until cleared)."""
        return self.crm("crm_resource", "--cleanup", nodes=nodes).returncode == 0

    def api_ready(self):
        r = self.on("nc", "curl", "--noproxy", "*", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "--max-time", "2", f"http://{self.vip}:8080/ready", timeout=20)
        return r.stdout.strip() == "200"

    def settled(self, rejoined=None, nodes=None):
        """The state when the ap-mode stack is settled: the service whole on one node, two
        replicas (`rejoined` among them), nothing failed, /ready 200 through the VIP; else None."""
        st = self.state(nodes)
        if not st or not st.service_node() or len(st.unpromoted) != 2 or st.failed:
            return None
        if rejoined and rejoined not in st.unpromoted:
            return None
        return st if self.api_ready() else None


# ---------------------------------------------------------------------------------------------
# Command line


def summary(lab, wait):
    """What runs where and how to use it: printed after `ferroha-lab up` and by `status`."""
    st = wait_until(lab.settled, wait, every=1) if wait and lab.configured(DB) else None
    st = st or lab.state()
    rel = os.path.relpath(lab.tool)
    tool = rel if not rel.startswith("..") else lab.tool
    env = " ".join(x for x in (f"LAB={lab.name}" if lab.name != "lab" else "",
                               f"LAB_SUBNET={lab.subnet}" if lab.subnet != "10.77.0" else "") if x)
    p = print
    p(f"\nWhat you are looking at (lab '{lab.name}', {lab.subnet}.0/24, nodes "
      + ", ".join(f"{n} {lab.node_ip(n)}" for n in lab.nodes) + f", client nc {lab.client_ip}):")
    if not st:
        p("  no node answers with quorum yet: the cluster is still forming (or lost quorum)")
        return 1
    if not lab.configured(DB):
        p(f"  online: {' '.join(st.online)}; no ap-mode stack (vip/db/api) is configured")
        return 0
    prom = st.promoted
    p(f"  primary   {prom or 'none yet'} (MariaDB writable); replicas: {' '.join(st.unpromoted) or 'none'}")
    p(f"  VIP       {lab.vip} on {st.vip or 'no node'}; ferroha-api on {st.api or 'no node'}"
      + (", /ready 200 through the VIP" if st.service_node() and lab.api_ready() else ""))
    if st.failed:
        p(f"  failed    {' '.join(st.failed)} (crm_resource --cleanup once repaired)")
    if env:
        p(f"In this shell first: export {env}")
    victim = prom or lab.nodes[0]
    other = next(n for n in lab.nodes if n != victim)
    token = lab.secret("api.token")
    url = f"http://{lab.vip}:8080/v1/records"
    p("Write a record and read it back through the VIP (from the client namespace, with the lab's token):")
    p(f"  {tool} exec nc curl -s -H \"Authorization: Bearer $(cat {token})\" \\")
    p(f"      -H 'Content-Type: application/json' -d '{{\"name\":\"hello\",\"data\":{{}}}}' {url}")
    p(f"  {tool} exec nc curl -s {url}/1")
    p("Fail the primary's node and bring it back (the service moves in about 5 s, nothing moves back):")
    p(f"  {tool} kill {victim}; {tool} exec {other} crm_mon -1; {tool} revive {victim}")
    p(f"Operate it as a real cluster, from a node: {tool} exec {other} crm node standby {other}")
    p(f"  (crm node online, crm resource move db-clone {other}, crm resource clear db-clone, pcs, crm_mon;"
      f" docs/ha-guide.md)")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description="lab state for lab/ferroha-lab (LAB, LAB_SUBNET from the environment)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("online", help="exit 0 when a node sees a quorate cluster with every node online")
    s = sub.add_parser("summary", help="what runs where and how to use it")
    s.add_argument("--wait", type=float, default=0, help="seconds to wait for the stack to settle first")
    a = ap.parse_args(argv)
    lab = Lab()
    if a.cmd == "online":
        st = lab.state()
        return 0 if st and st.online == sorted(lab.nodes) else 1
    return summary(lab, a.wait)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
