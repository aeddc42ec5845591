#!/usr/bin/env python3
"""volume monitor vs LINBIT drbd monitor inside the DRBD test guests (run by bench/volume.sh through
`tests/drbd/run.sh --scenario`, which boots the two TCG guests and always stops them).

Setup as tests/drbd/scenario.py does it: create-md, `volume start` on both (Secondary/Secondary,
connected), initial sync and mkfs.ext4 once; then, on node1, bench/compare.py runs inside the guest
(the host's Python, shared over 9p) for the two roles:
  Unpromoted: node1 Secondary, UpToDate/UpToDate;
  Promoted:   node1 Primary after `volume promote` (e2fsck + mount of /srv/data).
Commands: linbit-drbd (drbd_resource=r0), heartbeat-Filesystem (Promoted only: LINBIT's agent does
not check the mount, a LINBIT stack pairs it with Filesystem), ferroha-volume (the suite's
configuration: resource, directory, fstype, options), ferroha-volume-device (the same with
device=/dev/drbd0, which saves the `drbdadm sh-minor` call), floor-true (`env true`: what starting
one process costs under TCG). Each is started through `env` with its parameters, alike.
Every agent file is on the guest's RAM root (none is executed from 9p). crm_attribute and
crm_master are the same recorder script in /usr/sbin (Pacemaker is not in the guests).
Writes target/bench/volume-{unpromoted,promoted}.json and prints the tables.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

from guestctl import Guest, in_parallel, sh  # tests/drbd, on PYTHONPATH (tests/drbd/run.sh)

RUN = sys.argv[1]
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SHARE = os.path.join(RUN, "share")
RUNS = int(os.environ.get("RUNS", "100"))
OURS = "/usr/lib/ocf/resource.d/ferroha/volume"
LINBIT = "/usr/lib/ocf/resource.d/linbit/drbd"
FS = "/usr/lib/ocf/resource.d/heartbeat/Filesystem"
PATH = "/sbin:/usr/sbin:/bin:/usr/bin"
# What Pacemaker exports to a promotable clone's monitor (both the old and the new meta names, as
# Pacemaker 2.1 does), identical for every agent.
COMMON = {
    "PATH": PATH,
    "OCF_ROOT": "/usr/lib/ocf",
    "OCF_RA_VERSION_MAJOR": "1",
    "OCF_RA_VERSION_MINOR": "1",
    "OCF_RESOURCE_INSTANCE": "vol",
    "OCF_RESKEY_crm_feature_set": "3.16.2",
    "OCF_RESKEY_CRM_meta_timeout": "20000",
    "OCF_RESKEY_CRM_meta_on_node": "node1",
    "OCF_RESKEY_CRM_meta_clone_max": "2",
    "OCF_RESKEY_CRM_meta_clone_node_max": "1",
    "OCF_RESKEY_CRM_meta_master_max": "1",
    "OCF_RESKEY_CRM_meta_master_node_max": "1",
    "OCF_RESKEY_CRM_meta_promoted_max": "1",
    "OCF_RESKEY_CRM_meta_promoted_node_max": "1",
    "OCF_RESKEY_CRM_meta_promotable": "true",
    "OCF_RESKEY_CRM_meta_notify": "true",
}
# Per-agent parameters, given with `env` in front of every command alike.
P_OURS = "OCF_RESKEY_resource=r0 OCF_RESKEY_directory=/srv/data OCF_RESKEY_fstype=ext4 OCF_RESKEY_options=noatime"
P_OURS_DEV = P_OURS + " OCF_RESKEY_device=/dev/drbd0"
P_LINBIT = "OCF_RESKEY_drbd_resource=r0"
P_FS = "OCF_RESKEY_device=/dev/drbd0 OCF_RESKEY_directory=/srv/data OCF_RESKEY_fstype=ext4 OCF_RESKEY_options=noatime"
RECORDER = """#!/bin/sh
# Stand-in for Pacemaker's attribute tools (bench only): the same script as crm_attribute and crm_master.
echo "$0 $*" >> /tmp/crm_calls.log
"""


def log(msg):
    print(msg, flush=True)


def wait(g, cmd, want, limit):
    deadline = time.time() + limit
    last = ""
    while time.time() < deadline:
        _, last = g.run(cmd)
        if want in last:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{g.name}: waited {limit}s for '{want}' from '{cmd}', last: {last.strip()}")


def share_python():
    """The host's Python 3 (binary, stdlib, the libraries of its extension modules) in SHARE/py,
    run in the guest through the guest's own loader with --library-path (not inherited by the
    agents it spawns)."""
    py = os.path.join(SHARE, "py")
    exe = os.path.realpath("/usr/bin/python3")  # Debian's, built for the guest's glibc too
    ver = os.path.basename(exe)[len("python"):]
    stdlib = f"/usr/lib/python{ver}"
    os.makedirs(os.path.join(py, "bin"))
    os.makedirs(os.path.join(py, "lib"))
    shutil.copy2(exe, os.path.join(py, "bin", "python3"))
    skip = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
            "distutils", "site-packages", "dist-packages"}
    shutil.copytree(stdlib, os.path.join(py, "lib", f"python{ver}"), symlinks=False,
                    ignore=lambda d, names: [n for n in names if n in skip or n.startswith("config-")])
    libs = set()
    dyn = os.path.join(stdlib, "lib-dynload")
    for f in [exe] + [os.path.join(dyn, n) for n in os.listdir(dyn) if n.endswith(".so")]:
        out = subprocess.run(["ldd", f], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if "=>" in parts and len(parts) > parts.index("=>") + 1 and parts[parts.index("=>") + 1].startswith("/"):
                libs.add(parts[parts.index("=>") + 1])
    for lib in libs:
        if not os.path.basename(lib).startswith(("libc.so", "libm.so")):  # the guest's own
            shutil.copy2(lib, os.path.join(py, "lib", os.path.basename(lib)))
    return ("PYTHONHOME=/mnt/host/py PYTHONDONTWRITEBYTECODE=1 /lib64/ld-linux-x86-64.so.2 "
            "--library-path /mnt/host/py/lib /mnt/host/py/bin/python3 -S")


def exports():
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in COMMON.items())


def ours(g, action, interval):
    cmd = (f"env {exports()} OCF_RESKEY_CRM_meta_on_node={g.name} OCF_RESKEY_CRM_meta_timeout=120000 "
           f"OCF_RESKEY_CRM_meta_interval={interval} {P_OURS} OCF_RESKEY_wfc_timeout=60 {OURS} {action}")
    rc, out = g.run(cmd, timeout=150)
    if rc != 0:
        raise RuntimeError(f"{g.name}: volume {action} rc={rc}: {out}")


def commands(promoted):
    cmds = [f"linbit-drbd=env {P_LINBIT} {LINBIT} monitor"]
    if promoted:
        cmds.append(f"heartbeat-Filesystem=env {P_FS} {FS} monitor")
    cmds += [f"ferroha-volume=env {P_OURS} {OURS} monitor",
             f"ferroha-volume-device=env {P_OURS_DEV} {OURS} monitor",
             # The floor: starting one process (env, then exec of busybox true) under TCG.
             "floor-true=env true"]
    return cmds


def what_runs(g, env, cmd):
    """The programs one monitor executes (strace -f -e execve: path and the first arguments; a
    wrapper such as drbdadm re-executing its 8.4 variant counts twice), and its attribute calls."""
    sh(g, "rm -f /tmp/crm_calls.log /tmp/execs")
    rc, _ = g.run(f"{env} strace -f -qq -s 200 -e trace=execve -e signal=none -o /tmp/execs {cmd} >/dev/null 2>&1")
    _, execs = g.run("sed -n 's/.*execve(\"\\([^\"]*\\)\", \\[\\(.*\\)\\], .* = 0$/\\1 \\2/p' /tmp/execs")
    _, calls = g.run("cat /tmp/crm_calls.log 2>/dev/null")
    progs = []
    for line in execs.splitlines():
        path, _, args = line.partition(" ")
        args = [a.strip().strip('"') for a in args.split(", ")][1:]
        if os.path.basename(path) == "env":
            args = []
        progs.append(" ".join([path] + args[:3])[:90])
    return rc, progs, [c for c in calls.splitlines() if c.strip()]


def bench(g, py, role, interval, promoted, want):
    env = f"export {exports()} OCF_RESKEY_CRM_meta_interval={interval};"
    log(f"\n### {role}: what one monitor runs (exit status, programs executed, attribute calls)")
    seen = {}
    for c in commands(promoted):
        name, _, cmd = c.partition("=")
        rc, progs, calls = what_runs(g, env, cmd)
        if rc != want[name]:
            raise RuntimeError(f"{name} monitor exited {rc} in role {role}, expected {want[name]}")
        seen[name] = {"execve": progs, "attribute_calls": calls}
        log(f"- {name}: exit {rc}; {len(progs)} execve: " + "; ".join(progs))
        log(f"  attribute calls: {calls or 'none'}")
    load0 = os.getloadavg()[0]
    out = f"/mnt/host/out/volume-{role.lower()}.json"
    title = f"monitor in role {role} on node1 (DRBD 8.4 under TCG, interval {interval} ms)"
    argv = " ".join(shlex.quote(c) for c in commands(promoted))
    t = time.time()
    rc, text = g.run(f"{env} {py} /mnt/host/compare.py --runs {RUNS} --json {out} "
                     f"--title {shlex.quote(title)} {argv}", timeout=7200)
    if rc != 0:
        raise RuntimeError(f"compare.py failed rc={rc}: {text}")
    log(text.strip())
    with open(os.path.join(SHARE, "out", f"volume-{role.lower()}.json")) as f:
        res = json.load(f)
    for name, r in res["commands"].items():
        if r["exit_status"] != want[name]:
            raise RuntimeError(f"{name}: exit {r['exit_status']}, expected {want[name]}")
        r.update(seen.get(name, {}))
    res["host_load_average"] = [load0, os.getloadavg()[0]]
    log(f"host load average (1 min) before / after: {load0:.2f} / {os.getloadavg()[0]:.2f}")
    if promoted:
        c = res["commands"]
        w = c["linbit-drbd"]["wall_ms_median"] + c["heartbeat-Filesystem"]["wall_ms_median"]
        u = c["linbit-drbd"]["cpu_ms_median"] + c["heartbeat-Filesystem"]["cpu_ms_median"]
        v = c["ferroha-volume"]
        log(f"\nlinbit-drbd + heartbeat-Filesystem (sum of the medians): wall {w:.1f} ms, CPU {u:.1f} ms, "
            f"processes {c['linbit-drbd']['processes'] + c['heartbeat-Filesystem']['processes']}; "
            f"vs ferroha-volume: {w / v['wall_ms_median']:.1f}× wall, {u / v['cpu_ms_median']:.1f}× CPU")
    dest = os.path.join(ROOT, "target", "bench")
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, f"volume-{role.lower()}.json"), "w") as f:
        json.dump(res, f, indent=1)
    log(f"({RUNS} runs each in {time.time() - t:.0f} s; raw figures in target/bench/volume-{role.lower()}.json)")


def main():
    t0 = time.time()
    os.makedirs(os.path.join(SHARE, "out"), exist_ok=True)
    shutil.copy(os.path.join(ROOT, "bench", "compare.py"), os.path.join(SHARE, "compare.py"))
    with open(os.path.join(SHARE, "crm_recorder"), "w") as f:
        f.write(RECORDER)
    py = share_python()
    n1 = Guest(os.path.join(RUN, "node1.ctl"), "node1", boot_timeout=300)
    n2 = Guest(os.path.join(RUN, "node2.ctl"), "node2", boot_timeout=300)
    nodes = [n1, n2]
    log(f"volume-bench: both guests answer after {time.time() - t0:.0f} s")
    for g in nodes:
        sh(g, f"cp /mnt/host/volume {OURS} && for t in crm_attribute crm_master; do "
              f"cp /mnt/host/crm_recorder /usr/sbin/$t && chmod 755 /usr/sbin/$t; done")
        for f in (LINBIT, FS, "/usr/bin/strace", "/usr/bin/time"):
            sh(g, f"test -x {f}")
        sh(g, "drbdadm create-md --force r0 >/dev/null")
    log("volume-bench: " + sh(n1, f"{py} -c 'import sys; print(\"guest Python\", sys.version.split()[0])'").strip())
    in_parallel(lambda g: ours(g, "start", 20000), nodes)
    sh(n1, "drbdadm primary --force r0")
    wait(n1, "drbdadm dstate r0", "UpToDate/UpToDate", 300)
    sh(n1, "mkfs.ext4 -q -F /dev/drbd0 && drbdadm secondary r0")
    log("volume-bench: node1 " + sh(n1, "sed -n '/^ 0:/p' /proc/drbd").strip())
    bench(n1, py, "Unpromoted", 20000, False,
          {"linbit-drbd": 0, "ferroha-volume": 0, "ferroha-volume-device": 0, "floor-true": 0})
    ours(n1, "promote", 10000)
    log("\nvolume-bench: node1 " + sh(n1, "sed -n '/^ 0:/p' /proc/drbd").strip() + "; "
        + sh(n1, "grep ' /srv/data ' /proc/mounts").strip())
    bench(n1, py, "Promoted", 10000, True,
          {"linbit-drbd": 8, "heartbeat-Filesystem": 0, "ferroha-volume": 8, "ferroha-volume-device": 8,
           "floor-true": 0})
    log(f"\nvolume-bench: done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 — run.sh prints the console tails and stops the guests
        print(f"volume-bench: FAILED: {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
