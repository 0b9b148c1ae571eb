"""`kfuncfix experiment` on the bundled probe, and the pieces it is made of.

The end-to-end tests (marked build: about 3 s) compile the probe with every marker under gcc and
clang (whichever are installed) and pin only what holds for every compiler
version we know (gcc 12/14, clang 14/16/19); the other cells are printed.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.errors import KfuncfixError
from kfuncfix.experiment import compilers
from kfuncfix.experiment.markers import Marker, default_markers, parse_marker
from kfuncfix.experiment.probe import SHAPES, ProbeTarget, probe_kfuncs
from kfuncfix.experiment.realtree import MARKER_MACRO, replay_command
from kfuncfix.experiment.render import to_markdown
from kfuncfix.experiment.run import run_matrix
from kfuncfix.experiment.verdict import (
    CLONE_ONLY,
    COMPILE_ERROR,
    CONSTANT,
    DW_NOCALL,
    GONE,
    NAMES_CLONE,
)

LOST = {GONE, CLONE_ONLY, COMPILE_ERROR}
COMPILERS = [cc for cc in ("gcc", "clang") if shutil.which(cc)]


@pytest.fixture(scope="module")
def probe_rows() -> dict[str, list[dict[str, str]]]:
    """Every default marker on the probe, per compiler; the matrix is printed (-s)."""
    if shutil.which("pahole") is None:
        pytest.skip("pahole (Debian dwarves) is not installed")
    found = [c for c in (compilers.find(n) for n in COMPILERS) if c is not None]
    result = run_matrix([ProbeTarget()], found, default_markers(), None, lambda _: None)
    print(to_markdown(result))  # the cells not pinned below: they differ between versions
    out: dict[str, list[dict[str, str]]] = {}
    for c in found:
        out[c.name] = [r.to_json() for r in result.rows if r.compiler == c.label]
    return out


def cell(rows: list[dict[str, str]], marker: str, shape: str) -> str:
    return next(r["verdict"] for r in rows if r["marker"] == marker and r["shape"] == shape)


@pytest.mark.build
@pytest.mark.parametrize("cc", COMPILERS)
def test_used_noinline_never_loses_a_kfunc(probe_rows: dict[str, list[dict[str, str]]],
                                           cc: str) -> None:
    rows = probe_rows[cc]
    verdicts = {r["shape"]: r["verdict"] for r in rows if r["marker"] == "__used noinline"}
    assert set(verdicts) == {code for code, _ in SHAPES.values()}
    assert not LOST & set(verdicts.values()), verdicts


@pytest.mark.build
@pytest.mark.parametrize("cc", COMPILERS)
def test_no_marker_loses_the_static_with_no_caller(probe_rows: dict[str, list[dict[str, str]]],
                                                   cc: str) -> None:
    assert cell(probe_rows[cc], "none", "S3") in {GONE, CLONE_ONLY}


@pytest.mark.build
@pytest.mark.parametrize("cc", COMPILERS)
def test_weak_on_a_static_does_not_compile(probe_rows: dict[str, list[dict[str, str]]],
                                           cc: str) -> None:
    for shape in ("S1", "S2", "S3", "S4"):
        assert cell(probe_rows[cc], "__used __weak noinline", shape) == COMPILE_ERROR
    detail = next(r["detail"] for r in probe_rows[cc]
                  if r["marker"] == "__used __weak noinline")
    assert "weak" in detail and detail.startswith("probe.c:")


@pytest.mark.build
def test_clang_noinline_folded_static_is_not_reported_present(
        probe_rows: dict[str, list[dict[str, str]]]) -> None:
    """clang-16 says DW_CC_nocall, clang-14 DW_AT_const_value: both are BTF lying."""
    if "clang" not in probe_rows:
        pytest.skip("clang (Debian clang) is not installed")
    assert cell(probe_rows["clang"], "noinline", "S1") in {DW_NOCALL, CONSTANT, NAMES_CLONE}


def test_formats_one_row_per_compiler_marker_kfunc(tmp_path: Path) -> None:
    if not COMPILERS:
        pytest.skip("no C compiler")
    args = ["experiment", "--cc", COMPILERS[0], "--marker", "plain=", "--marker",
            "kept=__used noinline"]
    out = CliRunner().invoke(main, [*args, "--format", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 2 * len(SHAPES)
    assert {r["marker"] for r in rows} == {"plain", "kept"}
    assert all(r["pahole"] and r["compiler"] and r["file"] == "probe.c" for r in rows)
    md = CliRunner().invoke(main, args).stdout
    assert "| marker | G1 | G2 | G3 | G4 | S1 | S2 | S3 | S4 |" in md
    assert "| `kept` |" in md


def test_missing_compiler_is_one_line_and_the_run_goes_on() -> None:
    if not COMPILERS:
        pytest.skip("no C compiler")
    result = CliRunner().invoke(main, ["experiment", "--cc", f"clang-999,{COMPILERS[0]}",
                                       "--marker", "none=", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "clang-999: not installed (Debian package clang-999)" in result.stderr
    assert json.loads(result.stdout)["rows"]


def test_budget_spent_marks_cells_not_run() -> None:
    if not COMPILERS:
        pytest.skip("no C compiler")
    result = CliRunner().invoke(main, ["experiment", "--cc", COMPILERS[0], "--budget", "0",
                                       "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert not data["complete"]
    assert {r["verdict"] for r in data["rows"]} <= {"not-run", "ok", "gone", "clone-only",
                                                    "no-location", "const-param", "nocall",
                                                    "compile-error", "btf-names-clone"}


def test_usage_errors_are_one_line() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["experiment", "--file", "net/x.c"])
    assert out.exit_code == 2 and "give TREE" in out.stderr
    out = runner.invoke(main, ["experiment", "--marker", "noequals"])
    assert out.exit_code == 2 and "NAME=ATTRS" in out.stderr
    out = runner.invoke(main, ["experiment", "--cc", "nosuchcc-1"])
    assert out.exit_code == 2 and "none of these compilers" in out.stderr


def test_marker_text() -> None:
    assert Marker("x", "").c_text() == ""
    assert Marker("x", "__used noinline").c_text() == "__used noinline"
    assert (Marker("x", '__used visibility("hidden")').c_text()
            == '__used __attribute__((visibility("hidden")))')
    assert parse_marker("O0=optimize(\"O0\")").attrs == 'optimize("O0")'
    with pytest.raises(KfuncfixError, match="unbalanced"):
        parse_marker("bad=optimize(\"O0\"")
    assert [m.name for m in default_markers()][:2] == ["none", "__used"]


def test_probe_kfuncs_have_their_prototypes() -> None:
    kfuncs = {k.shape: k for k in probe_kfuncs()}
    assert set(kfuncs) == {code for code, _ in SHAPES.values()}
    assert str(kfuncs["S2"].prototype) == (
        "long probe_s2_unused_param(struct probe_obj *obj, int flags)")


@pytest.mark.parametrize("prefix", ["cmd", "savedcmd"])
def test_replay_command_swaps_source_output_and_adds_marker(tmp_path: Path,
                                                           prefix: str) -> None:
    cmd = tmp_path / ".tcp_cubic.o.cmd"
    cmd.write_text(
        f"{prefix}_net/ipv4/tcp_cubic.o := gcc -Wp,-MMD,net/ipv4/.tcp_cubic.o.d -nostdinc "
        "-O2 '-DKBUILD_MODNAME=\"tcp_cubic\"' -c -o net/ipv4/tcp_cubic.o "
        "/src/net/ipv4/tcp_cubic.c  ; ./tools/objtool/objtool orc generate x.o\n"
        "\nsource_net/ipv4/tcp_cubic.o := /src/net/ipv4/tcp_cubic.c\n")
    argv = replay_command(cmd, Path("/src/net/ipv4/tcp_cubic.c"), Path("/s/tcp_cubic.c"),
                          Path("/s/out.o"), Marker("m", "__used noinline"))
    assert argv[:2] == ["gcc", "-nostdinc"]
    assert "-DKBUILD_MODNAME=\"tcp_cubic\"" in argv
    assert argv[argv.index("-o") + 1] == "/s/out.o"
    assert "/s/tcp_cubic.c" in argv and "/src/net/ipv4/tcp_cubic.c" not in argv
    assert "objtool" not in " ".join(argv)
    assert argv[-2:] == ["-iquote/src/net/ipv4", f"-D{MARKER_MACRO}=__used noinline"]


def test_marked_source_puts_the_marker_in_place_of_each_kfuncs_own_words() -> None:
    from kfuncfix.discover import discover
    from kfuncfix.experiment.realtree import choose_files, marked_source

    tree = Path(__file__).parent.parent / "kfuncfix" / "sample" / "tree"
    index = discover(tree)
    data, kfuncs = marked_source(index, "kernel/bpf/taskref.c")
    original = (tree / "kernel/bpf/taskref.c").read_bytes()
    names = {k.name for k in kfuncs}
    assert "bpf_taskref_acquire" in names
    assert all(k.prototype is not None for k in kfuncs if k.name == "bpf_taskref_acquire")
    assert b"noinline struct bpf_taskref *bpf_taskref_acquire(" in original
    assert f"{MARKER_MACRO} struct bpf_taskref *bpf_taskref_acquire(".encode() in data
    # Only the definitions' words changed: the rest of the file is byte for byte the same.
    assert data.count(MARKER_MACRO.encode()) >= len(names)
    assert data.count(b"\n") == original.count(b"\n")
    assert b"__kfunc_marker void bpf_taskref_dtor(void *ref)" in data
    assert choose_files(index)
    with pytest.raises(KfuncfixError, match="no kfunc of the tree"):
        marked_source(index, "Makefile")


def test_tree_that_is_not_a_kernel_is_one_line(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["experiment", str(tmp_path), "--cc", COMPILERS[0]
                                    if COMPILERS else "gcc", "--no-probe"])
    assert out.exit_code == 2
    assert "not a kernel tree" in out.stderr or "none of these compilers" in out.stderr
    out = CliRunner().invoke(main, ["experiment", "--no-probe"])
    assert out.exit_code == 2 and "nothing to measure" in out.stderr
