#!/usr/bin/env python3
"""Side-by-side benchmark of OCF agent actions: A/B interleaved runs in one process.

For each named command: wall time (perf_counter around spawn..wait4), CPU time (user+sys of the
child and its waited-for descendants, from wait4's rusage), peak RSS (ru_maxrss), and the number of
processes it created (fork/vfork/clone/clone3 without CLONE_THREAD, counted once with strace -f).
Prints a Markdown table with medians and the ratios of the first command (the baseline) to each
other one, and writes the raw figures as JSON. With --floor NAME, a last column gives each
command's wall time as a multiple of that command's (e.g. a static `true`: the cost of an exec).

usage: compare.py --runs N --json OUT [--floor NAME] name=CMD...   (commands split on spaces)

A command's leading VAR=value words are set in its environment (as a shell does), so no `env`
process is spawned (and timed) in front of it.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import tempfile
import time


DEVNULL = os.open(os.devnull, os.O_WRONLY)


def split_command(line, base_env):
    """A command line's argv and environment: the harness's, plus its leading VAR=value words."""
    words = shlex.split(line)
    env = dict(base_env)
    while words and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        k, _, v = words.pop(0).partition("=")
        env[k] = v
    return words, env


def run_once(argv, env):
    # posix_spawn (vfork-based in glibc) keeps the harness's own cost per run far below a
    # millisecond, so it does not flatten the ratio between a 1 ms and a 50 ms command.
    actions = [(os.POSIX_SPAWN_DUP2, DEVNULL, 1), (os.POSIX_SPAWN_DUP2, DEVNULL, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status)


def peak_rss_kb(argv, env):
    """Peak RSS of one run, by GNU time: wait4's figure for a spawned child starts from the
    spawning process's own RSS, so the harness measures through a small parent instead."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=False)
    return int(r.stderr.strip().splitlines()[-1])


def count_processes(argv, env):
    """New processes (not threads) created by one run, via strace -f."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as f:
        subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=fork,vfork,clone,clone3", "-o", f.name] + argv,
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        n = 0
        for line in f:
            m = re.search(r"\b(fork|vfork|clone3?)\(", line)
            if not m or "CLONE_THREAD" in line or "resumed>" in line and "(" not in line.split("resumed>")[0]:
                continue
            if re.search(r"= -?\d+|<unfinished", line):
                n += 1
        return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--floor", help="name of the command whose wall time is the floor")
    ap.add_argument("commands", nargs="+", help="name=command line")
    a = ap.parse_args()
    cmds = []
    for c in a.commands:
        name, _, line = c.partition("=")
        cmds.append((name, *split_command(line, os.environ)))
    rcs = {}
    for name, argv, env in cmds:
        for _ in range(a.warmup):
            rcs[name] = run_once(argv, env)[3]
    samples = {name: {"wall": [], "cpu": []} for name, _, _ in cmds}
    for _ in range(a.runs):  # interleaved: A B A B ...
        for name, argv, env in cmds:
            wall, cpu, _, rc = run_once(argv, env)
            if rc != rcs[name]:
                raise SystemExit(f"{name}: exit status changed from {rcs[name]} to {rc}")
            samples[name]["wall"].append(wall)
            samples[name]["cpu"].append(cpu)
    result = {"title": a.title, "runs": a.runs, "commands": {}}
    for name, argv, env in cmds:
        s = samples[name]
        result["commands"][name] = {
            "argv": argv,
            "exit_status": rcs[name],
            "wall_ms_median": statistics.median(s["wall"]) * 1000,
            "cpu_ms_median": statistics.median(s["cpu"]) * 1000,
            "peak_rss_kb": peak_rss_kb(argv, env),
            "processes": count_processes(argv, env) + 1,
            "wall_ms": [x * 1000 for x in s["wall"]],
            "cpu_ms": [x * 1000 for x in s["cpu"]],
        }
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
    base_name = cmds[0][0]
    base = result["commands"][base_name]
    floor = result["commands"][a.floor]["wall_ms_median"] if a.floor else None
    print(f"\n{a.title} ({a.runs} interleaved runs each, medians)\n")
    extra = (" × floor wall |", "---|") if floor else ("", "")
    print("| command | exit | wall ms | CPU ms | peak RSS KiB | processes | wall ratio | CPU ratio |"
          + extra[0])
    print("|---|---|---|---|---|---|---|---|" + extra[1])
    for name, _, _ in cmds:
        r = result["commands"][name]
        wr = base["wall_ms_median"] / r["wall_ms_median"]
        cr = base["cpu_ms_median"] / r["cpu_ms_median"] if r["cpu_ms_median"] > 0 else float("inf")
        tail = f" {r['wall_ms_median'] / floor:.2f} |" if floor else ""
        print(f"| {name} | {r['exit_status']} | {r['wall_ms_median']:.2f} | {r['cpu_ms_median']:.2f} | "
              f"{r['peak_rss_kb']} | {r['processes']} | "
              f"{'1' if name == base_name else f'{wr:.1f}×'} | {'1' if name == base_name else f'{cr:.1f}×'} |"
              + tail)


if __name__ == "__main__":
    main()
