"""Time the audit of a whole built kernel: vmlinux and every module, one table.

    python benchmarks/bench_kernel_audit.py VMLINUX_OR_DEB [--modules DIR] [--tree TREE]

VMLINUX_OR_DEB is a vmlinux, a /sys/kernel/btf-like directory, a bzImage or
a Debian linux-image-*.deb (the last two need --tree for extract-vmlinux).
Debian's 6.1 image of the cached tree's version comes from

    scripts/fetch-linux-image.sh 6.1 /var/tmp/kfuncfix-cache

(tests/test_audit_kernel_realtree.py asserts the table this measures).
Measured on Debian 12 (2 busy cores) against linux-source-6.1 (6.1.192-3):

    linux-image-6.1.0-57-amd64          unpacked   31 s
    linux-image-6.1.0-57-amd64          .deb       61 s  (hand check, busier)
    linux-image-6.1.0-57-amd64-unsigned .deb       44 s  (discovery 4.7 s, dpkg-deb +
                                                         extract-vmlinux + 4024 images
                                                         35.1 s, audit 2.7 s; 200 MB RSS)

vmlinux + 4023 modules; 68 kfuncs of the tree, 67 found with the source's
prototype (bpf_testmod, a selftest module, is not shipped).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kfuncfix.btf.audit import from_tree
from kfuncfix.btf.images import load_kernel, needs_extractor
from kfuncfix.btf.kernelaudit import audit_kernel
from kfuncfix.cli.audit import extractor
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
    script = extractor(args.tree) if args.tree and needs_extractor(args.kernel) else None
    images = load_kernel(args.kernel, args.modules, script)
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
