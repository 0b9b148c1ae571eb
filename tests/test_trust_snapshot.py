"""Trust, round three, the items the snapshot and the git runner fix (issue 18: 4, 6, 7, 9,
11 and the weaker spots about git): what a run at a revision reads comes from that
revision, never from the worktree; what kfuncfix runs was committed; nothing it does to
git touches what it did not make; git's refusals reach the user whole, on one line.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kfuncfix import gitrun
from kfuncfix.cli import main
from kfuncfix.cli.demo import make_sample_repo
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, small_tree

PACKAGE = Path(__file__).resolve().parent.parent / "kfuncfix"
ANN = ("Ann Author", "ann@example.org")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", f"user.name={ANN[0]}", "-c",
                           f"user.email={ANN[1]}", *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    repo = make_sample_repo(tmp_path / "linux")
    git(repo, "config", "user.name", ANN[0])
    git(repo, "config", "user.email", ANN[1])
    return repo


TAGGED = kfunc_source("\n__bpf_kfunc int f_old(int x)\n{\n\treturn x;\n}\n", ["f_old"],
                      "old_ids")
UNTAGGED = kfunc_source("\nnoinline int f_new(int x)\n{\n\treturn x;\n}\n", ["f_new"],
                        "new_ids")


def tagged_repo(root: Path) -> Path:
    """A git tree whose one kfunc is tagged (check is clean on it)."""
    tree = small_tree(root, {"kernel/old.c": TAGGED})
    return git_init(tree)


# -- 4: the config file comes from the revision, and adds rules to check ------------------------

def test_config_rule_never_removes_the_tag_lint(tmp_path: Path) -> None:
    tree = tagged_repo(tmp_path / "t")
    (tree / "kernel/new.c").write_text(UNTAGGED)
    (tree / ".kfuncfix.toml").write_text('rule = "kfunc_defs_block"\n')
    commit_all(tree, "add an untagged kfunc and a config naming another rule")
    for args in (["check", str(tree)], ["check", "--git", "HEAD", str(tree)]):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "kernel/new.c" in result.stdout and "bpf_kfunc_tag" in result.stdout


def test_check_git_reads_the_config_committed_at_rev(tmp_path: Path) -> None:
    tree = tagged_repo(tmp_path / "t")
    (tree / "kernel/new.c").write_text(UNTAGGED)
    commit_all(tree, "add an untagged kfunc")
    # The worktree's (uncommitted) config is not the revision's: it is not read.
    (tree / ".kfuncfix.toml").write_text('rule = "no_such_rule_here"\n')
    result = run("check", "--git", "HEAD", str(tree))
    assert result.exit_code == 1, result.output
    assert "kernel/new.c" in result.stdout
    # ...while the worktree's own check reads it (and says what is wrong with it).
    assert run("check", str(tree)).exit_code == 2


def test_series_reads_the_config_committed_at_base(sample: Path, tmp_path: Path) -> None:
    (sample / ".kfuncfix.toml").write_text('split = "none"\n')
    commit_all(sample, "config: one patch")
    # Uncommitted: neither the rule nor the split reach the series made at HEAD.
    (sample / ".kfuncfix.toml").write_text('rule = "no_such_rule_here"\nsplit = "file"\n')
    out = tmp_path / "out"
    result = run("series", str(sample), "-o", str(out), "--no-cover")
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.patch"))) == 2  # the definition patch, then the rest


# -- 6, 7: --b4-cc-trailers reads MAINTAINERS and runs get_maintainer.pl as committed -----------

EVIL_SCRIPT = "#!/usr/bin/perl\nprint \"evil\\@attacker.example\\n\";\n"


def test_cc_trailers_never_run_or_read_the_worktree(sample: Path) -> None:
    (sample / "scripts").mkdir(exist_ok=True)
    (sample / "scripts/get_maintainer.pl").write_text(EVIL_SCRIPT)  # untracked
    with (sample / "MAINTAINERS").open("a") as maintainers:  # modified, not committed
        maintainers.write("\nEVIL\nM:\tEve <eve@attacker.example>\nF:\t*\n")
    result = run("apply", str(sample), "--branch", "kf", "--b4", "--b4-cc-trailers")
    assert result.exit_code == 0, result.output
    messages = git(sample, "log", "--format=%B", "master..kf")
    assert "\nCc: " in messages  # the committed MAINTAINERS was read
    assert "attacker.example" not in messages


@pytest.mark.parametrize("entry", [
    "Ada Lovelace <ada@example.org>, evil@attacker.example",
    "Ada \x1b[2J Lovelace <ada@example.org>",
])
def test_cc_trailers_refuse_what_is_not_one_address(sample: Path, entry: str) -> None:
    text = (sample / "MAINTAINERS").read_text()
    (sample / "MAINTAINERS").write_text(text + f"\nODD\nM:\t{entry}\nF:\tkernel/\n")
    commit_all(sample, "MAINTAINERS: an odd entry")
    result = run("apply", str(sample), "--branch", "kf", "--b4", "--b4-cc-trailers")
    assert result.exit_code == 2, result.output
    assert "MAINTAINERS" in result.output and "Traceback" not in result.output
    assert "refs/heads/kf" not in git(sample, "for-each-ref")


# -- 9: scratch worktrees: only kfuncfix's own is ever removed -----------------------------------

def test_no_git_worktree_prune_anywhere() -> None:
    for path in PACKAGE.rglob("*.py"):
        strings = [n.value for n in ast.walk(ast.parse(path.read_text()))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert "prune" not in strings, f"{path} runs git worktree prune"


def test_temporary_worktree_leaves_other_worktrees_alone(tmp_path: Path) -> None:
    repo = git_init(small_tree(tmp_path / "repo", {"a.c": "int a;\n"}))
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "--detach", str(other))
    away = tmp_path / "unplugged"
    other.rename(away)  # a removable disk, briefly gone
    with gitrun.temporary_worktree(repo, "HEAD", tmp_path / "scratch") as tree:
        assert (tree / "a.c").read_text() == "int a;\n"
    listed = git(repo, "worktree", "list", "--porcelain")
    assert f"worktree {other}" in listed  # still known to git
    assert "scratch" not in listed and not (tmp_path / "scratch").exists()
    away.rename(other)
    assert git(other, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")


def test_a_worktree_whose_directory_vanished_is_removed_alone(tmp_path: Path) -> None:
    repo = git_init(small_tree(tmp_path / "repo", {"a.c": "int a;\n"}))
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "--detach", str(other))
    other.rename(tmp_path / "unplugged")
    mine = tmp_path / "mine"
    git(repo, "worktree", "add", "-q", "--detach", str(mine))
    shutil.rmtree(mine)  # a killed run's scratch tree
    gitrun.remove_worktree(repo, mine)
    listed = git(repo, "worktree", "list", "--porcelain")
    assert f"worktree {other}" in listed and f"worktree {mine}" not in listed


# -- 11: a relative --build-dir is the current directory's ---------------------------------------

def test_relative_build_dir_is_resolved_against_the_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kfuncfix.cli import buildopts
    from kfuncfix.outputs import build

    seen: dict[str, Any] = {}

    def fake_build_check(root: Path, base: str, commits: Any, configs: Any,
                         build_dir: Path | None, *rest: Any) -> None:
        seen["build_dir"] = build_dir

    monkeypatch.setattr(build, "build_check", fake_build_check)
    monkeypatch.chdir(tmp_path)
    buildopts.run_build(tmp_path / "elsewhere", "0" * 40, [],
                        {"build": True, "build_dir": Path("out")}, lambda rev: None)
    assert seen["build_dir"] == tmp_path / "out"


# -- --build: the branch is made after the build passed -------------------------------------------

def test_failed_build_leaves_no_branch(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kfuncfix.cli import rewrite

    monkeypatch.setattr(rewrite, "run_build", lambda *args: object())
    monkeypatch.setattr(rewrite, "print_build", lambda report: False)
    result = run("apply", str(sample), "--branch", "kf", "--build")
    assert result.exit_code == 1, result.output
    assert "refs/heads/kf" not in git(sample, "for-each-ref")
    monkeypatch.setattr(rewrite, "print_build", lambda report: True)
    again = run("apply", str(sample), "--branch", "kf", "--build")
    assert again.exit_code == 0, again.output  # no "branch kf already exists"
    assert "refs/heads/kf" in git(sample, "for-each-ref")


# -- git's refusals, whole ----------------------------------------------------------------------

def test_branch_given_as_full_ref_is_that_branch(sample: Path) -> None:
    result = run("apply", str(sample), "--branch", "refs/heads/kf")
    assert result.exit_code == 0, result.output
    refs = git(sample, "for-each-ref", "--format=%(refname)")
    assert "refs/heads/kf" in refs.splitlines()
    assert "refs/heads/refs/heads/kf" not in refs


def test_branch_name_with_a_newline_is_refused_whole(sample: Path) -> None:
    result = run("apply", str(sample), "--branch", "a\nb")
    assert result.exit_code == 2
    assert "'a\\nb'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert git(sample, "for-each-ref", "refs/heads/") .count("\n") == 0  # master only


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository away")
def test_dubious_ownership_shows_gits_message(tmp_path: Path) -> None:
    tree = tagged_repo(tmp_path / "t")
    os.chown(tree, 65534, 65534)
    os.chown(tree / ".git", 65534, 65534)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG")}
    result = CliRunner(env=env).invoke(main, ["check", "--git", "HEAD", str(tree)])
    assert result.exit_code == 2
    assert "dubious ownership" in result.stderr
    assert "not a commit" not in result.stderr


def test_tree_in_a_subdirectory_of_a_repository(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    tree = small_tree(outer / "linux", {"kernel/old.c": TAGGED, "kernel/new.c": UNTAGGED})
    git_init(outer)
    listed = run("list", str(tree))
    assert listed.exit_code == 0, listed.output
    assert "f_new" in listed.stdout
    checked = run("check", str(tree))
    assert checked.exit_code == 1 and "kernel/new.c" in checked.stdout
    # At a revision: one clear line naming the work tree's top, as apply --branch and
    # series give it.
    for args in (["check", "--git", "HEAD"], ["apply", "--branch", "x"]):
        at_rev = run(*args, str(tree))
        assert at_rev.exit_code == 2, at_rev.output
        assert at_rev.stderr == (f"kfuncfix: error: {tree}: not the top of a git work tree "
                                 f"(that is {outer.resolve()})" + (
                                     "; a commit is read from the top of its tree\n"
                                     if args[0] == "check" else "\n"))
