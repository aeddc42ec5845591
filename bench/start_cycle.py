#!/usr/bin/env python3
"""Side-by-side benchmark of OCF start actions: interleaved start/stop cycles in one process.

Each named variant is a start command and a stop command. One cycle per variant and round, in
turn (A B A B ...): the start is timed (wall, from spawn to wait4), the stop that follows is not.
Prints a Markdown table with the exit status, the median, quartiles, 90th percentile, mean and
maximum of the start's wall time, and the ratio of the first variant's median (the baseline) to
each other one's; writes the raw figures as JSON.

usage: start_cycle.py --runs N --json OUT name=START::STOP...   (commands split on spaces; leading
VAR=value words go into the command's environment, as for compare.py)
"""
import argparse
import json
import os
import statistics

from compare import run_once, split_command


def run(argv, env):
    """Wall time and exit status of one run (compare.py's posix_spawn + wait4)."""
    wall, _, _, rc = run_once(argv, env)
    return wall, rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--json", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("variants", nargs="+", help="name=START::STOP")
    a = ap.parse_args()
    variants = []
    for v in a.variants:
        name, _, cmds = v.partition("=")
        start, _, stop = cmds.partition("::")
        variants.append((name, split_command(start, os.environ), split_command(stop, os.environ)))
    samples = {name: [] for name, _, _ in variants}
    rcs = {}
    for _ in range(a.runs):
        for name, start, stop in variants:
            wall, rc = run(*start)
            if rcs.setdefault(name, rc) != rc:
                raise SystemExit(f"{name}: start exit status changed from {rcs[name]} to {rc}")
            samples[name].append(wall * 1000)
            _, src = run(*stop)
            if src != 0:
                raise SystemExit(f"{name}: stop exited {src}")
    result = {"title": a.title, "runs": a.runs, "variants": {}}
    for name, start, stop in variants:
        s = samples[name]
        q = statistics.quantiles(s, n=20, method="inclusive") if len(s) > 1 else [s[0]] * 19
        result["variants"][name] = {"start": start[0], "stop": stop[0], "exit_status": rcs[name],
                                    "wall_ms_median": statistics.median(s),
                                    "wall_ms_q1": q[4], "wall_ms_q3": q[14], "wall_ms_p90": q[17],
                                    "wall_ms_mean": statistics.mean(s), "wall_ms_max": max(s),
                                    "wall_ms": s}
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
    base_name = variants[0][0]
    base = result["variants"][base_name]["wall_ms_median"]
    print(f"\n{a.title} ({a.runs} interleaved start/stop cycles each; start wall time)\n")
    print("| variant | exit | median ms | quartiles ms | p90 ms | mean ms | max ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _, _ in variants:
        r = result["variants"][name]
        ratio = "1" if name == base_name else f"{base / r['wall_ms_median']:.1f}×"
        print(f"| {name} | {r['exit_status']} | {r['wall_ms_median']:.1f} | "
              f"{r['wall_ms_q1']:.1f}–{r['wall_ms_q3']:.1f} | {r['wall_ms_p90']:.1f} | "
              f"{r['wall_ms_mean']:.1f} | {r['wall_ms_max']:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
