"""Time reading and indexing a BTF file: the audit's fixed cost.

    python benchmarks/bench_btf.py [FILE] [--repeat N]

FILE defaults to /sys/kernel/btf/vmlinux; without it, a synthetic BTF the size
of a distribution kernel's (~130k types, ~5 MB) is generated first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from kfuncfix.btf.kfuncs import BPF_KFUNC_TAG, index_kfuncs
from kfuncfix.btf.reader import parse_btf_file
from kfuncfix.btf.types import Kind

# The BTF writer is test code (tests/btf_writer.py), not part of the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.btf_writer import BTFWriter  # noqa: E402

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def synthetic_vmlinux(structs: int = 12_000, funcs: int = 56_000, kfuncs: int = 200) -> bytes:
    """Roughly the type mix of a distribution kernel's BTF."""
    w = BTFWriter()
    t_int = w.int_type("int", 4)
    t_long = w.int_type("long int", 8)
    ptrs = []
    for i in range(structs):
        members = [(f"field_{j}", t_long if j % 2 else t_int, 64 * j, 0) for j in range(8)]
        s = w.composite(Kind.STRUCT, f"struct_{i}", 64, members)
        ptrs.append(w.ref(Kind.PTR, s))
        w.ref(Kind.CONST, s)
    protos = [
        w.func_proto(t_int, [(f"arg{j}", ptrs[(i + j) % structs]) for j in range(1 + i % 4)])
        for i in range(funcs // 2)
    ]
    for i in range(funcs):
        func = w.func(f"function_{i}", protos[i % len(protos)])
        if i < kfuncs:
            w.decl_tag(BPF_KFUNC_TAG, func)
    return w.to_bytes()


def run_once(data: bytes) -> tuple[float, int, int, int]:
    start = time.perf_counter()
    btf = parse_btf_file(data)
    index = index_kfuncs(btf)
    btf.funcs_named("")  # builds the name index every source lookup uses
    elapsed = time.perf_counter() - start
    return elapsed, btf.count, len(btf.func_ids()), len(index.kfuncs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = args.file or (VMLINUX if VMLINUX.exists() else None)
    if path is None:
        gen_start = time.perf_counter()
        data = synthetic_vmlinux()
        source = f"synthetic BTF (generated in {time.perf_counter() - gen_start:.2f} s)"
    else:
        data = path.read_bytes()
        source = str(path)
    times = []
    for _ in range(args.repeat):
        elapsed, types, funcs, kfuncs = run_once(data)
        times.append(elapsed)
    print(f"input:   {source}, {len(data) / 1e6:.1f} MB")
    print(f"content: {types} types, {funcs} FUNCs, {kfuncs} kfuncs declared")
    print(
        f"read + index over {args.repeat} runs: best {min(times) * 1000:.0f} ms, "
        f"median {statistics.median(times) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
