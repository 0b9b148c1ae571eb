"""Whole-tree timing: `kfuncfix list` (and other commands) against `git grep` on the same tree.

    python benchmarks/bench_discovery.py [TREE ...] [--version V ...] [--runs N]
                                         [--command "diff --stat" ...] [--no-cache-rows]
                                         [--check-git]

The baseline is the search a developer would type to find the files holding
kfunc sets, `git grep -l -E 'BTF_ID_FLAGS|BTF_SET8_START|BTF_KFUNCS_START'`.
Each command runs N times after one warm-up run (so the page cache is warm
for both); the median wall time, the ratio to `git grep`, the median CPU time
(user + sys, children included) and the peak RSS of each command are
printed, then a Markdown table of the medians.  Default trees: the matrix,
Debian's linux-source 5.10, 6.1, 6.12 and 7.2, got through
scripts/fetch-linux-source.sh into $KFUNCFIX_TEST_CACHE (default
/var/tmp/kfuncfix-cache); a version that cannot be had is left out with a note.
With --check-git, each tree also gets a scratch worktree with 15 commits
(tests/lint_series.py) where `check --git` over 1, 5 and 15 commits is timed
against `git grep` and a whole-tree `check` in the same run.
This is a benchmark, not a test: it never fails on a slow machine.

The index cache (kfuncfix.indexcache) gets three rows of `list`: a cold cache
(an empty cache directory each run), a warm one (the tree unchanged since the
cache was filled), and one kfunc file changed since the previous run (a line
appended to CHANGED_FILE of a `git clone --shared` of the tree, a new blob each
run).  The cache directories are temporary, never the user's ~/.cache;
commands given with --command run with the warm cache.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KFUNCFIX_TEST_CACHE", "/var/tmp/kfuncfix-cache"))
FETCH = REPO / "scripts" / "fetch-linux-source.sh"
MATRIX = ["5.10", "6.1", "6.12", "7.2"]
PATTERN = "BTF_ID_FLAGS|BTF_SET8_START|BTF_KFUNCS_START"
BASELINE = ["git", "grep", "-l", "-E", PATTERN]
# The file changed between runs of the "one kfunc file changed" row: the one most
# kfunc patches touch, in every tree of the matrix.
CHANGED_FILE = "kernel/bpf/helpers.c"
COLD, WARM, CHANGED = "list (cold cache)", "list (warm cache)", "list (1 kfunc file changed)"


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds, median
    cpu: float  # user + sys seconds of the process and its children, median
    peak_mb: float  # largest RSS of any run


# The kfuncfix of this checkout, whatever is installed.
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))


def run_once(cmd: list[str], cwd: Path,
             env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one run of cmd (this child only)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def measure(cmd: list[str], cwd: Path, runs: int, env: dict[str, str] | None = None,
            before: Callable[[int], dict[str, str] | None] | None = None) -> Timing:
    """Median of `runs` runs after a warm-up; `before(n)` prepares run n (not timed)
    and may give it its own environment."""
    results = []
    for n in range(runs + 1):
        run_env = (before(n) if before else None) or env
        result = run_once(cmd, cwd, run_env)
        if n:  # run 0 warms the page cache (and the index cache)
            results.append(result)
    return Timing(statistics.median(r[0] for r in results),
                  statistics.median(r[1] for r in results),
                  max(r[2] for r in results) / 1024)


def cache_rows(tree: Path, runs: int, scratch: Path) -> dict[str, Timing]:
    """`list` with a cold index cache, a warm one, and one kfunc file changed."""
    cmd = [sys.executable, "-m", "kfuncfix", "list", "."]
    warm_env = dict(ENV, KFUNCFIX_CACHE_DIR=str(scratch / "warm"))
    rows = {COLD: measure(cmd, tree, runs, before=lambda n: dict(
                ENV, KFUNCFIX_CACHE_DIR=str(scratch / f"cold{n}"))),
            WARM: measure(cmd, tree, runs, env=warm_env)}
    # A copy to change: its objects are the tree's (read only), its files its own.
    copy = scratch / "copy"
    subprocess.run(["git", "clone", "-q", "--shared", str(tree), str(copy)], check=True)
    time.sleep(1.1)  # files older than the index: git's check needs no content compare
    subprocess.run(["git", "-C", str(copy), "update-index", "-q", "--refresh"], check=False)
    time.sleep(3)  # an index seconds old is not trusted by the cache (grepcache.RACY_SECONDS)
    path = copy / CHANGED_FILE
    original = path.read_bytes()
    changed_env = dict(ENV, KFUNCFIX_CACHE_DIR=str(scratch / "changed"))
    run_once(cmd, copy, changed_env)  # the cache of the unchanged copy

    def change(n: int) -> dict[str, str]:
        path.write_bytes(original + f"/* kfuncfix benchmark, run {n} */\n".encode())
        return changed_env

    rows[CHANGED] = measure(cmd, copy, runs, before=change)
    shutil.rmtree(copy)
    return rows


def fetch(version: str) -> Path | None:
    """The matrix tree of `version` through the fetch script; None (with a note) if not had."""
    out = subprocess.run([str(FETCH), version, str(CACHE)], capture_output=True, text=True)
    if out.returncode != 0:
        why = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
        print(f"linux-source-{version} left out: {why}", file=sys.stderr)
        return None
    return Path(out.stdout.strip().splitlines()[-1])


def label(tree: Path) -> str:
    name = tree.name
    return "Linux " + name.removeprefix("linux-source-") if name.startswith("linux-") else name


def table(commands: list[str], trees: list[Path],
          results: dict[tuple[Path, str], Timing]) -> str:
    """The medians as a Markdown table: one row per job, one column per tree."""
    head = ["tool"] + [label(t) for t in trees]
    rows = [head, ["---"] * len(head)]
    rows.append([f"`git grep -l -E '{PATTERN.replace('|', chr(92) + '|')}'`"]
                + [f"{results[t, ''].wall:.2f} s" for t in trees])
    for command in commands:
        rows.append([f"`kfuncfix {command}`"]
                    + [f"{results[t, command].wall:.2f} s "
                       f"({results[t, command].wall / results[t, ''].wall:.2f}x)"
                       for t in trees])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, help="kernel trees (git repositories)")
    parser.add_argument("--version", action="append", metavar="V",
                        help=f"a matrix tree by version, fetched if needed (default: all of "
                             f"{', '.join(MATRIX)} when no TREE is given; repeatable)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check-git", action="store_true",
                        help="also time check --git over 1, 5 and 15 new commits")
    parser.add_argument("--command", action="append",
                        help='kfuncfix command to time, with a warm index cache (default: '
                             '"list" with --no-cache-rows; repeatable)')
    parser.add_argument("--no-cache-rows", action="store_true",
                        help="Leave out the cold/warm/changed index cache rows of `list`.")
    args = parser.parse_args()
    versions = args.version or ([] if args.trees else MATRIX)
    trees = list(args.trees) + [t for t in map(fetch, versions) if t is not None]
    if not trees:
        print("no tree: give a TREE or a --version scripts/fetch-linux-source.sh can fetch",
              file=sys.stderr)
        return 2
    commands = args.command or ([] if not args.no_cache_rows else ["list"])
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}, "
          f"python {sys.version.split()[0]}; median of {args.runs} warm runs")
    results: dict[tuple[Path, str], Timing] = {}
    rows = commands + ([] if args.no_cache_rows else [COLD, WARM, CHANGED])
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as scratch:
        for n, tree in enumerate(trees):
            base = results[tree, ""] = measure(BASELINE, tree, args.runs)
            print(f"\n{tree}\n  {'git grep -l -E ...':<34} {base.wall:7.3f} s  "
                  f"cpu {base.cpu:6.2f} s")
            env = dict(ENV, KFUNCFIX_CACHE_DIR=str(Path(scratch) / f"commands{n}"))
            timed = {command: measure([sys.executable, "-m", "kfuncfix",
                                       *shlex.split(command), "."], tree, args.runs, env=env)
                     for command in commands}
            if not args.no_cache_rows:
                (Path(scratch) / f"rows{n}").mkdir()
                timed.update(cache_rows(tree, args.runs, Path(scratch) / f"rows{n}"))
            for command, got in timed.items():
                results[tree, command] = got
                print(f"  kfuncfix {command:<30} {got.wall:7.3f} s  cpu {got.cpu:6.2f} s  "
                      f"{got.wall / base.wall:5.2f}x git grep  peak {got.peak_mb:.0f} MB")
    print("\n" + table(rows, trees, results))
    if args.check_git:
        for tree in trees:
            check_git(tree, args.runs)
    return 0


def check_git(repo: Path, runs: int) -> None:
    """`check --git` over 1, 5 and 15 commits made in a scratch worktree of repo."""
    import tempfile

    sys.path.insert(0, str(REPO))
    from tests.lint_series import make_commits

    with tempfile.TemporaryDirectory(prefix="kfuncfix-bench-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(tree),
                        "HEAD"], check=True)
        try:
            make_commits(tree, 15)
            base = measure(BASELINE, tree, runs)
            print(f"\n{repo} + 15 commits\n  {'git grep -l -E ...':<34} {base.wall:7.3f} s")
            # Warm: the index cache as a developer's runs leave it; cold: without it.
            for label, env in (("warm", None), ("cold", dict(ENV, KFUNCFIX_NO_CACHE="1"))):
                whole = measure([sys.executable, "-m", "kfuncfix", "check", "."], tree, runs,
                                env)
                print(f"  {f'kfuncfix check ({label})':<34} {whole.wall:7.3f} s  "
                      f"{whole.wall / base.wall:5.2f}x git grep  cpu {whole.cpu:6.2f} s")
                for count in (1, 5, 15):
                    cmd = [sys.executable, "-m", "kfuncfix", "check", "--git",
                           f"HEAD~{count}..HEAD", "."]
                    got = measure(cmd, tree, runs, env)
                    print(f"  {f'kfuncfix check --git ({count}, {label})':<34} "
                          f"{got.wall:7.3f} s  {got.wall / base.wall:5.2f}x git grep  "
                          f"{got.wall / whole.wall:5.2f}x check  cpu {got.cpu:6.2f} s "
                          f"({got.cpu / whole.cpu:4.2f}x)")
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                           check=False)


if __name__ == "__main__":
    sys.exit(main())
