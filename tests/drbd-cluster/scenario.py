#!/usr/bin/env python3
"""The scenarios of the DRBD cluster (issue 12), against a lab that run.sh brought up:
1 power off the primary, 3 replication link cut, 4 split brain, 2 planned switchover.
A client writes through the VIP (API and SQL) during each and every acknowledged write is read
back. One line per check, then "drbd-cluster: N passed, M failed"; exit 1 on any failure.
Usage: scenario.py [SCENARIO...]   (default: 1 3 4 2; DRBD_LAB names the lab)
"""
import calendar
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import Writer  # noqa: E402
from drbdlab import NODES, Lab  # noqa: E402
from guestctl import GuestError  # noqa: E402

lab = Lab()
passed = 0
failed = 0
T0 = time.time()
FENCE_CONSTRAINT = "drbd-fence-by-handler-r0-vol-clone"


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    tail = f"  -- {detail}" if detail else ""
    print(f"{'ok  ' if ok else 'FAIL'} [{time.time() - T0:6.1f}s] {name}{tail}", flush=True)
    return ok


def other(n):
    return NODES[1] if n == NODES[0] else NODES[0]


def wait(pred, timeout, what):
    """pred() until true; False (with a FAIL line) when timeout passes."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return True
        except (GuestError, OSError, TimeoutError):
            pass
        time.sleep(1)
    check(f"wait: {what}", False, f"not within {timeout} s")
    return False


def view(n):
    try:
        return lab.view(n)
    except GuestError:
        lab.forget(n)
        return None


def proc_drbd(n):
    return lab.drbd(n)


def constraint_present(n):
    rc, out = lab.run_in(n, "cibadmin -Q -o constraints", 30)
    return rc == 0 and FENCE_CONSTRAINT in out


def settled(n):
    rc, _ = lab.run_in(n, "crm_resource --wait --timeout=240", 260)
    return rc == 0


def healthy(primary):
    """Both nodes online, the stack on `primary`, DRBD connected and in sync."""
    v = view(primary)
    return (v and sorted(v["online"]) == list(NODES) and v["promoted"] == primary
            and v["db"] == primary and v["vip"] == primary and v["api"] == primary
            and "cs:Connected" in proc_drbd(primary) and "ds:UpToDate/UpToDate" in proc_drbd(primary))


def current_primary():
    for n in NODES:
        if lab.qemu_pid(n):
            v = view(n)
            if v and v["promoted"]:
                return v["promoted"]
    return None


def start_writer(tag):
    w = Writer(lab, tag)
    w.start()
    t = time.time()
    wait(lambda: w.acked_after(t), 120, f"{tag}: first writes acknowledged")
    return w


def finish_writer(w, label):
    w.stop()
    try:
        miss_api, miss_sql = w.check()
    except RuntimeError as e:
        check(f"{label}: every acknowledged write present", False, str(e))
        return
    check(f"{label}: every acknowledged write present (DRBD protocol C)", not miss_api and not miss_sql,
          f"{len(w.acked_api)} API + {len(w.acked_sql)} SQL acknowledged;"
          f" missing API {miss_api[:5]} SQL {miss_sql[:5]}")


def fences(n):
    """How many times the power switch has powered n off."""
    return open(os.path.join(lab.dir, "pdu.log")).read().count(f"'off {n}' -> ok")


def grep_log(n, pattern, path="/var/log/pacemaker/pacemaker.log"):
    rc, out = lab.run_in(n, f"grep -E {pattern!r} {path} | tail -3", 30)
    return out.strip() if rc == 0 else ""


PHASES = (
    ("detection: peer lost", r"state is now lost|Node .* is now lost|peer .* lost"),
    ("fencing done", r"Operation 'off' .*targeting"),
    ("volume promoted", r"Result of promote operation for vol"),
    ("fsck", r"e2fsck -p"),
    ("MariaDB started (after crash recovery)", r"Result of start operation for db "),
    ("VIP started", r"Result of start operation for db-ip"),
    ("API started", r"Result of start operation for api"),
)


def phases(n, t_off):
    """The failover's phases from node n's pacemaker log (guest clock, whose RTC came from the
    host at boot), as seconds after the power-off; printed, not asserted."""
    rc, out = lab.run_in(n, "grep -E \"" + "|".join(p for _, p in PHASES) + "\" /var/log/pacemaker/pacemaker.log",
                         60)
    year = time.gmtime(t_off).tm_year
    res = []
    for name, pat in PHASES:
        for line in out.splitlines():
            if re.search(pat, line):
                try:
                    if line[:4].isdigit():   # an agent's own line: 2026-12-02T15:11:35.710Z
                        t = calendar.timegm(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + line[19:23])
                    else:                    # pacemaker's: Dec 02 15:11:35.710
                        t = calendar.timegm(time.strptime(f"{year} {line[:15]}", "%Y %b %d %H:%M:%S"))
                        t += float("0" + line[15:19])
                except ValueError:
                    continue
                if t >= t_off - 2:
                    res.append((name, t - t_off))
                    break
    print("   phases (from the log, s after power-off): " + "; ".join(f"{k} +{v:.1f}" for k, v in res), flush=True)
    return res


def begin(n, title):
    """Scenario `n`'s prologue: its heading, the primary p, the other node s, a writer started;
    None (with a failed check) when there is no promoted node to start from."""
    print(f"== {n}: {title}", flush=True)
    p = current_primary()
    if not check(f"{n}: a promoted node to start from", p is not None):
        return None
    return p, other(p), start_writer(f"s{n}")


def scenario1():
    start = begin("1", "power off the primary")
    if not start:
        return
    p, s, w = start
    fenced0 = fences(p)
    t_off = time.time()
    lab.power_off(p)
    print(f"   powered off {p} (qemu killed)", flush=True)
    if wait(lambda: w.acked_after(t_off), 400, "1: writes acknowledged again after the power-off"):
        t_ack = w.first_ack_after(t_off)
        t_sql = min(a for a, _ in w.acked_sql if a > t_off)
        t_api = min(a for a, _ in w.acked_api if a > t_off)
        check("1: writes acknowledged again through the VIP", True,
              f"failover (power-off -> first acknowledged write) {t_ack - t_off:.1f} s"
              f" (SQL +{t_sql - t_off:.1f} s, API +{t_api - t_off:.1f} s)")
        phases(s, t_off)
    v = view(s)
    check(f"1: {s} runs the stack (volume promoted, db, vip, api)",
          v and v["promoted"] == s and v["db"] == s and v["vip"] == s and v["api"] == s, str(v))
    check(f"1: {p} was fenced through the power switch by {s}", fences(p) > fenced0)
    check(f"1: {s} is DRBD Primary", "ro:Primary/" in proc_drbd(s), proc_drbd(s))
    fsck = grep_log(s, "e2fsck -p|e2fsck repaired")
    check(f"1: the promote on {s} ran fsck before mounting", bool(fsck), fsck[-200:])
    rc, out = lab.run_in(s, "grep -E 'crash recovery|Starting crash' /srv/data/mysql/error.log | tail -2", 30)
    check(f"1: MariaDB on {s} ran InnoDB crash recovery on the replicated datadir", rc == 0 and out.strip(),
          out.strip()[-200:])
    lab.power_on(p)
    print(f"   powered {p} on again", flush=True)
    ok = wait(lambda: (v := view(s)) and p in v["online"] and p in v["unpromoted"]
              and "ds:UpToDate/UpToDate" in proc_drbd(p), 400, f"1: {p} back, Unpromoted, resynced")
    if ok:
        check(f"1: {p} returned as Secondary and resynced", "ro:Secondary/Primary" in proc_drbd(p), proc_drbd(p))
    settled(s)
    v = view(s)
    check("1: nothing moved back", v and v["promoted"] == s and v["api"] == s, str(v))
    check("1: the fence-peer constraint is gone after the resync", not constraint_present(s))
    finish_writer(w, "1")


def scenario3():
    start = begin("3", "replication link cut (DRBD only; corosync stays up)")
    if not start:
        return
    p, s, w = start
    lab.monitor(s, "set_link n0 off")
    t_cut = time.time()
    print(f"   cut {s}'s DRBD cable", flush=True)
    wait(lambda: constraint_present(p), 120, "3: crm-fence-peer.sh's constraint in the CIB")
    check(f"3: {p}'s fence-peer handler banned {s} from promotion ({FENCE_CONSTRAINT})", constraint_present(p))
    check(f"3: {p} sees {s}'s disk as Outdated", wait(lambda: "/Outdated" in proc_drbd(p), 60, "pdsk Outdated"),
          proc_drbd(p))
    t_c = time.time()
    check(f"3: {p} keeps serving: writes acknowledged after the cut",
          wait(lambda: w.acked_after(t_c), 120, "3: writes after the cut"),
          f"cut at +0, constraint at +{t_c - t_cut:.1f} s")
    v = view(p)
    check(f"3: both nodes still in the cluster, {p} promoted", v and sorted(v["online"]) == list(NODES)
          and v["promoted"] == p, str(v))
    rc, score = lab.run_in(s, "crm_attribute --promotion=vol --lifetime=reboot --query --quiet 2>&1", 30)
    print(f"   {s}: DRBD {proc_drbd(s)}; its promotion score {score.strip()!r} (8.4 cannot tell it is Outdated:"
          f" the constraint is what bans it)", flush=True)
    fenced0 = fences(p)
    lab.power_off(p)
    print(f"   powered off {p} with the link still cut", flush=True)
    wait(lambda: fences(p) > fenced0 and (v := view(s)) and p not in v["online"], 300, f"3: {p} fenced")
    settled(s)
    v = view(s)
    check(f"3: {s} (disconnected, Outdated by its peer) is NOT promoted: the service stays down",
          v and v["promoted"] is None and v["db"] is None, str(v))
    rc, out = lab.run_in(s, "crm_resource --constraints -r vol-clone 2>&1; cibadmin -Q -o constraints"
                         f" | grep -A3 {FENCE_CONSTRAINT}", 30)
    check("3: the reason is visible: the fence-peer location constraint", FENCE_CONSTRAINT in out, out.strip()[:300])
    t_down = time.time()
    lab.power_on(p)
    print(f"   powered {p} on again (link still cut)", flush=True)
    wait(lambda: (v := view(p)) and v["promoted"] == p and v["api"] == p, 400, f"3: {p} promoted again")
    check(f"3: the stack recovers on {p} (it has the newest data)", (v := view(p)) and v["api"] == p, str(v))
    lab.monitor(s, "set_link n0 on")
    print(f"   repaired {s}'s DRBD cable", flush=True)
    wait(lambda: healthy(p), 400, "3: connected and in sync again")
    check("3: after repair: connected, UpToDate on both", "ds:UpToDate/UpToDate" in proc_drbd(p), proc_drbd(p))
    check("3: the constraint is removed after the resync", wait(lambda: not constraint_present(p), 120, "unfence"))
    check("3: writes acknowledged again after the outage", wait(lambda: w.acked_after(t_down), 120, "writes"))
    finish_writer(w, "3")


def scenario4():
    start = begin("4", "split brain (both Primary while disconnected)")
    if not start:
        return
    p, s, w = start
    lab.sh(p, "crm_attribute --type crm_config --name maintenance-mode --update true")
    lab.monitor(s, "set_link n0 off")
    print(f"   maintenance mode, cut {s}'s cable; {s} made Primary by hand and written to", flush=True)
    wait(lambda: "cs:WFConnection" in proc_drbd(s), 120, "4: disconnected")
    # As the seed's notes describe: the second node forced to Primary while cut off, then written.
    # The fence-peer handler would refuse (the peer is the cluster's promoted node), so the
    # administrator overrides DRBD's fencing on that node for the forced promote.
    rc, out = lab.run_in(s, "drbdadm primary --force r0", 120)
    if rc != 0:
        print(f"   {s}: primary --force refused ({out.strip()[-120:]}); overriding fencing", flush=True)
        lab.sh(s, "drbdadm disk-options --fencing=dont-care r0 && drbdadm primary --force r0", 120)
    lab.sh(s, "mkdir -p /mnt/sb && mount /dev/drbd0 /mnt/sb && echo diverged > /mnt/sb/split-brain-victim"
           " && umount /mnt/sb && drbdadm secondary r0 && drbdadm adjust r0", 120)
    t = time.time()
    wait(lambda: w.acked_after(t), 120, f"4: writes on {p} while disconnected")
    lab.monitor(s, "set_link n0 on")
    print("   reconnected the cable", flush=True)
    wait(lambda: "StandAlone" in proc_drbd(s) or "StandAlone" in proc_drbd(p), 120, "4: split brain detected")
    rc, kern = lab.run_in(p, "dmesg | grep -i 'split-brain detected' | tail -2", 30)
    rc2, kern2 = lab.run_in(s, "dmesg | grep -i 'split-brain detected' | tail -2", 30)
    check("4: DRBD detected the split brain and dropped the connection",
          "split-brain detected" in (kern + kern2).lower(), (kern + kern2).strip()[:300])
    lab.sh(p, "crm_attribute --type crm_config --name maintenance-mode --delete")
    ok = wait(lambda: grep_log(p, "StandAlone") or grep_log(s, "StandAlone"), 120, "4: the agent's monitor reports it")
    if ok:
        line = grep_log(p, "StandAlone") or grep_log(s, "StandAlone")
        check("4: reported with a reason by ocf:ferroha:volume's monitor", "resolve it by hand" in line, line[-300:])
    settled(p)
    check("4: never resolved by the agent: still StandAlone after its monitors",
          "StandAlone" in proc_drbd(p) + proc_drbd(s), f"{p}: {proc_drbd(p)}; {s}: {proc_drbd(s)}")
    v = view(p)
    check(f"4: the service stays on {p}", v and v["promoted"] == p and v["api"] == p, str(v))
    # The documented manual resolution (docs/agents/volume.md): the victim discards its changes.
    lab.sh(s, "drbdadm secondary r0; drbdadm connect --discard-my-data r0", 60)
    lab.sh(p, "drbdadm connect r0 || true", 60)
    print(f"   resolved by hand: {s} discards its data", flush=True)
    wait(lambda: healthy(p), 400, "4: connected and in sync again")
    check("4: after --discard-my-data on the victim: Connected, UpToDate/UpToDate",
          "ds:UpToDate/UpToDate" in proc_drbd(p), proc_drbd(p))
    check("4: the fence-peer constraint is removed after the resync",
          wait(lambda: not constraint_present(p), 120, "unfence"))
    finish_writer(w, "4")


def scenario2():
    start = begin("2", "planned switchover (move the promoted role, then clear)")
    if not start:
        return
    p, s, w = start
    t = time.time()
    lab.sh(p, f"crm_resource --move -r vol-clone --promoted --node {s}", 60)
    wait(lambda: (v := view(s)) and v["promoted"] == s and v["api"] == s, 300, f"2: the stack on {s}")
    wait(lambda: w.acked_after(time.time() - 0.5), 120, "2: writes after the switchover")
    acks = sorted(a for a, _ in w.acked_api + w.acked_sql)
    gaps = [b - a for a, b in zip(acks, acks[1:]) if a >= t - 1]
    check(f"2: the stack moved to {s}", (v := view(s)) and v["promoted"] == s and v["api"] == s, str(v))
    check("2: writes acknowledged after the switchover", w.acked_after(t),
          f"downtime (longest gap between acknowledged writes) {max(gaps) if gaps else 0:.1f} s")
    demote = grep_log(p, "demote|umount|unmount")
    check(f"2: {p} demoted (unmounted after MariaDB stopped)", bool(demote), demote[-200:])
    lab.sh(s, "crm_resource --clear -r vol-clone", 60)
    settled(s)
    v = view(s)
    check("2: after clear nothing moves back", v and v["promoted"] == s, str(v))
    finish_writer(w, "2")


SCENARIOS = {"1": scenario1, "3": scenario3, "4": scenario4, "2": scenario2}


def main():
    wanted = sys.argv[1:] or ["1", "3", "4", "2"]
    for k in wanted:
        t = time.time()
        try:
            SCENARIOS[k]()
        except (GuestError, OSError, RuntimeError, TimeoutError) as e:
            check(f"{k}: ran to the end", False, f"{type(e).__name__}: {e}")
        print(f"   scenario {k}: {time.time() - t:.0f} s", flush=True)
    print(f"drbd-cluster: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
