"""`series --check` runs the tree's own checkpatch.pl --strict and kernel-doc -none.

A small git tree carrying Linux 6.1's scripts (as committed: perl, read from
the scratch worktree the series is applied to) and a few kfuncs: a rule that
breaks kernel-doc is caught and the warning is named with its patch; what the
old lines had already (a line too long before the tag) is not counted as new.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.engine import load_rule
from kfuncfix.outputs.checkseries import check_series
from kfuncfix.series import expected_findings
from tests.conftest import git_init, write_tree
from tests.rewrite_helper import kfunc_source
from tests.series_helper import git

pytestmark = pytest.mark.realtree

SCRIPTS = ["scripts/checkpatch.pl", "scripts/spelling.txt", "scripts/const_structs.checkpatch",
           "scripts/kernel-doc"]
RULES = Path(__file__).resolve().parent.parent / "rules"
BTF_H = "#ifndef _LINUX_BTF_H\n#define _LINUX_BTF_H\n#define KF_ACQUIRE (1 << 0)\n#endif\n"
KFUNCS = kfunc_source("""
/**
 * bpf_documented - a kfunc with a kernel-doc comment
 * @x: a value
 *
 * Return: @x.
 */
int bpf_documented(int x)
{
	return x;
}

noinline int bpf_spacing(int a,int b)
{
	return a + b;
}
""", ["bpf_documented", "bpf_spacing"])


@pytest.fixture
def tree(tmp_path: Path, linux61: Path) -> Path:
    # What checkpatch.pl looks for to know it runs at the top of a kernel tree.
    top = {name: "" for name in ("COPYING", "CREDITS", "Kbuild", "MAINTAINERS", "Makefile",
                                 "README")}
    top.update({f"{d}/.keep": "" for d in ("Documentation", "arch", "drivers", "fs", "init",
                                           "ipc", "lib")})
    files = {**top, "Kconfig": "", "include/linux/btf.h": BTF_H, "kernel/bpf/kf.c": KFUNCS}
    root = write_tree(tmp_path / "tree", files)
    for script in SCRIPTS:
        (root / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(linux61 / script, root / script)
    repo = git_init(root)
    git(repo, "config", "user.name", "Ann Example")
    git(repo, "config", "user.email", "ann@example.org")
    return repo


def series_check(tree: Path, out: Path, rule: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["series", str(tree), "-o", str(out), "--rule", rule,
                                       "--date", "2024-03-01T10:00:00Z", "--check"])
    return result.exit_code, result.stderr


def test_a_rule_that_breaks_kernel_doc_is_caught_and_names_its_patch(
        tree: Path, tmp_path: Path) -> None:
    rule = tmp_path / "wrap_all.toml"
    rule.write_text((RULES / "bpf_kfunc_macro.toml").read_text()
                    .replace('name = "bpf_kfunc_macro"', 'name = "wrap_all"')
                    .replace('type = "wrap_prototype"', 'type = "wrap_prototype"\n'
                             'kernel_doc = "wrap"'))
    code, err = series_check(tree, tmp_path / "out", str(rule))
    assert code == 1, err
    lines = err.splitlines()
    at = next(i for i, line in enumerate(lines) if "0002-" in line)
    assert lines[at].lstrip().startswith("FAIL") and "kernel-doc: 1 new warning" in lines[at]
    assert "kernel-doc: kernel/bpf/kf.c:" in lines[at + 1]
    assert ("expecting prototype for bpf_documented(). Prototype was for BPF_KFUNC() instead"
            in lines[at + 1])
    # Patch 1 only adds the macro: its --strict CHECK is expected and explained.
    first = next(line for line in lines if "0001-" in line)
    assert "kernel-doc: 0 new warnings" in first and "0 new checks" in first


def test_the_macro_rule_leaves_documented_kfuncs_alone_so_kernel_doc_stays_clean(
        tree: Path, tmp_path: Path) -> None:
    code, err = series_check(tree, tmp_path / "out", "bpf_kfunc_macro")
    assert "skipped kernel/bpf/kf.c" in err and "bpf_documented: its kernel-doc comment" in err
    assert "kernel-doc: 0 new warnings" in err and "new warning\n" not in err


def test_findings_the_old_lines_had_are_not_new(tree: Path, tmp_path: Path) -> None:
    code, err = series_check(tree, tmp_path / "out", "bpf_kfunc_tag")
    assert code == 0, err
    second = next(line for line in err.splitlines() if "0002-" in line)
    # `int a,int b` had its ERROR:SPACING before the tag: inherited, not new.
    assert "0 new errors, 0 new warnings, 0 new checks" in second
    assert "on lines that had them before" in second
    report = check_series(tree, sorted((tmp_path / "out").glob("000[12]-*.patch")), "HEAD",
                          expected=expected_findings(load_rule("bpf_kfunc_tag")))
    inherited = report.patches[1].checkpatch
    assert inherited is not None and any("ERROR:SPACING" in f for f in inherited.inherited)
    assert not inherited.errors
