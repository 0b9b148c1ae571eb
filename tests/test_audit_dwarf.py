"""The audit sees what BTF hides: a kfunc in BTF whose machine code takes another prototype.

A static kfunc called once with a constant, `noinline` but not `__used`: gcc
emits only a `.constprop` clone, clang keeps the name but folds the argument
in (DW_CC_nocall, or clang-14's DW_AT_const_value).  pahole 1.24 still
describes clang's function with the source's parameter, so without DWARF the
audit would call it present.  Each test compiles a few lines with -O2 -g.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.btf.audit import (
    BTF_NAMES_CLONE,
    CONST_PARAM,
    MISSING,
    NOCALL,
    UNRESOLVED,
    SourceKfunc,
)
from kfuncfix.btf.kfuncs import open_kfuncs
from kfuncfix.cli import main
from kfuncfix.outputs.buildbtf import OK, STATE_MISDESCRIBED, encode_btf, kfunc_states

SOURCE = r"""
long sink;

%(marker)s static int folded_kfunc(int limit)
{
	sink += limit;
	return (int)sink;
}

int caller(void);
int caller(void)
{
	return folded_kfunc(100);
}

__asm__(".pushsection .BTF_ids,\"a\"\n"
	"__BTF_ID__set8__demo_ids:\n"
	".long 1\n.long 1\n"
	"__BTF_ID__func__folded_kfunc__1:\n"
	".zero 4\n.long 0\n"
	".size __BTF_ID__set8__demo_ids, . - __BTF_ID__set8__demo_ids\n"
	".popsection\n");
"""
NOINLINE = "__attribute__((__noinline__))"
USED_NOINLINE = "__attribute__((__used__, __noinline__))"
# What a constant-folded kfunc may be reported as: gone with a clone left
# (pahole 1.24), in BTF under a clone's name (pahole 1.25+), or in BTF with
# DWARF saying the parameter is no longer taken.
FOLDED = {UNRESOLVED, MISSING, BTF_NAMES_CLONE, NOCALL, CONST_PARAM}


def compilers() -> list[str]:
    return [cc for cc in ("gcc", "clang") if shutil.which(cc)]


def build(tmp_path: Path, cc: str, marker: str, pahole: bool = True) -> Path:
    if shutil.which("pahole") is None:
        pytest.skip("pahole (Debian dwarves) is not installed")
    src = tmp_path / "folded.c"
    src.write_text(SOURCE % {"marker": marker})
    obj = tmp_path / f"folded-{cc}.o"
    subprocess.run([cc, "-O2", "-g", "-c", str(src), "-o", str(obj)], check=True)
    if pahole:
        subprocess.run(["pahole", "-J", str(obj)], check=True, capture_output=True)
    return obj


@pytest.mark.parametrize("cc", compilers())
def test_audit_reports_constant_folded_static(tmp_path: Path, cc: str) -> None:
    obj = build(tmp_path, cc, NOINLINE)
    result = CliRunner().invoke(main, ["audit", "--btf", str(obj), "--format", "json"])
    assert result.exit_code == 1, result.output
    problems = {f["problem"] for f in json.loads(result.output)["findings"]
                if f["kfunc"] == "folded_kfunc"}
    assert problems & FOLDED, problems


@pytest.mark.parametrize("cc", compilers())
def test_audit_clean_when_used_noinline(tmp_path: Path, cc: str) -> None:
    obj = build(tmp_path, cc, USED_NOINLINE)
    result = CliRunner().invoke(main, ["audit", "--btf", str(obj)])
    assert result.exit_code == 0, result.output


def test_clang_folded_static_is_in_btf_but_misdescribed(tmp_path: Path) -> None:
    """The case BTF alone calls present: clang keeps the name, DWARF says otherwise."""
    if shutil.which("clang") is None:
        pytest.skip("clang (Debian clang) is not installed")
    obj = build(tmp_path, "clang", NOINLINE)
    index = open_kfuncs(obj)
    assert index.func_id("folded_kfunc")  # BTF has it, with the source's prototype
    text = CliRunner().invoke(main, ["audit", "--btf", str(obj)]).output
    assert "folded_kfunc: dw-cc-nocall" in text or "folded_kfunc: param-constant" in text


@pytest.mark.parametrize("cc", compilers())
def test_build_check_state_of_folded_static(tmp_path: Path, cc: str) -> None:
    """--build's per-object check says the same as the audit (it runs pahole itself)."""
    kfunc = SourceKfunc("folded_kfunc", "folded.c", 4)
    states = kfunc_states(encode_btf(build(tmp_path, cc, NOINLINE, pahole=False),
                                     tmp_path / "scratch"), [kfunc])
    assert states["folded_kfunc"].state != OK
    if cc == "clang":
        assert states["folded_kfunc"].state == STATE_MISDESCRIBED
    clean = kfunc_states(encode_btf(build(tmp_path, cc, USED_NOINLINE, pahole=False),
                                    tmp_path / "scratch"), [kfunc])
    assert clean["folded_kfunc"].ok, clean["folded_kfunc"].describe()


def test_unused_parameter_without_location_is_a_note_not_a_finding(tmp_path: Path) -> None:
    """clang keeps no location for a parameter the body never reads: harmless, said once."""
    if shutil.which("clang") is None or shutil.which("pahole") is None:
        pytest.skip("needs clang and pahole")
    fixture = Path(__file__).parent / "btf_fixtures"
    obj = tmp_path / "kfuncs.o"
    subprocess.run(["clang", "-O2", "-g", "-c", "-I", str(fixture / "include"),
                    str(fixture / "kernel/kfuncs.c"), "-o", str(obj)], check=True)
    subprocess.run(["pahole", "-J", str(obj)], check=True, capture_output=True)
    result = CliRunner().invoke(main, ["audit", "--btf", str(obj), str(fixture),
                                       "--format", "json"])
    report = json.loads(result.output)
    flagged = {f["kfunc"] for f in report["findings"]}
    assert "kf_tagged_global_unused" not in flagged
    assert any(n.startswith("kf_tagged_global_unused: unused parameter `unused`")
               for n in report["notes"])


def test_build_cache_keeps_the_dwarf_evidence(tmp_path: Path) -> None:
    """A warm --build judges a stored object as the cold one did."""
    if shutil.which("clang") is None:
        pytest.skip("clang (Debian clang) is not installed")
    from kfuncfix.outputs.buildcache import Blobs, ObjectResult, ResultCache

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "folded.c").write_text(SOURCE % {"marker": NOINLINE})
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "folded.c"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    btf = encode_btf(build(tmp_path, "clang", NOINLINE, pahole=False), tmp_path / "scratch")
    assert btf.dwarf and btf.dwarf["folded_kfunc"].out_of_line
    cache, blobs = ResultCache(tmp_path / "cache", ["salt"]), Blobs(repo, sha)
    cache.store(ObjectResult("folded.o", True, [], [], False, btf, ["folded.c"]), blobs)
    found = cache.lookup("folded.o", blobs)
    assert found is not None and found.btf is not None
    assert found.btf.dwarf == btf.dwarf
    kfunc = SourceKfunc("folded_kfunc", "folded.c", 4)
    assert kfunc_states(found.btf, [kfunc])["folded_kfunc"].state == STATE_MISDESCRIBED
