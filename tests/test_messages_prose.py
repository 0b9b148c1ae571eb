"""Commit messages, subjects and cover letters say what each patch did, no more.

A maintainer reads the message of each patch alone: it must not claim words
were dropped where none were, must not list 68 names the cover letter
already lists, must not call a group of a split "the tree", and must count
in English (`1 kfunc`, not `1 kfuncs`).
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import FileChange, commit_message, load_rule, plan
from kfuncfix.engine.messages import where
from kfuncfix.series import plan_series
from kfuncfix.words import plural
from tests.conftest import git_init, write_tree
from tests.rewrite_helper import kfunc_source
from tests.series_helper import git, header, patch_files

BTF_H = "#ifndef _LINUX_BTF_H\n#define _LINUX_BTF_H\n#define KF_ACQUIRE (1 << 0)\n#endif\n"


def change(path: str, old: bytes, new: bytes, kfuncs: list[str]) -> FileChange:
    return FileChange(path, old, new, kfuncs, [])


def test_dropped_words_are_named_only_where_a_patch_dropped_them() -> None:
    rule = load_rule("bpf_kfunc_tag")
    kept = change("kernel/a.c", b"int f(void)\n", b"__bpf_kfunc int f(void)\n", ["f"])
    dropped = change("kernel/b.c", b"noinline int g(void)\n", b"__bpf_kfunc int g(void)\n",
                     ["g"])
    _, body = commit_message(rule, [kept])
    assert "dropped" not in body and "noinline" not in body
    _, body = commit_message(rule, [kept, dropped])
    flat = " ".join(body.split())
    assert "the noinline that definitions had before is dropped" in flat
    assert "__used that" not in flat and "noinline and __used" not in flat
    for _, text in (commit_message(rule, [kept]), commit_message(rule, [kept, dropped])):
        assert "No functional change" not in text


def test_removed_diag_blocks_are_named_only_where_a_patch_removed_one() -> None:
    rule = load_rule("bpf_kfunc_macro")
    plain = change("kernel/a.c", b"int f(void)\n", b"BPF_KFUNC(int f(void))\n", ["f"])
    diag = change("kernel/b.c", b"__diag_push();\nint g(void)\n__diag_pop();\n",
                  b"BPF_KFUNC(int g(void))\n", ["g"])
    assert "__diag_push" not in commit_message(rule, [plain])[1]
    assert "__diag_push() blocks" in commit_message(rule, [plain, diag])[1]


def test_a_group_of_a_split_is_never_the_tree() -> None:
    paths = ["kernel/trace/bpf_trace.c", "net/bpf/test_run.c",
             "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c"]
    assert where(paths) == "the tree"
    assert where(paths, whole=False) == "bpf_trace.c, test_run.c and bpf_testmod.c"
    many = [f"dir{i}/a_rather_long_file_name_{i}.c" for i in range(4)]
    assert where(many, whole=False) == "the remaining files"
    assert where(["net/ipv4/a.c", "net/ipv4/b.c"], whole=False) == "net/ipv4/"


def test_counts_are_plural_only_when_they_should_be() -> None:
    assert [plural(n, "kfunc") for n in (0, 1, 2)] == ["0 kfuncs", "1 kfunc", "2 kfuncs"]
    assert plural(1, "patch") == "1 patch" and plural(3, "patch") == "3 patches"


def small_tree(root: Path, files: dict[str, str]) -> Path:
    repo = git_init(write_tree(root, {"Kconfig": "", "include/linux/btf.h": BTF_H,
                                      "Documentation/bpf/kfuncs.rst": DOC, **files}))
    git(repo, "config", "user.name", "Ann Example")
    git(repo, "config", "user.email", "ann@example.org")
    return repo


DOC = """\
=============================
BPF Kernel Functions (kfuncs)
=============================

2. Defining a kfunc
===================

An example is given below::

        struct task_struct *bpf_find_get_task_by_vpid(pid_t nr)
        {
                return find_get_task_by_vpid(nr);
        }
"""


def test_split_docs_puts_the_documentation_in_patch_2(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "tree", {"kernel/a.c": kfunc_source(
        "\nint bpf_a(int x)\n{\n\treturn x;\n}\n", ["bpf_a"])})
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["series", str(tree), "-o", str(out), "--split-docs",
                                       "--date", "2024-03-01T10:00:00Z"])
    assert result.exit_code == 0, result.output
    files = [p for p in patch_files(out) if not p.name.startswith("0000")]
    subjects = [header(p, "Subject") for p in files]
    assert subjects[1] == "[PATCH bpf-next 2/3] bpf: Document __bpf_kfunc in kfuncs.rst"
    first, second = (p.read_text() for p in files[:2])
    assert "diff --git a/include/linux/btf.h" in first and "diff --git a/Documentation" not in first
    assert "diff --git a/Documentation/bpf/kfuncs.rst" in second
    assert "diff --git a/include" not in second
    cover = (out / "0000-cover-letter.patch").read_text()
    assert "in a patch of its own" in " ".join(cover.split())


def test_without_split_docs_patch_1_says_it_documents_the_tag(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "tree", {"kernel/a.c": kfunc_source(
        "\nint bpf_a(int x)\n{\n\treturn x;\n}\n", ["bpf_a"])})
    result = plan(discover(tree), load_rule("bpf_kfunc_tag"))
    planned = plan_series(discover(tree), result, "none", "HEAD", history=False)
    first = planned.patches[0]
    assert "Documentation/bpf/kfuncs.rst" in first.changes
    assert "Explain __bpf_kfunc" in first.body
    assert "--split-docs" in " ".join(planned.cover.body.split())


FMODRET = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/btf.h>
#include <linux/btf_ids.h>

int bpf_call_me(int x)
{
	return x;
}

int bpf_attach_here(int x)
{
	return x;
}

BTF_SET8_START(call_ids)
BTF_ID_FLAGS(func, bpf_call_me)
BTF_SET8_END(call_ids)

BTF_SET8_START(hook_ids)
BTF_ID_FLAGS(func, bpf_attach_here)
BTF_SET8_END(hook_ids)

static const struct btf_kfunc_id_set call_set = {
	.owner = THIS_MODULE,
	.set   = &call_ids,
};

static const struct btf_kfunc_id_set hook_set = {
	.owner = THIS_MODULE,
	.set   = &hook_ids,
};

static int __init ids_init(void)
{
	int ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &call_set);

	return ret ?: register_btf_fmodret_id_set(&hook_set);
}
late_initcall(ids_init);
"""


def test_cover_letter_says_which_fmodret_targets_were_left_out_and_how_to_include_them(
        tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "tree", {"net/bpf/hooks.c": FMODRET})
    result = plan(discover(tree), load_rule("bpf_kfunc_tag"))
    assert result.kfuncs == ["bpf_call_me"]
    assert result.left_out == {"fmodret": ["bpf_attach_here"]}
    planned = plan_series(discover(tree), result, "none", "HEAD", history=False)
    cover = " ".join(planned.cover.body.split())
    assert "Left out: 1 fmodret target (bpf_attach_here())" in cover
    assert 'add "fmodret" to the kinds' in cover
