"""Commits built with git plumbing: content, messages, modes, and the user's state untouched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.gitseries import (
    Identity,
    PlannedPatch,
    build_series,
    read_branch,
    update_branch,
)
from tests.conftest import git_init, write_tree

ANN = Identity("Ann Example", "ann@example.org")
BOB = Identity("Bob Author", "bob@example.org")


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          env=None if env is None else {**os.environ, **env})
    return done.stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", {
        "kernel/bpf/helpers.c": "int a;\n",
        "net/filter.c": "int f;\n",
        "scripts/tool.sh": "#!/bin/sh\necho old\n",
        "old.txt": "bye\n",
    })
    (root / "scripts/tool.sh").chmod(0o755)
    return git_init(root)


def plan() -> list[PlannedPatch]:
    return [
        PlannedPatch("bpf: Tag helpers", "Tag them.", {"kernel/bpf/helpers.c": b"int a, b;\n"}),
        PlannedPatch(
            "net: Tidy", "Two files.\n\nFixes: 0123456789ab (\"net: x\")",
            {"scripts/tool.sh": b"#!/bin/sh\necho new\n", "old.txt": None, "doc/new.rst": b"n\n"},
            author=BOB,
        ),
    ]


def user_state(repo: Path) -> tuple[str, ...]:
    index = repo / ".git" / "index"
    return (
        git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "for-each-ref"),
        git(repo, "symbolic-ref", "HEAD"),
        index.read_bytes().hex(),
        str(index.stat().st_mtime_ns),
    )


def test_commits_leave_worktree_index_head_and_branches_alone(repo: Path) -> None:
    # A user in the middle of work: a staged change, an unstaged one, an untracked file.
    (repo / "net/filter.c").write_text("int f; /* staged */\n")
    git(repo, "add", "net/filter.c")
    (repo / "kernel/bpf/helpers.c").write_text("int a; /* unstaged */\n")
    (repo / "notes.txt").write_text("mine\n")
    before = user_state(repo)

    series = build_series(repo, "HEAD", plan(), sender=ANN, date="2024-02-02T00:00:00Z")

    assert user_state(repo) == before
    assert (repo / "kernel/bpf/helpers.c").read_text() == "int a; /* unstaged */\n"
    assert len(series.commits) == 2
    assert series.base == git(repo, "rev-parse", "HEAD").strip()


def test_commit_trees_hold_the_new_bytes_and_keep_modes(repo: Path) -> None:
    series = build_series(repo, "HEAD", plan(), sender=ANN, date="2024-02-02T00:00:00Z")
    first, second = series.commits

    assert git(repo, "rev-parse", f"{second.sha}^") == first.sha + "\n"
    assert git(repo, "rev-parse", f"{first.sha}^") == series.base + "\n"
    assert git(repo, "show", f"{first.sha}:kernel/bpf/helpers.c") == "int a, b;\n"
    assert git(repo, "show", f"{second.sha}:kernel/bpf/helpers.c") == "int a, b;\n"
    tree = git(repo, "ls-tree", "-r", second.sha)
    assert "100755 blob" in next(line for line in tree.splitlines() if "scripts/tool.sh" in line)
    assert "100644 blob" in next(line for line in tree.splitlines() if "doc/new.rst" in line)
    assert "old.txt" not in tree
    assert git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", first.sha) == (
        "kernel/bpf/helpers.c\n"
    )
    assert second.paths == ("doc/new.rst", "old.txt", "scripts/tool.sh")


def test_message_is_subject_body_and_sign_off_of_the_sender(repo: Path) -> None:
    series = build_series(repo, "HEAD", plan(), sender=ANN, date="2024-02-02T00:00:00Z")
    first, second = (c.sha for c in series.commits)

    assert git(repo, "log", "-1", "--format=%B", first) == (
        "bpf: Tag helpers\n\nTag them.\n\nSigned-off-by: Ann Example <ann@example.org>\n\n"
    )
    # The sign-off joins an existing trailer block, as git's trailer rules say.
    assert git(repo, "log", "-1", "--format=%B", second).endswith(
        'Fixes: 0123456789ab ("net: x")\nSigned-off-by: Ann Example <ann@example.org>\n\n'
    )
    people = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%aI|%cI", second)
    assert people.strip() == (
        "Bob Author <bob@example.org>|Ann Example <ann@example.org>"
        "|2024-02-02T00:00:00Z|2024-02-02T00:00:00Z"
    ).replace("Z", "+00:00")


def test_same_plan_and_date_give_the_same_commits(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    one = build_series(repo, "HEAD", plan(), sender=ANN)
    two = build_series(repo, "HEAD", plan(), sender=ANN)
    assert one == two
    assert git(repo, "log", "-1", "--format=%at %ct", one.tip).strip() == "1700000000 1700000000"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000001")
    assert build_series(repo, "HEAD", plan(), sender=ANN).tip != one.tip


def test_missing_identity_is_refused_before_any_object_is_written(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                 "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-config"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    objects = sorted(str(p) for p in (repo / ".git/objects").rglob("*"))

    with pytest.raises(KfuncfixError, match="no git identity"):
        build_series(repo, "HEAD", plan())

    assert sorted(str(p) for p in (repo / ".git/objects").rglob("*")) == objects
    # An explicit identity is enough on the same machine.
    assert build_series(repo, "HEAD", plan(), sender="Ann Example <ann@example.org>").commits


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (PlannedPatch("x: y", "", {"../escape.c": b""}), "plain relative path"),
        (PlannedPatch("x: y", "", {".git/config": b""}), "plain relative path"),
        (PlannedPatch("x: y", "", {}), "changes no file"),
        (PlannedPatch("x: y", "", {"missing.c": None}), "not in the tree"),
        (PlannedPatch("x: y", "", {"old.txt": b"bye\n"}), "changes nothing"),
        (PlannedPatch("x: y", "a\n---\nb", {"old.txt": b"x\n"}), "git am would take it"),
        (PlannedPatch("two\nlines", "", {"old.txt": b"x\n"}), "one non-empty line"),
    ],
)
def test_bad_plans_are_refused(repo: Path, patch: PlannedPatch, message: str) -> None:
    with pytest.raises(KfuncfixError, match=message):
        build_series(repo, "HEAD", [patch], sender=ANN)


def test_bad_base_date_and_identity_are_refused(repo: Path) -> None:
    with pytest.raises(KfuncfixError, match="does not name a commit"):
        build_series(repo, "no-such-rev", plan(), sender=ANN)
    with pytest.raises(KfuncfixError, match="not understood"):
        build_series(repo, "HEAD", plan(), sender=ANN, date="not a date at all")
    with pytest.raises(KfuncfixError, match="Name <email>"):
        build_series(repo, "HEAD", plan(), sender="nobody")


def test_branch_is_created_refused_then_forced_without_touching_the_worktree(
    repo: Path,
) -> None:
    before = user_state(repo)
    series = build_series(repo, "HEAD", plan(), sender=ANN, date="2024-02-02T00:00:00Z")
    assert update_branch(series, "kfuncs") == "refs/heads/kfuncs"
    assert git(repo, "rev-parse", "kfuncs").strip() == series.tip

    other = build_series(repo, "HEAD", plan()[:1], sender=ANN, date="2024-02-02T00:00:00Z")
    with pytest.raises(KfuncfixError, match="already exists"):
        update_branch(other, "kfuncs")
    assert git(repo, "rev-parse", "kfuncs").strip() == series.tip
    update_branch(other, "kfuncs", force=True)
    assert git(repo, "rev-parse", "kfuncs").strip() == other.tip

    status, head, refs, *index = user_state(repo)
    assert (status, head, index) == (before[0], before[1], list(before[3:]))
    with pytest.raises(KfuncfixError, match="checked out"):
        update_branch(series, "master", force=True)
    with pytest.raises(KfuncfixError, match="not a valid branch name"):
        update_branch(series, "bad..name")


def test_branch_reads_back_as_the_same_series(repo: Path) -> None:
    series = build_series(repo, "HEAD", plan(), sender=ANN, date="2024-02-02T00:00:00Z")
    update_branch(series, "kfuncs")
    again = read_branch(repo, "kfuncs", "master")
    assert again.commits == series.commits
    assert again.base == series.base

    with pytest.raises(KfuncfixError, match="no branch"):
        read_branch(repo, "nope", "master")
    with pytest.raises(KfuncfixError, match="no commits"):
        read_branch(repo, "master", "master")
    with pytest.raises(KfuncfixError, match="not an ancestor"):
        read_branch(repo, "master", "kfuncs")


def test_branch_with_a_merge_is_not_a_series(repo: Path) -> None:
    series = build_series(repo, "HEAD", plan(), sender=ANN, date="2024-02-02T00:00:00Z")
    first, second = (c.sha for c in series.commits)
    env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org"}
    tree = git(repo, "rev-parse", f"{second}^{{tree}}").strip()
    merge = git(repo, "commit-tree", tree, "-p", first, "-p", second, "-m", "merge", env=env)
    git(repo, "update-ref", "refs/heads/merged", merge.strip())
    with pytest.raises(KfuncfixError, match="merge commit"):
        read_branch(repo, "merged", "master")
