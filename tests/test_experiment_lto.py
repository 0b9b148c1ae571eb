"""`experiment --mode lto`, the parts that need no kernel build: the configuration, the
source farm the probe is linked through, the relink command, resolve_btfids' warnings, and
the verdict on a ThinLTO-linked object (clang -flto=thin, `ld.lld -r` as Kbuild links
vmlinux.o, pahole -J) through the same verdict code.  A few seconds.

The kernel build itself is tests/test_experiment_lto_build.py (marker `lto`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.errors import KfuncfixError
from kfuncfix.experiment import compilers as cc
from kfuncfix.experiment.lto import (
    LTO_FRAGMENT,
    PROBE_OBJECT,
    lto_compiler,
    make_variables,
    probe_with_marker,
    relink_arguments,
    source_farm,
    unresolved_symbols,
    vmlinux_evidence,
)
from kfuncfix.experiment.markers import Marker
from kfuncfix.experiment.probe import probe_kfuncs
from kfuncfix.experiment.realtree import FRAGMENT
from kfuncfix.experiment.verdict import CONSTANT, DW_NOCALL, GONE, NO_LOCATION, PRESENT, classify
from tests.conftest import write_tree


def test_configuration_is_the_per_object_one_plus_thin_lto() -> None:
    assert LTO_FRAGMENT.splitlines()[: len(FRAGMENT.splitlines())] == FRAGMENT.splitlines()
    assert set(LTO_FRAGMENT.splitlines()) - set(FRAGMENT.splitlines()) == {
        "CONFIG_LTO_CLANG_THIN=y"}


def test_relink_is_make_vmlinux_with_the_compilers_llvm_tools() -> None:
    assert relink_arguments(2) == ["-j2", "vmlinux"]
    assert make_variables(cc.Compiler("clang-16", "/usr/bin/clang-16", "clang 16")) == [
        "LLVM=-16"]
    assert make_variables(cc.Compiler("clang", "/usr/bin/clang", "clang 14")) == ["LLVM=1"]


def test_lto_needs_a_clang() -> None:
    gcc = cc.Compiler("gcc", "/usr/bin/gcc", "gcc 12")
    clang = cc.Compiler("clang-16", "/usr/bin/clang-16", "clang 16")
    assert lto_compiler([gcc, clang]) is clang
    with pytest.raises(KfuncfixError, match="give a clang in --cc"):
        lto_compiler([gcc])


def test_lto_mode_usage_errors_are_one_line(tmp_path: Path) -> None:
    for args in (["--mode", "lto"], [str(tmp_path), "--mode", "lto", "--file", "a.c"],
                 [str(tmp_path), "--mode", "lto", "--no-probe"]):
        result = CliRunner().invoke(main, ["experiment", *args])
        assert result.exit_code == 2, result.output
        assert "--mode lto links the probe into TREE's vmlinux" in result.output
        assert "Traceback" not in result.output


def test_source_farm_adds_the_probe_and_never_writes_the_tree(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", {
        "Makefile": "all:\n", "Kbuild": "", "net/core.c": "int x;\n",
        "kernel/Makefile": "obj-y = fork.o\n", "kernel/fork.c": "int fork;\n",
        ".git/HEAD": "ref: refs/heads/master\n",
    })
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    farm = tmp_path / "build" / "src"
    source_farm(tree, farm)
    assert (farm / "net").resolve() == (tree / "net").resolve()
    assert (farm / "kernel" / "fork.c").resolve() == (tree / "kernel" / "fork.c").resolve()
    assert not (farm / ".git").exists()  # no git: Kbuild's version string stays the tree's
    makefile = farm / "kernel" / "Makefile"
    assert not makefile.is_symlink()
    assert makefile.read_text() == f"obj-y = fork.o\n\nobj-y += {PROBE_OBJECT}.o\n"
    assert (farm / "kernel" / f"{PROBE_OBJECT}.c").is_file()
    source_farm(tree, farm)  # made once, reused
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before
    # A directory of that name that is not a farm is somebody's: refused, untouched.
    mine = write_tree(tmp_path / "mine", {"notes.txt": "keep\n"})
    with pytest.raises(KfuncfixError, match="not kfuncfix's source farm"):
        source_farm(tree, mine)
    assert (mine / "notes.txt").read_text() == "keep\n"
    # A farm half made by a run that was stopped is made again.
    stopped = tmp_path / "again" / "src.partial"
    write_tree(stopped, {".kfuncfix-source-farm": "", "kernel/Makefile": "half"})
    source_farm(tree, tmp_path / "again" / "src")
    assert (tmp_path / "again" / "src" / "kernel" / "Makefile").read_text().startswith(
        "obj-y = fork.o")
    assert not stopped.exists()


def test_resolve_btfids_warnings_name_the_functions() -> None:
    output = ("  LD      .tmp_vmlinux.btf\n  BTFIDS  vmlinux\n"
              "WARN: resolve_btfids: unresolved symbol probe_s3_no_caller\n"
              "WARN: resolve_btfids: unresolved symbol probe_s1_called_once\n")
    assert unresolved_symbols(output) == {"probe_s3_no_caller", "probe_s1_called_once"}
    assert unresolved_symbols("  BTFIDS  vmlinux\n") == set()


def _thin_lto_link(clang: str, marker: Marker, tmp: Path) -> Path:
    """The probe as Kbuild links it into vmlinux.o under ThinLTO: bitcode, `ld.lld -r`,
    then BTF encoded into the result (link-vmlinux.sh's pahole -J)."""
    suffix = clang.removeprefix("clang")
    src = tmp / f"{PROBE_OBJECT}.c"
    src.write_bytes(probe_with_marker(marker))
    bitcode, linked = tmp / "probe.bc.o", tmp / "vmlinux.o"
    env = dict(os.environ, LC_ALL="C")
    subprocess.run([clang, "-O2", "-g", "-gdwarf-5", "-flto=thin", "-fno-PIE", "-c", str(src),
                    "-o", str(bitcode)], check=True, env=env)
    subprocess.run([f"ld.lld{suffix}", "-r", str(bitcode), "-o", str(linked)], check=True,
                   env=env)
    subprocess.run(["pahole", "-J", str(linked)], check=True, capture_output=True)
    return linked


@pytest.mark.parametrize("marker, expected", [
    (Marker("none", ""), {"S3": {GONE}}),
    (Marker("noinline", "noinline"), {"S1": {DW_NOCALL, CONSTANT}, "S3": {GONE}}),
    (Marker("__used noinline", "__used noinline"),
     {s: {PRESENT, NO_LOCATION} for s in ("G1", "G2", "G3", "G4", "S1", "S2", "S3", "S4")}),
])
def test_verdict_on_a_thin_lto_link(tmp_path: Path, marker: Marker,
                                    expected: dict[str, set[str]]) -> None:
    clang = next((c for c in ["clang", *cc.installed_clangs()] if shutil.which(c)), None)
    if clang is None or shutil.which("ld.lld" + clang.removeprefix("clang")) is None \
            or shutil.which("pahole") is None:
        pytest.skip("needs clang, lld and pahole (Debian clang, lld, dwarves)")
    linked = _thin_lto_link(clang, marker, tmp_path)
    kfuncs = probe_kfuncs()
    evidence = vmlinux_evidence(linked, [k.name for k in kfuncs])
    verdicts = {k.shape: classify(evidence, k.name, k.prototype)[0] for k in kfuncs}
    print(clang, marker.name, verdicts)
    for shape, allowed in expected.items():
        assert verdicts[shape] in allowed, (shape, verdicts)


def test_a_configuration_the_toolchain_drops_is_one_error_naming_it(tmp_path: Path) -> None:
    """Kconfig silently drops LTO or BTF a toolchain cannot do: said, with the likely
    reason, before anything is built (both modes share the check)."""
    from kfuncfix.experiment.realtree import allnoconfig_with

    class Make:
        def make(self, args: list[str], what: str) -> None:
            fragment = Path(args[0].partition("=")[2]).read_text()
            kept = [line for line in fragment.splitlines() if "LTO" not in line]
            (tmp_path / ".config").write_text("\n".join(kept) + "\n")

    wanted = {"CONFIG_DEBUG_INFO_BTF=y": "pahole", "CONFIG_LTO_CLANG_THIN=y": "ld.lld needed"}
    with pytest.raises(KfuncfixError, match=r"CONFIG_LTO_CLANG_THIN did not stick \(ld.lld"):
        allnoconfig_with(Make(), tmp_path, FRAGMENT + "CONFIG_LTO_CLANG_THIN=y\n",  # type: ignore[arg-type]
                         wanted)
    allnoconfig_with(Make(), tmp_path, FRAGMENT, {"CONFIG_DEBUG_INFO_BTF=y": "pahole"})  # type: ignore[arg-type]
