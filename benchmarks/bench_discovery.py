"""Whole-tree timing: `kfuncfix list` (and other commands) against `git grep` on the same tree.

    python benchmarks/bench_discovery.py [TREE ...] [--runs N] [--command "diff --stat"]

Each command runs N times after one warm-up run (so the page cache is warm
for both); the median wall time, the median CPU time (user + system, git's
included: the fairer figure on a busy machine), their ratios to `git grep`
and the peak RSS of kfuncfix are printed.  Default trees: Debian's
linux-source 6.1, 6.12 and 7.2 as prepared by scripts/fetch-linux-source.sh
in /var/tmp/kfuncfix-cache.
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


REPO = Path(__file__).resolve().parent.parent
# kfuncfix from this checkout, whether it is installed or not.
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, max(before.ru_maxrss, after.ru_maxrss)


def median_of(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float, int]:
    timed(cmd, cwd)  # warm the page cache
    results = [timed(cmd, cwd) for _ in range(runs)]
    return (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results),
            max(r[2] for r in results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--command", action="append",
                        help='kfuncfix command to time (default: "list"; repeatable)')
    args = parser.parse_args()
    trees = args.trees or [CACHE / f"linux-source-{v}" for v in ("6.1", "6.12", "7.2")
                           if (CACHE / f"linux-source-{v}" / ".git").exists()]
    if not trees:
        print("no tree: run scripts/prepare-linux-source.sh 6.1 first", file=sys.stderr)
        return 2
    commands = args.command or ["list"]
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}, python {sys.version.split()[0]}")
    for tree in trees:
        base, base_cpu, _ = median_of(BASELINE, tree, args.runs)
        print(f"\n{tree}\n  {'git grep -l -E ...':<34} {base:7.3f} s wall  {base_cpu:7.3f} s CPU")
        for command in commands:
            cmd = [sys.executable, "-m", "kfuncfix", *shlex.split(command), "."]
            wall, cpu, rss = median_of(cmd, tree, args.runs)
            print(f"  kfuncfix {command:<25} {wall:7.3f} s wall  {cpu:7.3f} s CPU  "
                  f"{wall / base:5.2f}x / {cpu / base_cpu:5.2f}x git grep  "
                  f"peak {rss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
