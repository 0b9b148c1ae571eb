"""The BTF audit: its checks on synthetic BTF, then the real failure with gcc and pahole.

The proof tests compile tests/btf_fixtures/kernel/kfuncs.c (kfunc-like functions
untagged and tagged `__used noinline`) with gcc -O2 -g, encode BTF with pahole -J
and check that the audit names exactly the functions the compiler took away.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.btf import elf
from kfuncfix.btf.audit import (
    MISSING,
    NO_DECL_TAG,
    NOT_IN_TREE,
    PROTOTYPE,
    UNRESOLVED,
    AuditReport,
    SourceKfunc,
    audit_btf,
    audit_tree,
    from_tree,
)
from kfuncfix.btf.btf_ids import IdSet8
from kfuncfix.btf.compare import compare, normalize
from kfuncfix.btf.kfuncs import BPF_KFUNC_TAG, KfuncIndex, index_kfuncs
from kfuncfix.btf.reader import parse_btf
from kfuncfix.btf.types import Kind
from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.model import (
    RISK_GLOBAL_NO_USED,
    RISK_STATIC_INLINE,
    RISK_STATIC_NO_NOINLINE,
    RISK_UNUSED_PARAMS,
)
from kfuncfix.source.prototype import parse_prototype_text
from tests.btf_writer import BTFWriter

FIXTURES = Path(__file__).parent / "btf_fixtures"
UNTAGGED_LOST_IN_OBJECT = {"kf_static", "kf_static_unused"}
TAGGED = {"kf_tagged_static", "kf_tagged_static_unused", "kf_tagged_global_unused"}


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian packages gcc, dwarves, bpftool, binutils)")


def proto(text: str):
    name = text.split("(")[0].split()[-1].lstrip("*")
    return parse_prototype_text(name, text)


def kernel_btf(funcs: dict[str, tuple[str, list[tuple[str, str]]]], tagged: set[str]) -> bytes:
    """BTF with FUNCs given as name -> (return type, [(param, type)]); types by name.

    Only the spellings the tests use are known: int, long, u32, s32, struct task *.
    """
    w = BTFWriter()
    t_int = w.int_type("int", 4)
    t_long = w.int_type("long int", 8)
    t_ulong = w.int_type("long unsigned int", 8, signed=False)
    t_u32 = w.ref(Kind.TYPEDEF, w.int_type("unsigned int", 4, signed=False), "u32")
    t_s32 = w.ref(Kind.TYPEDEF, t_int, "s32")
    t_task = w.ref(Kind.PTR, w.composite(Kind.STRUCT, "task", 4, [("pid", t_int, 0, 0)]))
    types = {
        "void": 0,
        "int": t_int,
        "long": t_long,
        "long unsigned int": t_ulong,
        "u32": t_u32,
        "s32": t_s32,
        "struct task *": t_task,
    }
    for name, (ret, params) in funcs.items():
        fp = w.func_proto(types[ret], [(p, types[t]) for p, t in params])
        func = w.func(name, fp)
        if name in tagged:
            w.decl_tag(BPF_KFUNC_TAG, func)
    return w.to_bytes()


def index_of(
    funcs: dict[str, tuple[str, list[tuple[str, str]]]],
    tagged: set[str] = frozenset(),
    sets: list[IdSet8] | None = None,
    symbols: list[str] | None = None,
) -> KfuncIndex:
    syms = None if symbols is None else [elf.Symbol(s, 0, 0, 2, 1) for s in symbols]
    return index_kfuncs(parse_btf(kernel_btf(funcs, tagged)), sets, syms)


def only(report: AuditReport, kfunc: str):
    (finding,) = [f for f in report.findings if f.kfunc == kfunc]
    return finding


TASK_FN = ("int", [("t", "struct task *")])


# -- checks on synthetic BTF ---------------------------------------------------


@pytest.mark.parametrize(
    "risks, unused, cause",
    [
        ((RISK_STATIC_INLINE,), (), "inlined: defined static inline"),
        ((RISK_STATIC_NO_NOINLINE,), (), "inlined or elided: static without noinline"),
        (
            (RISK_STATIC_NO_NOINLINE, RISK_UNUSED_PARAMS),
            ("flags",),
            "cloned without its unused parameter `flags`",
        ),
        ((RISK_GLOBAL_NO_USED,), (), "under LTO: global without __used"),
        ((RISK_UNUSED_PARAMS,), ("x",), "parameter optimized out: unused parameter `x`"),
    ],
)
def test_missing_kfunc_names_the_risk(risks, unused, cause: str) -> None:
    index = index_of({"other": TASK_FN})
    src = SourceKfunc(
        "bpf_gone", "k.c", 7, proto("int bpf_gone(struct task *t)"), risks, False, unused
    )
    finding = only(audit_tree(index, [src]), "bpf_gone")
    assert (finding.problem, finding.file, finding.line) == (MISSING, "k.c", 7)
    assert cause in finding.cause
    assert "__bpf_kfunc" in finding.fix


def test_tagged_kfunc_missing_is_not_blamed_on_the_compiler() -> None:
    index = index_of({"other": TASK_FN})
    src = SourceKfunc("bpf_gone", risks=(RISK_UNUSED_PARAMS,), tagged=True, unused_params=("t",))
    finding = only(audit_tree(index, [src]), "bpf_gone")
    assert "not built" in finding.cause and "__bpf_kfunc" not in finding.fix


def test_clone_and_symbol_name_the_cause() -> None:
    index = index_of({"other": TASK_FN}, symbols=["bpf_a.isra.0", "bpf_b", "other"])
    report = audit_tree(index, [SourceKfunc("bpf_a"), SourceKfunc("bpf_b"), SourceKfunc("bpf_c")])
    assert "only the clone bpf_a.isra.0" in only(report, "bpf_a").cause
    assert "pahole dropped it" in only(report, "bpf_b").cause
    assert "not built" in only(report, "bpf_c").cause


def test_decl_tag_check() -> None:
    funcs = {"bpf_tagged": TASK_FN, "bpf_plain": TASK_FN, "bpf_dtor": TASK_FN}
    index = index_of(funcs, tagged={"bpf_tagged"})
    report = audit_tree(
        index,
        [
            SourceKfunc("bpf_tagged"),
            SourceKfunc("bpf_plain"),
            SourceKfunc("bpf_dtor", dtor_only=True),
        ],
    )
    assert {c.name: c.decl_tag for c in report.checks} == {
        "bpf_tagged": True,
        "bpf_plain": False,
        "bpf_dtor": False,
    }
    assert [(f.kfunc, f.problem) for f in report.findings] == [("bpf_plain", NO_DECL_TAG)]


def test_no_decl_tags_at_all_means_tags_are_not_checked() -> None:
    report = audit_tree(index_of({"bpf_plain": TASK_FN}), [SourceKfunc("bpf_plain")])
    assert report.checks[0].decl_tag is None and not report.findings
    assert any("no bpf_kfunc decl tags" in n for n in report.notes)


def test_prototype_match_ignores_spelling_differences() -> None:
    funcs = {"bpf_x": ("long unsigned int", [("t", "struct task *"), ("v", "u32")])}
    src = SourceKfunc("bpf_x", prototype=proto("unsigned long bpf_x(struct task *t, u32 v)"))
    report = audit_tree(index_of(funcs), [src])
    assert report.checks[0].prototype == "match" and not report.findings


def test_fewer_parameters_in_btf_is_a_parameter_optimized_out() -> None:
    funcs = {"bpf_x": TASK_FN}
    src = SourceKfunc("bpf_x", prototype=proto("int bpf_x(struct task *t, int unused)"))
    finding = only(audit_tree(index_of(funcs), [src]), "bpf_x")
    assert finding.problem == PROTOTYPE
    assert finding.detail == "1 parameters in BTF, 2 in source"
    assert "parameter optimized out" in finding.cause


def test_parameter_name_and_type_mismatches() -> None:
    funcs = {"bpf_x": ("int", [("task", "struct task *"), ("id", "s32")])}
    src = SourceKfunc("bpf_x", prototype=proto("int bpf_x(struct task *t, u32 id)"))
    finding = only(audit_tree(index_of(funcs), [src]), "bpf_x")
    assert finding.detail == (
        "parameter 1 name: source `t`, BTF `task`; parameter 2 type: source `u32`, BTF `s32`"
    )


def test_btf_kfunc_missing_from_tree_pairs_with_a_rename() -> None:
    funcs = {"bpf_new": ("int", [("t", "struct task *"), ("n", "int")]), "bpf_kept": TASK_FN}
    index = index_of(funcs, tagged={"bpf_new", "bpf_kept"})
    old = SourceKfunc("bpf_old", prototype=proto("int bpf_old(struct task *t, int n)"), tagged=True)
    report = audit_tree(index, [old, SourceKfunc("bpf_kept")])
    assert only(report, "bpf_new").problem == NOT_IN_TREE
    assert "renamed: the tree has bpf_old" in only(report, "bpf_new").cause
    assert "renamed: BTF has bpf_new" in only(report, "bpf_old").cause


def test_known_sets_tell_unbuilt_from_lost() -> None:
    sets = [IdSet8("ids", 1, ("bpf_lost", "bpf_here"), (0, 0))]
    index = index_of({"bpf_here": TASK_FN}, sets=sets, symbols=[])
    srcs = [SourceKfunc("bpf_lost"), SourceKfunc("bpf_here"), SourceKfunc("bpf_elsewhere")]
    report = audit_tree(index, srcs)
    assert [(f.kfunc, f.problem) for f in report.findings] == [("bpf_lost", MISSING)]
    assert {c.name: c.built for c in report.checks}["bpf_elsewhere"] is False


def test_audit_without_tree_lists_btf_kfuncs_and_lost_set_entries() -> None:
    sets = [
        IdSet8("kfuncs", 1, ("bpf_here", "bpf_lost"), (0, 0)),
        IdSet8("not_kfuncs", 0, ("fmodret_target",), (0,)),
    ]
    index = index_of({"bpf_here": TASK_FN, "bpf_tag": TASK_FN}, {"bpf_tag"}, sets, [])
    report = audit_btf(index)
    assert [(k.name, k.decl_tagged, k.sets) for k in report.btf_kfuncs] == [
        ("bpf_here", False, ("kfuncs",)),
        ("bpf_lost", False, ("kfuncs",)),
        ("bpf_tag", True, ()),
    ]
    assert str(report.btf_kfuncs[0].prototype) == "int bpf_here(struct task *t)"
    assert [(f.kfunc, f.problem) for f in report.findings] == [("bpf_lost", UNRESOLVED)]


@pytest.mark.parametrize(
    "a, b",
    [
        ("unsigned long", "long unsigned int"),
        ("unsigned", "unsigned int"),
        ("long long", "long long int"),
        ("signed char", "signed char"),
        ("u32 [4]", "u32 *"),
        ("char * const", "char *const"),
    ],
)
def test_normalize_equal(a: str, b: str) -> None:
    assert normalize(a, param=True) == normalize(b, param=True)


@pytest.mark.parametrize(
    "a, b",
    [("char", "signed char"), ("unsigned char", "char"), ("long", "long long"), ("u32", "s32")],
)
def test_normalize_different(a: str, b: str) -> None:
    assert normalize(a) != normalize(b)


def test_macro_and_function_types_are_not_compared() -> None:
    src = proto("int f(MY_TYPE x, int (*cb)(int a))")
    btf = proto("int f(long x, int (*cb)(int))")
    assert compare(src, btf) == []


# -- proof with gcc -O2 -g and pahole -J ----------------------------------------


def _compile(out_dir: Path, *extra: str, link: bool = False) -> Path:
    need("gcc", "pahole")
    out = out_dir / ("kfuncs" if link else "kfuncs.o")
    sources = [FIXTURES / "kernel/kfuncs.c"] + ([FIXTURES / "main.c"] if link else [])
    cmd = ["gcc", "-O2", "-g", *extra, "-I", FIXTURES / "include", *sources, "-o", out]
    subprocess.run(cmd if link else [*cmd[:-2], "-c", *cmd[-2:]], check=True)
    subprocess.run(["pahole", "-J", out], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree") / "linux"
    shutil.copytree(FIXTURES, root)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture as an object file, its raw .BTF, and an LTO-linked program."""
    out = tmp_path_factory.mktemp("built")
    obj = _compile(out)
    need("objcopy")
    raw = out / "kfuncs.btf"
    subprocess.run(["objcopy", "--dump-section", f".BTF={raw}", obj], check=True)
    lto_dir = out / "lto"
    lto_dir.mkdir()
    return {"obj": obj, "raw": raw, "lto": _compile(lto_dir, "-flto", link=True)}


def _nm_functions(path: Path) -> set[str]:
    out = subprocess.run(["nm", path], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split()[-2:-1] in (["t"], ["T"])}


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_discovery_feeds_the_audit(tree: Path) -> None:
    sources = {k.name: k for k in from_tree(discover(tree))}
    assert set(sources) == UNTAGGED_LOST_IN_OBJECT | TAGGED | {"kf_global_unused"}
    assert {n for n, k in sources.items() if k.tagged} == TAGGED
    assert sources["kf_static_unused"].unused_params == ("unused",)


@pytest.mark.parametrize("which", ["raw", "obj"])
def test_object_btf_loses_the_untagged_static_kfuncs(tree: Path, built, which: str) -> None:
    code, out = _run("audit", "--btf", built[which], tree, "--format", "json")
    assert code == 1
    report = json.loads(out)
    missing = {f["kfunc"]: f for f in report["findings"] if f["problem"] == MISSING}
    assert set(missing) == UNTAGGED_LOST_IN_OBJECT
    assert {f["kfunc"] for f in report["findings"]} == UNTAGGED_LOST_IN_OBJECT
    checks = {c["name"]: c for c in report["checks"]}
    for name in TAGGED | {"kf_global_unused"}:
        assert checks[name]["in_btf"] and checks[name]["prototype"] == "match", name
    assert missing["kf_static"]["file"] == "kernel/kfuncs.c"
    clones = sorted(s for s in _nm_functions(built["obj"]) if s.startswith("kf_static_unused."))
    if which == "obj" and clones:
        assert clones[0] in missing["kf_static_unused"]["cause"]
    else:
        assert "unused parameter `unused`" in missing["kf_static_unused"]["cause"]


def test_lto_also_loses_the_untagged_global(tree: Path, built) -> None:
    code, out = _run("audit", "--btf", built["lto"], tree)
    assert code == 1
    lost = {line.split(": ")[1] for line in out.splitlines() if ": missing-from-btf:" in line}
    assert lost == UNTAGGED_LOST_IN_OBJECT | {"kf_global_unused"}
    assert "kf_tagged" not in "\n".join(line for line in out.splitlines() if "missing" in line)


def test_object_without_tree_reports_the_set_entries_btf_lost(built) -> None:
    code, out = _run("audit", "--btf", built["obj"], "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert {f["kfunc"] for f in report["findings"]} == UNTAGGED_LOST_IN_OBJECT
    assert all(f["problem"] == UNRESOLVED for f in report["findings"])
    listed = {k["name"]: k for k in report["btf_kfuncs"]}
    assert set(listed) == UNTAGGED_LOST_IN_OBJECT | TAGGED | {"kf_global_unused"}
    assert listed["kf_tagged_static_unused"]["prototype"] == (
        "long int kf_tagged_static_unused(struct kf_task *t, int unused, long int mul)"
    )


def test_text_output_and_clean_exit(tmp_path: Path, built) -> None:
    w = BTFWriter()
    func = w.func("bpf_fine", w.func_proto(w.int_type("int", 4), []))
    w.decl_tag(BPF_KFUNC_TAG, func)
    clean = tmp_path / "clean.btf"
    clean.write_bytes(w.to_bytes())
    code, out = _run("audit", "--btf", clean)
    assert code == 0
    assert out.splitlines()[:2] == [
        "1 kfunc in BTF (1 decl-tagged bpf_kfunc, 0 in id sets)",
        "  int bpf_fine(void)  [tag]",
    ]
    assert out.splitlines()[-1] == "0 findings"


def test_bad_btf_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00" + bytes(8))
    code, out = _run("audit", "--btf", bad)
    assert code == 2
    assert out.strip().startswith("kfuncfix: error:") and len(out.strip().splitlines()) == 1
    code, out = _run("audit", "--btf", tmp_path / "absent.btf")
    assert code == 2


def test_split_btf_needs_its_base(tmp_path: Path) -> None:
    w = BTFWriter()
    t_int = w.int_type("int", 4)
    base = tmp_path / "vmlinux.btf"
    base.write_bytes(w.to_bytes())
    s = BTFWriter(parse_btf(base.read_bytes()))
    s.decl_tag(BPF_KFUNC_TAG, s.func("mod_kfunc", s.func_proto(t_int, [("x", t_int)])))
    module = tmp_path / "module.btf"
    module.write_bytes(s.to_bytes())
    code, out = _run("audit", "--btf", module)
    assert code == 2 and "pass --base" in out
    code, out = _run("audit", "--btf", module, "--base", base)
    assert code == 0 and "  int mod_kfunc(int x)  [tag]" in out.splitlines()
