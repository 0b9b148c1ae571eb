"""Discovery on small trees written for the test: sets, registrations, resolution."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.errors import KfuncfixError
from kfuncfix.report import records
from tests.conftest import git_init, write_tree

BTF_H = """\
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H
struct btf_kfunc_id_set { void *owner; void *set; };
int register_btf_kfunc_id_set(int type, const struct btf_kfunc_id_set *s);
#define __bpf_kfunc __used noinline
#endif
"""

HEADER_XMACRO = """\
#ifndef _NET_FLOW_H
#define _NET_FLOW_H
#define FLOW_KFUNCS(X) \\
	X(flow_get_mark) \\
	X(flow_set_mark)
#endif
"""

SETS_C = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/btf.h>
#include <net/flow.h>

BTF_SET8_START(core_ids)
BTF_ID_FLAGS(func, core_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, core_release, KF_RELEASE)
#ifdef CONFIG_CORE_EXTRA
BTF_ID_FLAGS(func, core_extra)
#endif
BTF_ID_FLAGS(func, elsewhere_kfunc)
BTF_ID_FLAGS(func, static_elsewhere)
BTF_ID_FLAGS(func, arch_kfunc)
BTF_ID(func, plain_id_kfunc)
#define X(name) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)
FLOW_KFUNCS(X)
#undef X
UNKNOWN_LIST_MACRO(foo)
BTF_SET8_END(core_ids)

BTF_SET8_START(fmodret_ids)
BTF_ID_FLAGS(func, hook_target)
BTF_SET8_END(fmodret_ids)

BTF_SET_START(allow_list)
BTF_ID(func, not_a_kfunc)
BTF_SET_END(allow_list)

BTF_ID_LIST(dtor_ids)
BTF_ID(struct, core_obj)
BTF_ID(func, core_release)
BTF_ID(struct, other_obj)
BTF_ID(func, other_dtor)

static const struct btf_kfunc_id_set core_set = {
	.owner = THIS_MODULE,
	.set   = &core_ids,
};

static const struct btf_kfunc_id_set hook_set = {
	.owner = THIS_MODULE,
	.set   = &fmodret_ids,
};

struct sock *core_acquire(int id)
{
	return lookup(id);
}

void core_release(struct sock *sk, int unused)
{
	put(sk);
}

#ifdef CONFIG_CORE_EXTRA
static noinline int core_extra(void)
{
	return 1;
}
#endif

int plain_id_kfunc(void) { return 0; }
int flow_get_mark(void) { return 0; }
__bpf_kfunc int flow_set_mark(int m) { return m; }
int hook_target(int x) { return x; }
int not_a_kfunc(void) { return 0; }
void other_dtor(void *p) { free(p); }

static int __init core_init(void)
{
	const struct btf_id_dtor_kfunc dtors[] = {
		{ .btf_id = dtor_ids[0], .kfunc_btf_id = dtor_ids[1] },
		{ .btf_id = dtor_ids[2], .kfunc_btf_id = dtor_ids[3] },
	};
	int ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &core_set);
	ret = ret ?: register_btf_fmodret_id_set(&hook_set);
	return ret ?: register_btf_id_dtor_kfuncs(dtors, ARRAY_SIZE(dtors), THIS_MODULE);
}
"""

OTHER_C = """\
// SPDX-License-Identifier: GPL-2.0
/* elsewhere_kfunc is mentioned in a comment { */
static const char *s = "elsewhere_kfunc(void) {";

int elsewhere_kfunc(int a,
\t\t    int b)
{
	return a + b;
}

static int static_elsewhere(void)
{
	return 0;
}
"""

ARCH_X86 = "__weak int arch_kfunc(void) { return 0; }\n"
ARCH_ARM = "int arch_kfunc(void) { return 1; }\n"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "linux", {
        "Kconfig": "# kernel\n",
        "include/linux/btf.h": BTF_H,
        "include/net/flow.h": HEADER_XMACRO,
        "kernel/bpf/core_kfuncs.c": SETS_C,
        "net/core/other.c": OTHER_C,
        "arch/x86/kernel/arch.c": ARCH_X86,
        "arch/arm64/kernel/arch.c": ARCH_ARM,
        "Documentation/bpf/kfuncs.rst": "int core_acquire(int id)\n{\n}\n",
        "tools/perf/other.c": "int elsewhere_kfunc(void) { }\n",
    })


def by_name(recs):
    out: dict[str, list] = {}
    for r in recs:
        out.setdefault(r.name, []).append(r)
    return out


@pytest.mark.parametrize("as_git", [False, True])
def test_sets_are_classified_by_registration(tree: Path, as_git: bool):
    if as_git:
        git_init(tree)
    index = discover(tree)
    kinds = {s.name: s.kind for s in index.sets}
    assert kinds == {"core_ids": "kfunc", "fmodret_ids": "fmodret", "allow_list": "unregistered",
                     "dtor_ids": "dtor"}
    assert index.is_git == as_git
    names = {k.name for k in index.kfuncs}
    assert "not_a_kfunc" not in names
    assert {k.name for k in index.kfuncs if k.kind == "dtor"} == {"core_release", "other_dtor"}


def test_entries_keep_flags_conditions_and_macro_origin(tree: Path):
    index = discover(tree)
    entries = {e.name: e for s in index.sets for e in s.entries}
    assert entries["core_acquire"].flags == ("KF_ACQUIRE", "KF_RET_NULL")
    assert entries["core_extra"].condition == ("CONFIG_CORE_EXTRA",)
    assert entries["flow_set_mark"].via_macro == "FLOW_KFUNCS"
    assert entries["flow_set_mark"].flags == ("KF_TRUSTED_ARGS",)
    assert entries["plain_id_kfunc"].flags == ()
    [bad] = index.unresolved
    assert "UNKNOWN_LIST_MACRO" in bad.reason and bad.span.line == 18


def test_resolution_across_files_statics_and_variants(tree: Path):
    recs = by_name(records(discover(tree)))
    assert [(r.file, r.line) for r in recs["elsewhere_kfunc"]] == [("net/core/other.c", 5)]
    assert recs["static_elsewhere"][0].status == "unresolved"
    assert "only static definitions in other files: net/core/other.c:11" in (
        recs["static_elsewhere"][0].reason)
    assert sorted(r.file for r in recs["arch_kfunc"]) == [
        "arch/arm64/kernel/arch.c", "arch/x86/kernel/arch.c"]
    assert recs["core_extra"][0].file == "kernel/bpf/core_kfuncs.c"
    assert recs["core_extra"][0].condition == ["CONFIG_CORE_EXTRA"]


def test_status_risks_and_prototypes(tree: Path):
    recs = {r.name: r for r in records(discover(tree))}
    assert recs["flow_set_mark"].status == "tagged"
    assert recs["flow_get_mark"].status == "untagged"
    assert "global-without-__used" in recs["core_acquire"].risks
    assert recs["core_release"].unused_params == ["unused"]
    assert "unused-parameters" in recs["core_release"].risks
    assert sorted(recs["core_release"].kinds) == ["dtor", "kfunc"]
    assert recs["core_extra"].risks == []  # static noinline: nothing to fear
    assert recs["core_acquire"].prototype == "struct sock *core_acquire(int id)"
    assert recs["hook_target"].kind == "fmodret"


def test_list_json_fields(tree: Path):
    result = CliRunner().invoke(main, ["list", str(tree), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    required = {"name", "file", "line", "set", "kind", "flags", "condition", "status", "reason",
                "risks", "prototype"}
    assert all(required <= set(rec) for rec in data)
    unresolved = [r for r in data if r["status"] == "unresolved"]
    assert [r["name"] for r in unresolved] == ["static_elsewhere"]


def test_check_reports_untagged_kfuncs_only(tree: Path):
    result = CliRunner().invoke(main, ["check", str(tree)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert ("kernel/bpf/core_kfuncs.c:45: ERROR: bpf_kfunc_tag: "
            "kfunc core_acquire is not tagged __bpf_kfunc") in lines
    assert not any("flow_set_mark" in line or "hook_target" in line for line in lines)
    assert any(": WARNING: bpf_kfunc_tag: kfunc static_elsewhere: " in line for line in lines)


def test_check_clean_tree_exits_0(tmp_path: Path):
    tree = write_tree(tmp_path, {
        "Kconfig": "",
        "include/linux/btf.h": "#define __bpf_kfunc __used noinline\n",
        "k.c": "BTF_SET8_START(s)\nBTF_ID_FLAGS(func, f)\nBTF_SET8_END(s)\n"
               "static const struct btf_kfunc_id_set ks = { .set = &s };\n"
               "__bpf_kfunc int f(void) { return 0; }\n"
               "void init(void) { register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &ks); }\n",
    })
    result = CliRunner().invoke(main, ["check", str(tree)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_check_reports_tags_the_tree_does_not_define(tmp_path: Path):
    """Tagged by hand, or by an `apply` without --with-definition: every tagged
    definition is an error (the file does not compile).  Commits and patches:
    tests/test_trust_lint.py."""
    files = {"Kconfig": "", "include/linux/btf.h": "#define KF_ACQUIRE 1\n",
             "k.c": "BTF_SET8_START(s)\nBTF_ID_FLAGS(func, f)\nBTF_SET8_END(s)\n"
                    "static const struct btf_kfunc_id_set ks = { .set = &s };\n"
                    "__bpf_kfunc int f(void) { return 0; }\n"
                    "void init(void) { register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &ks); }\n"}
    tree = write_tree(tmp_path, files)
    result = CliRunner().invoke(main, ["-q", "check", str(tree)])
    assert result.exit_code == 1, result.output
    assert result.stdout == (
        "k.c:5: ERROR: bpf_kfunc_tag: f uses __bpf_kfunc, which this tree does not define: "
        "it does not compile (`kfuncfix apply --with-definition` adds it)\n")
    files["include/linux/btf.h"] += "#define __bpf_kfunc __used noinline\n"
    defined = write_tree(tmp_path / "defined", files)
    assert CliRunner().invoke(main, ["-q", "check", str(defined)]).exit_code == 0


@pytest.mark.parametrize("path, message", [
    ("missing", "no such directory"),
    ("plain", "not a kernel tree"),
])
def test_bad_trees_are_usage_errors(tmp_path: Path, path: str, message: str):
    (tmp_path / "plain").mkdir()
    result = CliRunner().invoke(main, ["check", str(tmp_path / path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("kfuncfix: error: ") and message in result.stderr
    assert "Traceback" not in result.output
    with pytest.raises(KfuncfixError):
        discover(tmp_path / path)


def test_check_patch_reports_only_what_the_patch_adds(tree: Path):
    git_init(tree)
    path = tree / "kernel/bpf/core_kfuncs.c"
    text = path.read_text()
    path.write_text(
        text.replace("BTF_ID(func, plain_id_kfunc)\n",
                     "BTF_ID(func, plain_id_kfunc)\nBTF_ID_FLAGS(func, new_kfunc)\n")
        + "\nint new_kfunc(void)\n{\n\treturn 0;\n}\n"
    )
    patch = subprocess.run(["git", "-C", str(tree), "diff"], capture_output=True,
                           check=True).stdout
    subprocess.run(["git", "-C", str(tree), "checkout", "-q", "--", "."], check=True)
    result = CliRunner().invoke(main, ["check", str(tree), "--patch", "-"], input=patch)
    assert result.exit_code == 1, result.output
    assert [line.split(": ", 1)[1] for line in result.stdout.splitlines()] == [
        "ERROR: bpf_kfunc_tag: kfunc new_kfunc is not tagged __bpf_kfunc"]
    assert path.read_text() == text  # the tree was not written


def test_check_patch_that_does_not_apply(tree: Path):
    bogus = (b"--- a/net/core/other.c\n+++ b/net/core/other.c\n@@ -1,1 +1,1 @@\n"
             b"-no such line\n+x\n")
    result = CliRunner().invoke(main, ["check", str(tree), "--patch", "-"], input=bogus)
    assert result.exit_code == 2
    assert "does not apply" in result.stderr


def test_rev_reads_the_commit_not_the_worktree(tree: Path):
    git_init(tree)
    path = tree / "net/core/other.c"
    text = path.read_text()
    path.write_text(text.replace("int elsewhere_kfunc(", "__bpf_kfunc int elsewhere_kfunc("))
    (tree / "kernel/bpf/core_kfuncs.c").unlink()
    with pytest.raises(KfuncfixError, match="unknown revision"):
        discover(tree, rev="no-such-branch")
    recs = {r.name: r for r in records(discover(tree, rev="HEAD"))}
    assert recs["elsewhere_kfunc"].status == "untagged"
    assert recs["core_acquire"].file == "kernel/bpf/core_kfuncs.c"
    assert discover(tree).kfuncs == []  # the worktree lost the set file


def test_unreadable_file_makes_an_incomplete_result(tree: Path, monkeypatch):
    from kfuncfix.treefiles import TreeFiles

    real_read = TreeFiles.read

    def failing_read(self, rel: str) -> bytes:
        if rel == "net/core/other.c":
            raise PermissionError(13, "Permission denied", rel)
        return real_read(self, rel)

    monkeypatch.setattr(TreeFiles, "read", failing_read)
    result = CliRunner().invoke(main, ["list", str(tree)])
    assert result.exit_code == 1
    assert "net/core/other.c: cannot read: Permission denied" in result.stderr
    assert "the result below is incomplete" in result.stderr
    assert "Traceback" not in result.output


def test_scanner_warnings_name_the_file(tmp_path: Path):
    tree = write_tree(tmp_path, {
        "Kconfig": "",
        "k.c": "BTF_SET8_START(s)\nBTF_ID_FLAGS(func, f)\nBTF_SET8_END(s)\n"
               "static const struct btf_kfunc_id_set ks = { .set = &s };\n"
               "void init(void) { register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &ks); }\n"
               "int f(void) { return 0; }\n#if CONFIG_X\nint g(void) {\n",
    })
    result = CliRunner().invoke(main, ["check", str(tree)])
    assert result.exit_code == 1  # f is untagged; the broken tail is only warned about
    assert "kfuncfix: warning: k.c: 1 unterminated #if block" in result.stderr
    assert "k.c:6: ERROR: bpf_kfunc_tag: kfunc f is not tagged __bpf_kfunc" in result.stdout


def test_word_matches_are_the_leading_word_boundary_matches() -> None:
    """`word_matches` finds what `\\b` + the pattern finds, without the per-byte cost."""
    import random
    import re

    from kfuncfix.discovery.sets import ID_LIST_RE, SET_START_RE, word_matches

    rng = random.Random(7)
    pieces = [b"BTF_ID_LIST(", b"BTF_KFUNCS_START(x)", b"BTF_SET_START( y )", b"X", b"_",
              b" ", b"\n", b"(", b"BTF_ID_LIST_SINGLE(", b"9"]
    for _ in range(300):
        text = b"".join(rng.choice(pieces) for _ in range(12))
        for regex in (ID_LIST_RE, SET_START_RE):
            slow = re.compile(rb"\b" + regex.pattern)
            assert [m.span() for m in word_matches(regex, text)] == \
                [m.span() for m in slow.finditer(text)]
