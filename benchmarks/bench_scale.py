"""How each command's cost grows with its input: N, 2N and 4N of the shapes that used to explode.

    python benchmarks/bench_scale.py [--runs N] [--scale F]

The shapes (built by tests/scale_helper.py, small trees in a temporary
directory): N kfuncs in one file (`diff`), one kfunc with N parameters on one
line that tagging must wrap (`diff`), a kfunc inside N nested `#ifdef`s
(`list`), and a file with three N-byte lines, among them the kfunc's own
prototype (`diff` and `apply`).  Each figure is the best of --runs runs in
this process, the tree written fresh each time; the last columns are the
ratios 2N/N and 4N/2N: about 2 is linear, 4 quadratic.  --scale multiplies
every N.  tests/test_trust_scale.py asserts the same growth with generous
bounds.  This is a benchmark, not a test: it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.scale_helper import BUILDERS, best_time  # noqa: E402

SIZES = {
    "kfuncs in one file": 1000,
    "parameters of one kfunc": 16000,
    "nested #if": 5000,
    "bytes in a line": 250_000,
    "bytes in a line (apply)": 250_000,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}, python {sys.version.split()[0]}"
          f", load {os.getloadavg()[0]:.1f}; best of {args.runs}")
    print(f"{'shape':<26} {'command':<8} {'N':>8} {'t(N)':>8} {'t(2N)':>8} {'t(4N)':>8}"
          f" {'2N/N':>6} {'4N/2N':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, base in SIZES.items():
            n = max(1, int(base * args.scale))
            times = [best_time(Path(tmp) / f"{name}-{k}".replace(" ", "_"), name, k * n, args.runs)
                     for k in (1, 2, 4)]
            command = BUILDERS[name][1]
            print(f"{name:<26} {command:<8} {n:>8} {times[0]:>7.2f}s {times[1]:>7.2f}s "
                  f"{times[2]:>7.2f}s {times[1] / times[0]:>6.2f} {times[2] / times[1]:>6.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
