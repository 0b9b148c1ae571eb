"""`kfuncfix experiment TREE --mode lto` on Debian's 6.1: the probe in a clang ThinLTO vmlinux.

A whole kernel build (allnoconfig + the experiment's fragment + CONFIG_LTO_CLANG_THIN),
then a relink per marker, then the same again warm: 26 minutes measured on 2 busy
cores (cold 1112 s, warm 435 s; README), so it runs only when
asked for (`python -m pytest -m lto tests/test_experiment_lto_build.py`), never in
CI's plain run.  $KFUNCFIX_LTO_BUILD_DIR keeps the build directory between runs
(default: pytest's temporary directory).  Pinned: what holds for every clang version;
the rest of the matrix is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.experiment import compilers as cc
from kfuncfix.experiment.verdict import CONSTANT, DW_NOCALL, GONE, NO_LOCATION, PRESENT

pytestmark = [pytest.mark.lto, pytest.mark.realtree, pytest.mark.build]
MARKERS = ["none=", "noinline=noinline", "__used noinline=__used noinline"]


def test_probe_in_a_thin_lto_vmlinux(linux61: Path, tmp_path: Path) -> None:
    # The newest of Debian's clang-N (the prototype's clang-16 on Debian 12), else clang.
    chosen = (cc.installed_clangs() or (["clang"] if shutil.which("clang") else [None]))[-1]
    if chosen is None or shutil.which("pahole") is None:
        pytest.skip("needs clang, lld, llvm and pahole (Debian clang lld llvm dwarves)")
    build = Path(os.environ.get("KFUNCFIX_LTO_BUILD_DIR") or tmp_path / "build")
    before = subprocess.run(["git", "-C", str(linux61), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout
    args = ["experiment", str(linux61), "--mode", "lto", "--cc", chosen, "--build-dir",
            str(build)]
    for marker in MARKERS:
        args += ["--marker", marker]
    start = time.monotonic()
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    print(f"--mode lto with {chosen}: {time.monotonic() - start:.0f} s")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    print(json.dumps(data["notes"]))
    cells = {(r["marker"], r["shape"]): r for r in data["rows"]}
    for (marker, shape), r in sorted(cells.items()):
        print(f"{marker:16} {shape} {r['verdict']:12} {r['detail']}")
    assert {r["file"] for r in data["rows"]} == {"probe.c in vmlinux"}
    # `__used noinline` keeps every shape callable: in BTF, the ABI as BTF says.
    for shape in ("G1", "G2", "G3", "G4", "S1", "S2", "S3", "S4"):
        assert cells[("__used noinline", shape)]["verdict"] in (PRESENT, NO_LOCATION)
        assert "resolve_btfids" not in cells[("__used noinline", shape)]["detail"]
    # No marker: the static no C code calls is gone, and resolve_btfids says so at link time.
    assert cells[("none", "S3")]["verdict"] == GONE
    assert "resolve_btfids: unresolved symbol" in cells[("none", "S3")]["detail"]
    # noinline: clang folds the caller's constant into the static: BTF would lie.
    assert cells[("noinline", "S1")]["verdict"] in (DW_NOCALL, CONSTANT)
    # Warm: the build directory is reused, each marker only relinks; the matrix printed.
    start = time.monotonic()
    shown = CliRunner().invoke(main, args)
    print(f"warm (relinks only): {time.monotonic() - start:.0f} s")
    assert shown.exit_code == 0, shown.output
    print(shown.stdout)
    after = subprocess.run(["git", "-C", str(linux61), "status", "--porcelain"],
                           capture_output=True, text=True, check=True).stdout
    assert after == before  # nothing written into the tree
