"""Whole-tree timing: `kfuncfix list` (and other commands) against `git grep` on the same tree.

    python benchmarks/bench_discovery.py [TREE ...] [--runs N] [--command "diff --stat"]

Each command runs N times after one warm-up run (so the page cache is warm
for both); the median wall time, the ratio to `git grep` and the peak RSS of
kfuncfix are printed.  Default trees: Debian's linux-source 6.1 and 6.12 as
prepared by scripts/prepare-linux-source.sh in /var/tmp/kfuncfix-cache.
This is a benchmark, not a test: it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("KFUNCFIX_TEST_CACHE", "/var/tmp/kfuncfix-cache"))
BASELINE = ["git", "grep", "-l", "-E", "BTF_ID_FLAGS|BTF_SET8_START|BTF_KFUNCS_START"]


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    return elapsed, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def median_of(cmd: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    timed(cmd, cwd)  # warm the page cache
    results = [timed(cmd, cwd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--command", action="append",
                        help='kfuncfix command to time (default: "list"; repeatable)')
    args = parser.parse_args()
    trees = args.trees or [p for p in (CACHE / "linux-source-6.1", CACHE / "linux-source-6.12")
                           if (p / ".git").exists()]
    if not trees:
        print("no tree: run scripts/prepare-linux-source.sh 6.1 first", file=sys.stderr)
        return 2
    commands = args.command or ["list"]
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}, python {sys.version.split()[0]}")
    for tree in trees:
        base, _ = median_of(BASELINE, tree, args.runs)
        print(f"\n{tree}\n  {'git grep -l -E ...':<34} {base:7.3f} s")
        for command in commands:
            cmd = [sys.executable, "-m", "kfuncfix", *shlex.split(command), "."]
            wall, rss = median_of(cmd, tree, args.runs)
            print(f"  kfuncfix {command:<25} {wall:7.3f} s  {wall / base:5.2f}x git grep  "
                  f"peak {rss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
