"""Time the audit of a whole built kernel: vmlinux and every module, one table.

    python benchmarks/bench_kernel_audit.py VMLINUX_OR_DEB [--modules DIR] [--tree TREE]

VMLINUX_OR_DEB is a vmlinux, a /sys/kernel/btf-like directory, a bzImage or
a Debian linux-image-*.deb (the last two need --tree for extract-vmlinux).
Measured on Debian 12 (2 busy cores) with linux-image-6.1.0-57-amd64
(6.1.192-3: vmlinux + 4023 modules) against linux-source-6.1: 31 s from an
unpacked package, 61 s from the .deb (dpkg-deb and extract-vmlinux
included); every kfunc of the tree found with the source's prototype
(bpf_testmod is not shipped).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kfuncfix.btf.audit import from_tree
from kfuncfix.btf.images import load_kernel
from kfuncfix.btf.kernelaudit import audit_kernel
from kfuncfix.discover import discover


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kernel", type=Path)
    parser.add_argument("--modules", type=Path)
    parser.add_argument("--tree", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    sources = from_tree(discover(args.tree)) if args.tree else None
    discovered = time.perf_counter()
    images = load_kernel(args.kernel, args.modules, args.tree)
    loaded = time.perf_counter()
    report = audit_kernel(images, sources)
    done = time.perf_counter()
    found = sum(c.in_btf for c in report.checks)
    print(f"discovery {discovered - start:.1f} s, {len(images.images)} images read in "
          f"{loaded - discovered:.1f} s, audit {done - loaded:.2f} s; "
          f"{len(report.checks)} kfuncs of the tree, {found} found, "
          f"{len(report.findings)} findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
