"""`check` as kernel CI and b4 run it: the plan rendered as findings, for a tree,
a commit, a range, and a patch whether or not it is applied already."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from unidiff import PatchSet

from kfuncfix.discover import discover
from kfuncfix.engine import load_rules, plan
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, small_tree

KFUNCFIX = [sys.executable, "-m", "kfuncfix"]
REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(REPO), GIT_AUTHOR_NAME="Dev",
           GIT_AUTHOR_EMAIL="dev@example.org", GIT_COMMITTER_NAME="Dev",
           GIT_COMMITTER_EMAIL="dev@example.org")
TAGGED = kfunc_source("\n__bpf_kfunc int bpf_old(void)\n{\n\treturn 0;\n}\n", ["bpf_old"])
BTF_H = "#ifndef _BTF_H\n#define _BTF_H\n#define __bpf_kfunc __used noinline\n#endif\n"


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*KFUNCFIX, *args], cwd=cwd, input=stdin, capture_output=True,
                          env=ENV)


def git(tree: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          env=ENV).stdout


def commit_kfunc(tree: Path, name: str, tagged: bool) -> None:
    """A commit that adds kfunc `name` to the set and defines it, tagged or not."""
    path = tree / "kernel/k.c"
    text = path.read_text()
    tag = "__bpf_kfunc " if tagged else ""
    text = text.replace("BTF_SET8_END(test_kfunc_ids)",
                        f"BTF_ID_FLAGS(func, {name})\nBTF_SET8_END(test_kfunc_ids)")
    text = text.replace("\nBTF_SET8_START", f"\n{tag}int {name}(int a)\n{{\n\treturn a;\n}}\n"
                        "\nBTF_SET8_START", 1)
    path.write_text(text)
    git(tree, "commit", "-q", "-am", f"bpf: Add {name}")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = small_tree(tmp_path / "linux", {"include/linux/btf.h": BTF_H,
                                           "kernel/k.c": TAGGED})
    return git_init(root)


FINDING = "kernel/k.c:{line}: ERROR: bpf_kfunc_tag: kfunc bpf_new is not tagged __bpf_kfunc"


def test_check_git_reports_what_the_commit_adds(tree: Path) -> None:
    commit_kfunc(tree, "bpf_new", tagged=False)
    result = run("-q", "check", "--git", "HEAD", cwd=tree)
    assert result.returncode == 1
    assert result.stdout.decode() == FINDING.format(line=10) + "\n"
    assert result.stderr == b""
    # REV need not be checked out, and a tagged kfunc is no finding.
    commit_kfunc(tree, "bpf_good", tagged=True)
    assert run("-q", "check", "--git", "HEAD", cwd=tree).returncode == 0
    assert run("-q", "check", "--git", "HEAD~1", cwd=tree).stdout.decode().count("ERROR:") == 1
    both = run("check", "--git", "HEAD~2..HEAD", cwd=tree).stdout.decode().splitlines()
    assert [line for line in both if line.startswith("commit ")] == [
        line for line in both if line.startswith("commit ")][:2]
    assert sum("ERROR:" in line for line in both) == 1 and len(
        [line for line in both if line.startswith("commit ")]) == 2


def test_check_patch_applied_or_not(tree: Path) -> None:
    commit_kfunc(tree, "bpf_new", tagged=False)
    patch = git(tree, "format-patch", "-1", "--stdout")
    # Applied: the tree where b4 and patchwork run their checks.
    applied = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert (applied.returncode, applied.stderr) == (1, b"")
    assert applied.stdout.decode() == FINDING.format(line=10) + "\n"
    # Not applied yet: the same finding, the tree untouched.
    git(tree, "reset", "-q", "--hard", "HEAD~1")
    before = (tree / "kernel/k.c").read_bytes()
    fresh = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert (fresh.returncode, fresh.stdout, fresh.stderr) == (
        applied.returncode, applied.stdout, b"")
    assert (tree / "kernel/k.c").read_bytes() == before


def test_clean_patch_prints_nothing_with_q(tree: Path) -> None:
    commit_kfunc(tree, "bpf_good", tagged=True)
    patch = git(tree, "format-patch", "-1", "--stdout")
    result = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_formats_json_and_b4(tree: Path) -> None:
    commit_kfunc(tree, "bpf_new", tagged=False)
    found = json.loads(run("check", "--git", "HEAD", "--format", "json", cwd=tree).stdout)
    assert [(f["rule"], f["path"], f["line"], f["kfunc"]) for f in found] == [
        ("bpf_kfunc_tag", "kernel/k.c", 10, "bpf_new")]
    assert "+__bpf_kfunc int bpf_new(int a)" in found[0]["fix"]
    b4 = json.loads(run("check", "--git", "HEAD", "--format", "b4", cwd=tree).stdout)
    assert [(c["tool"], c["status"]) for c in b4] == [("kfuncfix", "fail")]
    assert "bpf_new" in b4[0]["details"]
    git(tree, "reset", "-q", "--hard", "HEAD~1")
    clean = json.loads(run("check", "--format", "b4", cwd=tree).stdout)
    assert clean[0]["status"] == "pass"


def test_tree_without_kfunc_sets_is_a_note_and_exit_0(tmp_path: Path) -> None:
    root = small_tree(tmp_path / "old", {"kernel/a.c": "int f(void) { return 0; }\n"})
    result = run("check", str(root), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == b""
    assert result.stderr.count(b"has no registered kfunc sets") == 1


def test_two_rules_on_the_same_bytes_the_later_skips(tmp_path: Path) -> None:
    root = small_tree(tmp_path / "t", {
        "kernel/k.c": kfunc_source("\nint bpf_a(void)\n{\n\treturn 0;\n}\n", ["bpf_a"])})
    result = plan(discover(root), load_rules(["bpf_kfunc_tag,bpf_kfunc_macro"]))
    assert b"__bpf_kfunc int bpf_a(void)" in result.files["kernel/k.c"].new
    assert [(s.name, "bpf_kfunc_tag" in s.reason) for s in result.skipped] == [("bpf_a", True)]
    assert [r.rule for r in result.findings] == ["bpf_kfunc_tag"]


def test_rules_all_and_default_lint(tree: Path) -> None:
    names = [r.name for r in load_rules(["all"])]
    assert names == ["bpf_kfunc_tag", "btf_kfuncs_set", "kfunc_defs_block"]
    # Without --rule: the tag everywhere; later conventions only where defined.
    commit_kfunc(tree, "bpf_new", tagged=False)
    out = run("check", cwd=tree)
    assert b"rules: bpf_kfunc_tag\n" in out.stderr
    (tree / "include/linux/btf_ids.h").write_text(
        "#define BTF_KFUNCS_START(name) BTF_SET8_START(name)\n")
    out = run("check", cwd=tree)
    assert b"rules: bpf_kfunc_tag, btf_kfuncs_set\n" in out.stderr
    assert b"WARNING: btf_kfuncs_set: kfunc set test_kfunc_ids is declared with" in out.stdout


def test_dirty_header_never_reaches_the_definition_patch(tmp_path: Path) -> None:
    """series, apply --branch and diff --with-definition: one definition change,
    read at the revision (an uncommitted edit of btf.h is in none of the first two)."""
    from kfuncfix.sample import copy_sample_tree

    root = git_init(copy_sample_tree(tmp_path / "tree"))
    header = root / "include/linux/btf.h"
    committed = header.read_bytes()
    header.write_bytes(committed + b"\n/* DIRTY: not committed */\n")
    out = tmp_path / "out"
    series = run("series", "--no-maintainers", "-o", str(out), "--date", "2024-01-01T00:00:00Z",
                 cwd=root)
    assert series.returncode == 0, series.stderr
    first = sorted(out.glob("0001-*.patch"))[0].read_bytes()
    assert b"include/linux/btf.h" in first and b"DIRTY" not in first
    branch = run("apply", "--branch", "tags", "--date", "2024-01-01T00:00:00Z", cwd=root)
    assert branch.returncode == 0, branch.stderr
    shown = git(root, "show", "tags~0:include/linux/btf.h")
    assert b"DIRTY" not in shown
    # The same definition change from the three commands.
    header.write_bytes(committed)
    diff = PatchSet(run("diff", "--with-definition", cwd=root).stdout.decode())
    from_diff = apply_hunks(committed, diff, "include/linux/btf.h")
    from_series = apply_hunks(committed, PatchSet(first.decode()), "include/linux/btf.h")
    assert from_diff != committed and from_diff == from_series == shown


def apply_hunks(old: bytes, patch: PatchSet, path: str) -> bytes:
    """`old` with the patch's changes to `path` (git apply on a scratch copy)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / path
        target.parent.mkdir(parents=True)
        target.write_bytes(old)
        one = "".join(str(f) for f in patch if f.path == path)
        subprocess.run(["git", "apply", "-"], input=one.encode(), cwd=tmp, check=True,
                       env=dict(ENV, GIT_CEILING_DIRECTORIES=tmp))
        return target.read_bytes()


@pytest.mark.skipif(shutil.which("b4") is None, reason="b4 (PyPI) not installed")
def test_b4_prep_check_runs_kfuncfix(tree: Path) -> None:
    """b4 runs the per-patch check in the tree with the patch committed."""
    git(tree, "config", "user.name", "Dev")
    git(tree, "config", "user.email", "dev@example.org")
    git(tree, "config", "b4.prep-perpatch-check-cmd",
        f"{sys.executable} -m kfuncfix -q check --patch -")
    env = dict(ENV, XDG_DATA_HOME=str(tree.parent / "data"),
               XDG_CACHE_HOME=str(tree.parent / "cache"))

    def b4(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["b4", *args], cwd=tree, capture_output=True, text=True,
                              env=env)

    assert b4("prep", "-n", "kfunc-bad").returncode == 0
    commit_kfunc(tree, "bpf_new", tagged=False)
    bad = b4("prep", "--check")
    assert "kfuncfix" in bad.stdout + bad.stderr
    assert "Error: 1" in bad.stdout + bad.stderr, bad.stdout + bad.stderr
    assert b4("prep", "-n", "kfunc-good", "-f", "master").returncode == 0
    commit_kfunc(tree, "bpf_good", tagged=True)
    good = b4("prep", "--check")
    assert "Error: 0" in good.stdout + good.stderr, good.stdout + good.stderr


def kfuncfix_env() -> dict[str, str]:
    """The shipped CI scripts call `$KFUNCFIX`: this checkout's kfuncfix."""
    return dict(ENV, KFUNCFIX=f"{sys.executable} -m kfuncfix")


@pytest.mark.parametrize("tagged, code, summary", [
    (False, 1, "kfuncfix: 1 error(s), 0 warning(s)"),
    (True, 0, "kfuncfix: no kfunc findings"),
])
def test_patchwork_check_script(tree: Path, tagged: bool, code: int, summary: str) -> None:
    commit_kfunc(tree, "bpf_new", tagged=tagged)
    patch = tree.parent / "one.patch"
    patch.write_bytes(git(tree, "format-patch", "-1", "--stdout"))
    result = subprocess.run([str(REPO / "scripts/ci/patchwork-check.sh"), str(patch), "."],
                            cwd=tree, capture_output=True, text=True, env=kfuncfix_env())
    assert (result.returncode, result.stdout.splitlines()[0]) == (code, summary)


def test_patchwork_check_warning_is_250(tree: Path) -> None:
    (tree / "include/linux/btf_ids.h").write_text(
        "#define BTF_KFUNCS_START(name) BTF_SET8_START(name)\n")
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "ids")
    commit_kfunc(tree, "bpf_good", tagged=True)
    # The commit adds a line to a set still declared with BTF_SET8_START: a convention.
    patch = git(tree, "format-patch", "-1", "--stdout")
    result = subprocess.run([str(REPO / "scripts/ci/patchwork-check.sh"), "-"], cwd=tree,
                            input=patch, capture_output=True, env=kfuncfix_env())
    assert result.returncode == 250, result.stdout
    assert result.stdout.splitlines()[0] == b"kfuncfix: 1 warning(s)"


def has_send_email() -> bool:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True)
    return (Path(exec_path.stdout.strip()) / "git-send-email").exists()


@pytest.mark.skipif(not has_send_email(), reason="git send-email (Debian git-email) missing")
def test_sendemail_validate_hook_refuses_a_bad_patch(tree: Path) -> None:
    hooks = tree / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    shutil.copy(REPO / "scripts/ci/sendemail-validate", hooks / "sendemail-validate")

    def send(name: str, tagged: bool) -> subprocess.CompletedProcess[str]:
        commit_kfunc(tree, name, tagged=tagged)
        out = tree.parent / name
        git(tree, "format-patch", "-1", "-o", str(out))
        return subprocess.run(["git", "send-email", "--dry-run", "--confirm=never",
                               "--to=bpf@vger.kernel.org", str(out)], cwd=tree,
                              capture_output=True, text=True, env=kfuncfix_env())

    bad = send("bpf_new", tagged=False)
    assert bad.returncode != 0
    assert "ERROR: bpf_kfunc_tag: kfunc bpf_new is not tagged" in bad.stdout + bad.stderr
    good = send("bpf_good", tagged=True)
    assert good.returncode == 0, good.stderr
    assert "Dry-OK" in good.stdout + good.stderr


def test_check_git_unknown_revision_is_one_line(tree: Path) -> None:
    result = run("check", "--git", "no-such-rev", cwd=tree)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        f"kfuncfix: error: no-such-rev: not a commit of {tree.resolve()}"]
