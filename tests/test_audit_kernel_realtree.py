"""`audit --btf DEB TREE` on Debian's built 6.1 kernel against the 6.1 sources it was built from.

The .deb (linux-image-6.1.0-ABI-amd64-unsigned, ~70 MB) comes through
scripts/fetch-linux-image.sh like the tree through fetch-linux-source.sh.
About 45 s on 2 busy cores: dpkg-deb, extract-vmlinux, 4000 modules' BTF.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.btf.audit import from_tree
from kfuncfix.cli import main
from kfuncfix.discover import discover

# Where Debian's 6.1 build keeps the kfuncs that are not in vmlinux (issue 22).
MODULES = {"tcp_bbr": "net/ipv4/tcp_bbr.c", "tcp_dctcp": "net/ipv4/tcp_dctcp.c",
           "nf_conntrack": "net/netfilter/nf_conntrack_bpf.c",
           "nf_nat": "net/netfilter/nf_nat_bpf.c"}
ROW = re.compile(r"^(\S+)\s+(\S+)\s+(yes|no)\s+(\S+)\s+(match|mismatch|unknown|not built)\s+(\S+)$")


@pytest.mark.realtree
def test_debian_61_image_every_kfunc_in_one_table(linux61: Path, linux61_image: Path) -> None:
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["audit", "--btf", str(linux61_image), str(linux61)])
    seconds = time.perf_counter() - start
    print(f"audit of {linux61_image.name} against {linux61.name}: {seconds:.0f} s")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # One table for vmlinux and every module: one header, one row per kfunc of the tree.
    assert [i for i, line in enumerate(lines) if line.startswith("KFUNC ")] == [0]
    assert lines[0].split() == ["KFUNC", "IMAGE", "BTF", "TAG", "PROTO", "WHERE"]
    rows = {}
    for line in lines[1:]:
        if not line or line.startswith("note: "):
            break
        match = ROW.match(line)
        assert match, line
        name, image, in_btf, _tag, proto, where = match.groups()
        rows[name] = (image, in_btf, proto, where.rsplit(":", 1)[0])
    assert set(rows) == {k.name for k in from_tree(discover(linux61))}
    assert "0 findings" in lines[-1]
    assert re.search(r"note: \d{4} images read: vmlinux and \d{4} modules", result.output)

    # bpf_testmod is a selftest module Debian does not ship: the one kfunc not built.
    shipped = {n: r for n, r in rows.items() if r[2] != "not built"}
    assert set(rows) - set(shipped) == {"bpf_testmod_test_mod_kfunc"}
    assert rows["bpf_testmod_test_mod_kfunc"][1] == "no"
    assert re.search(r"note: 1 kfuncs of the tree are in no id set of vmlinux or its \d{4} "
                     r"modules: not built, or their module not shipped", result.output)
    # Every other kfunc: in BTF with the source's prototype, in vmlinux or its module.
    assert {n: (r[1], r[2]) for n, r in shipped.items()} == {n: ("yes", "match") for n in shipped}
    assert {r[0] for r in shipped.values()} == {"vmlinux", *MODULES}
    for image, source in MODULES.items():
        assert {r[3] for r in shipped.values() if r[0] == image} == {source}
    assert not any(r[3] in MODULES.values() for r in shipped.values() if r[0] == "vmlinux")
