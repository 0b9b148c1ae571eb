"""Time `kfuncfix series --check --build` on Linux 6.1, from a cold and a warm build directory.

    python benchmarks/bench_build.py [--tree DIR] [--split subsystem] [--build-dir DIR]

The tree defaults to the test cache's linux-source-6.1 (read only: the series
is made in a `git clone --shared` of it, in a temporary directory).  Cold: an
empty build directory (allmodconfig, make prepare, every object at the base
and after each patch).  Warm: the same command again on the same directory.
Targets on a 2-core machine: under 5 min cold, under 1 min warm.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("KFUNCFIX_TEST_CACHE", "/var/tmp/kfuncfix-cache"))
REPO = Path(__file__).resolve().parent.parent


def run(tree: Path, outdir: Path, build_dir: Path, split: str) -> tuple[float, int, str]:
    command = [sys.executable, "-m", "kfuncfix", "series", str(tree), "-o", str(outdir),
               "--force", "--split", split, "--check", "--build", "--build-dir", str(build_dir),
               "--date", "2024-05-01T09:00:00Z", "--from", "Bench <bench@example.org>"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.returncode, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=CACHE / "linux-source-6.1")
    parser.add_argument("--split", default="subsystem")
    parser.add_argument("--build-dir", type=Path, help="default: a temporary directory")
    args = parser.parse_args()
    if not (args.tree / ".git").exists():
        print(f"{args.tree}: not a git tree (scripts/fetch-linux-source.sh 6.1 ...)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-build-") as scratch:
        clone = Path(scratch) / "linux"
        subprocess.run(["git", "clone", "-q", "--shared", str(args.tree), str(clone)],
                       check=True)
        build_dir = args.build_dir or Path(scratch) / "build"
        if args.build_dir is None:
            shutil.rmtree(build_dir, ignore_errors=True)
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
        for label in ("cold", "warm"):
            seconds, code, stderr = run(clone, Path(scratch) / f"out-{label}", build_dir,
                                        args.split)
            print(f"{label}: {seconds:6.1f} s  exit {code}")
            if label == "cold" or code != 0:
                print("\n".join("    " + line for line in stderr.splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
