"""Writing changes: atomic, mode-keeping, never through links, never over uncommitted work."""

from __future__ import annotations

import os
from pathlib import Path

from kfuncfix.engine import FileChange
from kfuncfix.outputs.apply import apply_changes, uncommitted
from tests.conftest import git_init


def change(root: Path, rel: str, new: bytes) -> FileChange:
    return FileChange(rel, (root / rel).read_bytes(), new, [], [])


def files(root: Path, *names: str, content: bytes = b"old\n") -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_writes_and_keeps_modes(tmp_path: Path) -> None:
    files(tmp_path, "a.c", "run.sh")
    os.chmod(tmp_path / "a.c", 0o600)
    os.chmod(tmp_path / "run.sh", 0o755)
    result = apply_changes(tmp_path, [change(tmp_path, "a.c", b"new\n"),
                                      change(tmp_path, "run.sh", b"#!/bin/sh\n")])
    assert result.written == ["a.c", "run.sh"] and result.refused == []
    assert (tmp_path / "a.c").read_bytes() == b"new\n"
    assert (tmp_path / "a.c").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "run.sh").stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.c", "run.sh"]  # no temp files


def test_symlinked_file_refuses_everything(tmp_path: Path) -> None:
    outside = files(tmp_path / "outside", "target.c")
    tree = files(tmp_path / "tree", "a.c")
    (tree / "link.c").symlink_to(outside / "target.c")
    result = apply_changes(tree, [change(tree, "a.c", b"new\n"),
                                  change(tree, "link.c", b"new\n")])
    assert result.written == []
    assert [(r.path, "symbolic link" in r.reason) for r in result.refused] == [("link.c", True)]
    assert (tree / "a.c").read_bytes() == b"old\n"
    assert (outside / "target.c").read_bytes() == b"old\n"


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    outside = files(tmp_path / "outside", "sub/a.c")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "sub").symlink_to(outside / "sub")
    result = apply_changes(tree, [change(tree, "sub/a.c", b"new\n")])
    assert [r.reason for r in result.refused] == [
        "lies under sub, a symbolic link; not written through"]
    assert (outside / "sub/a.c").read_bytes() == b"old\n"


def test_path_outside_the_tree_is_refused(tmp_path: Path) -> None:
    files(tmp_path, "x.c")
    tree = files(tmp_path / "tree", "a.c")
    result = apply_changes(tree, [FileChange("../x.c", b"old\n", b"new\n", [], [])])
    assert [r.reason for r in result.refused] == ["not a path inside the tree"]
    assert (tmp_path / "x.c").read_bytes() == b"old\n"


def test_file_changed_since_planning_is_refused(tmp_path: Path) -> None:
    files(tmp_path, "a.c")
    planned = change(tmp_path, "a.c", b"new\n")
    (tmp_path / "a.c").write_bytes(b"edited by someone\n")
    result = apply_changes(tmp_path, [planned])
    assert "changed since it was read" in result.refused[0].reason
    assert (tmp_path / "a.c").read_bytes() == b"edited by someone\n"


def test_uncommitted_changes_are_refused_unless_forced(tmp_path: Path) -> None:
    repo = git_init(files(tmp_path / "repo", "kernel/a.c", "kernel/b.c"))
    (repo / "kernel/a.c").write_bytes(b"work in progress\n")
    files(repo, "kernel/new.c")
    planned = [change(repo, "kernel/a.c", b"new\n"), change(repo, "kernel/b.c", b"new\n"),
               change(repo, "kernel/new.c", b"new\n")]
    result = apply_changes(repo, planned)
    assert result.written == []
    assert [r.path for r in result.refused] == ["kernel/a.c", "kernel/new.c"]
    assert (repo / "kernel/b.c").read_bytes() == b"old\n"
    forced = apply_changes(repo, planned, force=True)
    assert forced.written == ["kernel/a.c", "kernel/b.c", "kernel/new.c"]


def test_tree_inside_a_larger_repository(tmp_path: Path) -> None:
    repo = git_init(files(tmp_path / "repo", "linux/kernel/a.c", "linux/kernel/b.c"))
    (repo / "linux/kernel/a.c").write_bytes(b"dirty\n")
    assert uncommitted(repo / "linux", ["kernel/a.c", "kernel/b.c"]) == {"kernel/a.c"}


def test_not_a_git_tree_has_nothing_uncommitted(tmp_path: Path, monkeypatch) -> None:
    files(tmp_path / "plain", "a.c")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert uncommitted(tmp_path / "plain", ["a.c"]) == set()
