"""Every built-in rule on one tree in one run: wall time per stage and peak memory.

    python benchmarks/bench_rules.py [TREE] [--runs N]

Default tree: Debian's linux-source 6.12 as prepared by
scripts/prepare-linux-source.sh.  One process discovers the tree once, then
plans every rule and renders its diff, as `kfuncfix diff` does; each run
after a warm-up one is timed, and the medians are printed with the peak RSS
of this process and of its children (git grep).

What the figures show: discovery reads only the files the byte searches
name (the "read" column against the tree's .c/.h files), so its cost follows
the number of candidate files; planning and diffing touch only the files a
rule changes.  tests/test_trust_scale.py checks by counting that more
kfuncs do not mean more files read.  This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kfuncfix.discover import discover
from kfuncfix.engine import list_rules, plan
from kfuncfix.outputs.diff import unified_diff

CACHE = Path(os.environ.get("KFUNCFIX_TEST_CACHE", "/var/tmp/kfuncfix-cache"))


def c_files(tree: Path) -> int:
    out = subprocess.run(["git", "-C", str(tree), "ls-files", "-z", "--", "*.[ch]"],
                         capture_output=True, check=True).stdout
    return out.count(b"\0")


def one_run(tree: Path) -> tuple[dict[str, float], dict[str, tuple[int, int]], int, int]:
    """Seconds per stage; (files changed, diff bytes) per rule; files read; kfuncs."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    index = discover(tree)
    times["discover"] = time.perf_counter() - start
    sizes = {}
    for rule in list_rules():
        start = time.perf_counter()
        result = plan(index, rule)
        diff = unified_diff(list(result.files.values()))
        times[rule.name] = time.perf_counter() - start
        sizes[rule.name] = (len(result.files), len(diff))
    return times, sizes, len(index.sources), len(index.kfuncs)


def peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", nargs="?", type=Path, default=CACHE / "linux-source-6.12")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (args.tree / ".git").exists():
        print(f"{args.tree}: no tree; run scripts/prepare-linux-source.sh 6.12 first",
              file=sys.stderr)
        return 2
    one_run(args.tree)  # warm the page cache and the imports
    runs = [one_run(args.tree) for _ in range(max(1, args.runs))]
    _, sizes, read, kfuncs = runs[-1]
    total = 0.0
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}, python {sys.version.split()[0]}")
    print(f"{args.tree}: {c_files(args.tree)} .c/.h files, {read} read by discovery, "
          f"{kfuncs} kfuncs")
    for stage in runs[0][0]:
        wall = statistics.median(r[0][stage] for r in runs)
        total += wall
        extra = ""
        if stage in sizes:
            files, diff = sizes[stage]
            extra = f"  {files:4d} files changed, {diff / 1024:7.1f} KiB of diff"
        print(f"  {stage:<24} {wall:7.3f} s{extra}")
    print(f"  {'total':<24} {total:7.3f} s  (median of {len(runs)} runs per stage)")
    print(f"peak RSS: {peak_mib(resource.RUSAGE_SELF):.0f} MiB kfuncfix, "
          f"{peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB largest child (git grep)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
