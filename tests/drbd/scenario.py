#!/usr/bin/env python3
"""The DRBD 8.4 scenario for ocf:ferroha:volume, run by run.sh against two booted guests.

The agent binary (/mnt/host/volume, static) runs inside the guests; crm_attribute is a recorder
(/mnt/host/bin/crm_attribute -> /tmp/crm_attribute.log) so the promotion scores are asserted.
Prints one line per check and a final "drbd-volume: N passed, M failed"; exits 1 on any failure.
"""
import os
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guestctl import Guest, in_parallel, sh  # noqa: E402

RUN = sys.argv[1]
OUT = os.path.join(RUN, "share", "out")
AGENT = "/mnt/host/volume"
PATH = "/mnt/host/bin:/sbin:/usr/sbin:/bin:/usr/bin"
PARAMS = {
    "resource": "r0",
    "directory": "/srv/data",
    "fstype": "ext4",
    "options": "noatime",
    "wfc_timeout": "60",
}
passed = 0
failed = 0
T0 = time.time()


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL {name}", flush=True)
        for line in str(detail).rstrip().splitlines()[-25:]:
            print(f"     | {line}", flush=True)


def agent(g, action, interval=10000, timeout_ms=90000, **extra):
    env = {
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RA_VERSION_MAJOR": "1",
        "OCF_RESOURCE_INSTANCE": "vol",
        "OCF_RESKEY_CRM_meta_interval": str(interval),
        "OCF_RESKEY_CRM_meta_timeout": str(timeout_ms),
    }
    for k, v in {**PARAMS, **extra}.items():
        env[f"OCF_RESKEY_{k}"] = v
    cmd = f"env PATH={PATH} " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + f" {AGENT} {action}"
    rc, out = g.run(cmd, timeout=timeout_ms / 1000 + 30)
    return rc, out


def reason(out):
    lines = [x for x in out.splitlines() if x.startswith("ocf-exit-reason:")]
    return lines[-1][len("ocf-exit-reason:"):] if lines else ""


def scores(g):
    """Every crm_attribute call recorded so far: the last one is the attribute's current value
    (the agent runs crm_attribute only when the score changes, so the last action may not have
    called it at all)."""
    _, out = g.run("cat /tmp/crm_attribute.log 2>/dev/null")
    return [x for x in out.splitlines() if x.strip()]


def last_score(calls):
    """'10000', 'delete' or None from recorded crm_attribute argument lines."""
    for line in reversed(calls):
        if "--update" in line:
            return line.split("--update", 1)[1].split()[0]
        if "--delete" in line:
            return "delete"
    return None


def record(g, name):
    _, out = g.run("cat /proc/drbd")
    with open(os.path.join(OUT, f"proc_drbd_{name}.txt"), "w") as f:
        f.write(f"{out}")


def wait(g, cmd, want, limit, every=0.3):
    deadline = time.time() + limit
    last = ""
    while time.time() < deadline:
        _, last = g.run(cmd)
        if want in last:
            return True
        time.sleep(every)
    print(f"     | waited {limit}s for '{want}' from '{cmd}', last: {last.strip()}")
    return False


def both(fn):
    return in_parallel(fn, nodes)


try:
    n1 = Guest(os.path.join(RUN, "node1.ctl"), "node1", boot_timeout=300)
    n2 = Guest(os.path.join(RUN, "node2.ctl"), "node2", boot_timeout=300)
    nodes = [n1, n2]
    print(f"boot: both guest shells answer after {time.time() - T0:.1f} s", flush=True)
    check("guest runs DRBD 8.4", "version: 8.4" in sh(n1, "head -1 /proc/drbd"))
    check("static agent runs in the guest", "resource-agent name=\"volume\"" in sh(n1, f"{AGENT} meta-data"))
    check("guests reach each other", n1.run("ping -c 2 -W 5 10.99.0.2")[0] == 0)
    for g in nodes:
        sh(g, "drbdadm create-md --force r0 >/dev/null")

    # Probes and monitors while down: 7 on both.
    for g in nodes:
        rc, out = agent(g, "monitor", interval=0)
        check(f"{g.name}: probe before start -> 7", rc == 7, out)
        rc, out = agent(g, "monitor")
        check(f"{g.name}: monitor before start -> 7", rc == 7, out)
        scores(g)

    # start both (in parallel: each waits for its peer).
    t = time.time()
    res = both(lambda g: agent(g, "start"))
    for g, (rc, out) in zip(nodes, res):
        check(f"{g.name}: start -> 0", rc == 0, out)
    print(f"     start of both took {time.time() - t:.1f} s", flush=True)
    for g in nodes:
        check(f"{g.name}: connected after start", "Connected" in sh(g, "drbdadm cstate r0"))
        rc, out = agent(g, "monitor")
        check(f"{g.name}: monitor secondary -> 0", rc == 0, out)
        calls = scores(g)
        check(f"{g.name}: Inconsistent data -> score deleted", last_score(calls) == "delete", calls)
    record(n1, "inconsistent")

    # Promote is refused without UpToDate data.
    rc, out = agent(n1, "promote")
    check("node1: promote refused while Inconsistent -> 1", rc == 1, out)
    check("node1: refusal reason names the state",
          "no UpToDate data" in reason(out) and "Inconsistent" in reason(out), out)
    check("node1: still secondary after the refusal", sh(n1, "drbdadm role r0").startswith("Secondary"))

    # Provisioning (what an administrator does once): initial sync and mkfs, outside the agent.
    t = time.time()
    sh(n1, "drbdadm primary --force r0")
    check("initial sync completes", wait(n1, "drbdadm dstate r0", "UpToDate/UpToDate", 300, 0.5))
    print(f"     initial sync of 64 MiB took {time.time() - t:.1f} s", flush=True)
    sh(n1, "mkfs.ext4 -q -F /dev/drbd0 && drbdadm secondary r0")
    record(n1, "secondary_uptodate")

    for g in nodes:
        scores(g)
        rc, out = agent(g, "monitor")
        check(f"{g.name}: monitor UpToDate secondary -> 0", rc == 0, out)
        calls = scores(g)
        check(f"{g.name}: UpToDate, peer known -> score 10000", last_score(calls) == "10000", calls)
        check(f"{g.name}: score set with --promotion=vol --lifetime=reboot",
              any("--promotion=vol" in c and "--lifetime=reboot" in c for c in calls), calls)

    # Promote node1: primary, fsck, mount; write data.
    t = time.time()
    rc, out = agent(n1, "promote")
    check("node1: promote -> 0", rc == 0, out)
    print(f"     promote (primary + e2fsck + mount) took {time.time() - t:.1f} s", flush=True)
    rc, out = agent(n1, "monitor", interval=10000)
    check("node1: monitor primary and mounted -> 8", rc == 8, out)
    check("node1: /srv/data is the DRBD device", "/dev/drbd0 /srv/data ext4" in sh(n1, "cat /proc/mounts"))
    check("node1: mount options applied", "noatime" in sh(n1, "grep /srv/data /proc/mounts"))
    check("node1: score 10000 as primary", last_score(scores(n1)) == "10000")
    record(n1, "primary")
    record(n2, "secondary")
    md5 = sh(n1, "dd if=/dev/urandom of=/srv/data/blob bs=1M count=4 2>/dev/null && sync "
                 "&& md5sum /srv/data/blob").split()[0]
    rc, out = agent(n2, "promote")
    check("node2: promote refused while node1 is primary", rc != 0 and reason(out) != "", out)

    # Demote with a process holding the mount (killed) and an unrelated one (left alone).
    holder = sh(n1, "cd /srv/data && (sleep 1000 </dev/null >/dev/null 2>&1 & echo $!)").strip()
    bystander = sh(n1, "cd / && (sleep 1001 </dev/null >/dev/null 2>&1 & echo $!)").strip()
    holder2 = sh(n1, "(exec 3</srv/data/blob; sleep 1002 </dev/null >/dev/null 2>&1) & echo $!").strip()
    t = time.time()
    rc, out = agent(n1, "demote", kill_grace="2")
    check("node1: demote of a busy mount -> 0", rc == 0, out)
    print(f"     demote with busy mount took {time.time() - t:.1f} s", flush=True)
    check("node1: process with cwd in the mount was killed", n1.run(f"kill -0 {holder}")[0] != 0)
    check("node1: process with an open file in the mount was killed", n1.run(f"kill -0 {holder2}")[0] != 0)
    check("node1: unrelated process left alone", n1.run(f"kill -0 {bystander}")[0] == 0)
    n1.run(f"kill {bystander}")
    check("node1: unmounted after demote", "/srv/data" not in sh(n1, "cat /proc/mounts"))
    rc, out = agent(n1, "monitor")
    check("node1: monitor after demote -> 0", rc == 0, out)

    # Promote node2 and read the data back.
    scores(n2)
    rc, out = agent(n2, "promote")
    check("node2: promote -> 0", rc == 0, out)
    rc, out = agent(n2, "monitor")
    check("node2: monitor -> 8", rc == 8, out)
    got = sh(n2, "md5sum /srv/data/blob").split()[0]
    check("node2: reads the data written on node1", got == md5, f"{got} != {md5}")
    check("node2: score 10000 as primary", last_score(scores(n2)) == "10000")
    rc, out = agent(n1, "monitor")
    check("node1: monitor secondary -> 0", rc == 0, out)

    # Primary without its mount: monitor reports a failed promoted instance (9) with a reason.
    sh(n2, "umount /srv/data")
    rc, out = agent(n2, "monitor")
    check("node2: primary but not mounted -> 9", rc == 9 and "not mounted" in reason(out), out)
    rc, out = agent(n2, "demote")
    check("node2: demote -> 0", rc == 0, out)

    # Outdated side: node1 disconnects and is outdated; promote is refused, score removed.
    sh(n1, "drbdadm disconnect r0 && drbdadm outdate r0")
    record(n1, "outdated_standalone")
    scores(n1)
    rc, out = agent(n1, "monitor")
    check("node1: monitor Outdated StandAlone secondary -> 0", rc == 0, out)
    check("node1: StandAlone reported with a reason", "StandAlone" in out and "never discards data" in out, out)
    check("node1: Outdated -> score deleted", last_score(scores(n1)) == "delete")
    rc, out = agent(n1, "promote")
    check("node1: promote refused while Outdated -> 1", rc == 1 and "Outdated" in reason(out), out)
    check("node1: still secondary", sh(n1, "drbdadm role r0").startswith("Secondary"))
    rc, out = agent(n2, "monitor")
    check("node2: peer unknown -> monitor 0", rc == 0, out)
    check("node2: UpToDate, peer unknown -> score 1000", last_score(scores(n2)) == "1000")
    sh(n1, "drbdadm connect r0")
    check("node1 resyncs after reconnect", wait(n1, "drbdadm dstate r0", "UpToDate/UpToDate", 120, 0.5))

    # fsck that cannot repair (exit >= 4) fails the promote with a reason; the data is re-made.
    sh(n1, "drbdadm primary r0 && dd if=/dev/zero of=/dev/drbd0 bs=1k seek=1 count=4 oflag=direct 2>/dev/null "
           "&& drbdadm secondary r0")
    rc, out = agent(n1, "promote")
    check("node1: promote with a broken filesystem -> 1 (e2fsck exit >= 4)",
          rc == 1 and "e2fsck" in reason(out) and "could not repair" in reason(out), out)
    check("node1: nothing mounted after the failed fsck", "/srv/data" not in sh(n1, "cat /proc/mounts"))
    rc, out = agent(n1, "demote")
    check("node1: demote after the failed promote -> 0", rc == 0, out)
    sh(n1, "drbdadm primary r0 && mkfs.ext4 -q -F /dev/drbd0 && drbdadm secondary r0")

    # stop both: down; monitor 7; score deleted; stop again is 0.
    for g in nodes:
        scores(g)
        rc, out = agent(g, "stop")
        check(f"{g.name}: stop -> 0", rc == 0, out)
        check(f"{g.name}: stop deletes the score", last_score(scores(g)) == "delete")
        rc, out = agent(g, "monitor")
        check(f"{g.name}: monitor after stop -> 7", rc == 7, out)
        rc, out = agent(g, "stop")
        check(f"{g.name}: second stop -> 0", rc == 0, out)
    record(n1, "down")

    # Bad input inside the guest: 6 with a reason naming the parameter; never a panic.
    rc, out = agent(n1, "start", resource="r0;x")
    check("bad resource name -> 6 naming 'resource'", rc == 6 and "'resource'" in reason(out), out)
    rc, out = agent(n1, "promote", run_fsck="maybe")
    check("bad run_fsck -> 6 naming 'run_fsck'", rc == 6 and "run_fsck" in reason(out), out)
    rc, out = agent(n1, "start", resource="nosuch")
    check("unknown DRBD resource -> start fails with a reason", rc not in (0, 7) and "nosuch" in reason(out), out)

    # ocf-tester and ferroha-check on node1, with node2 up as an UpToDate secondary peer.
    both(lambda g: agent(g, "start"))
    opts = " ".join(f"-o {k}={v}" for k, v in PARAMS.items())
    t = time.time()
    rc, out = n1.run(f"env PATH={PATH} ocf-tester -n vol {opts} {AGENT}", timeout=600)
    check("ocf-tester passes inside node1", rc == 0 and "passed all tests" in out, out)
    print(f"     ocf-tester took {time.time() - t:.1f} s", flush=True)
    t = time.time()
    rc, out = n1.run(
        f"env PATH={PATH} ferroha-check -n vol {opts} --env PATH={PATH} {AGENT}", timeout=900)
    check("ferroha-check passes inside node1", rc == 0, out)
    summary = [x for x in out.splitlines() if " passed, " in x]
    print(f"     ferroha-check: {summary[-1] if summary else '?'} in {time.time() - t:.1f} s", flush=True)
    both(lambda g: agent(g, "stop"))
except Exception as e:  # a broken guest or harness: one failure with the cause
    check(f"scenario ran to the end ({type(e).__name__})", False, e)

print(f"drbd-volume: {passed} passed, {failed} failed ({time.time() - T0:.0f} s)", flush=True)
sys.exit(1 if failed else 0)
