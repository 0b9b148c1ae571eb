"""`apply` interrupted at any file: every file is old or new, and the report says which.

The failure is injected inside the write of the Nth file, at three moments:
while the temporary copy is being synced (a full disk), at the rename that
replaces the file (the file stays old), and right after that rename (a
Ctrl-C that lands once the file is new).  For every N and every moment,
each file of the plan must hold exactly its old or its new bytes, no
temporary file may be left behind, the result must name the files written
and not written (read back from disk, not guessed), and running `apply`
again must finish the job.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import FileChange, load_rule, plan
from kfuncfix.outputs import apply as apply_module
from kfuncfix.outputs.apply import apply_changes
from kfuncfix.sample import copy_sample_tree
from tests.conftest import git_init
from tests.rewrite_helper import read_tree

MOMENTS = ["sync", "rename", "after_rename"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample tree as a git repository; each test works on a copy."""
    return git_init(copy_sample_tree(tmp_path_factory.mktemp("template") / "tree"))


@pytest.fixture(scope="module")
def changes(template: Path) -> list[FileChange]:
    index = discover(template)
    result = plan(index, load_rule("bpf_kfunc_tag"))
    found = result.changes(with_definition=True)
    # The .c files, and the header (and documentation) that get the definition.
    assert set(result.files) < {c.path for c in found} and "include/linux/btf.h" in {
        c.path for c in found}
    return found


def fail_at(monkeypatch: pytest.MonkeyPatch, moment: str, nth: int) -> None:
    """Make the write of the nth file (0-based) of one apply fail at `moment`."""
    calls = {"fsync": 0, "replace": 0}
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        # apply syncs each temporary file, then its directory: count only the files.
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            calls["fsync"] += 1
            if moment == "sync" and calls["fsync"] == nth + 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    def replace(src: str, dst: Path) -> None:
        calls["replace"] += 1
        if moment == "rename" and calls["replace"] == nth + 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst)
        if moment == "after_rename" and calls["replace"] == nth + 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(apply_module.os, "fsync", fsync)
    monkeypatch.setattr(apply_module.os, "replace", replace)


def fresh(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.kfuncfix") if ".git" not in p.parts]


@pytest.mark.parametrize("moment", MOMENTS)
def test_every_file_is_old_or_new_whichever_file_fails(
        template: Path, changes: list[FileChange], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    paths = [c.path for c in changes]
    for nth in range(len(changes)):
        tree = fresh(template, tmp_path / f"tree{nth}")
        with monkeypatch.context() as patch:
            fail_at(patch, moment, nth)
            result = apply_changes(tree, changes)

        written = nth + 1 if moment == "after_rename" else nth
        assert result.failed is not None and result.failed.path == paths[nth]
        assert result.failed.reason == ("interrupted" if moment == "after_rename"
                                        else "No space left on device")
        assert (result.written, result.unwritten) == (paths[:written], paths[written:])
        assert not result.complete and result.refused == []
        for change in changes:
            want = change.new if change.path in result.written else change.old
            assert (tree / change.path).read_bytes() == want, (nth, change.path)
        assert temp_files(tree) == []

        # Running again rewrites what is left; the tree ends as one clean run leaves it.
        index = discover(tree)
        rest = plan(index, load_rule("bpf_kfunc_tag")).changes(with_definition=True)
        assert [c.path for c in rest] == result.unwritten
        assert apply_changes(tree, rest, force=True).complete
        for change in changes:
            assert (tree / change.path).read_bytes() == change.new


def test_a_file_changed_during_the_write_stops_the_run(
        template: Path, changes: list[FileChange], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tree = fresh(template, tmp_path / "tree")
    victim = tree / changes[2].path
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        # Someone edits the file while apply writes its temporary copy.
        real_fsync(fd)
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(f".{victim.name}."):
            victim.write_bytes(b"/* someone else's edit */\n")

    monkeypatch.setattr(apply_module.os, "fsync", fsync)
    result = apply_changes(tree, changes)
    assert result.failed is not None and result.failed.path == changes[2].path
    assert "changed while writing" in result.failed.reason
    assert result.written == [c.path for c in changes[:2]]
    assert victim.read_bytes() == b"/* someone else's edit */\n"  # theirs, not ours
    assert all((tree / c.path).read_bytes() == c.old for c in changes[3:])
    assert temp_files(tree) == []


def run_apply(tree: Path, monkeypatch: pytest.MonkeyPatch,
              inject: Callable[[pytest.MonkeyPatch], None]):
    with monkeypatch.context() as patch:
        inject(patch)
        return CliRunner().invoke(main, ["apply", "--with-definition", str(tree)])


def test_cli_names_the_files_written_and_not_written(
        template: Path, changes: list[FileChange], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tree = fresh(template, tmp_path / "tree")
    before = read_tree(tree)
    result = run_apply(tree, monkeypatch, lambda p: fail_at(p, "rename", 2))
    assert result.exit_code == 2, result.output
    paths = [c.path for c in changes]
    lines = result.stderr.splitlines()
    assert f"kfuncfix: error: writing {paths[2]} failed: No space left on device" in lines
    assert (f"kfuncfix: stopped after writing 2 of {len(paths)} files; each file holds "
            "either its old or its new contents") in lines
    assert [line.removeprefix("kfuncfix: written: ") for line in lines
            if line.startswith("kfuncfix: written: ")] == paths[:2]
    assert [line.removeprefix("kfuncfix: not written: ") for line in lines
            if line.startswith("kfuncfix: not written: ")] == paths[2:]
    changed = sorted(p for p, data in read_tree(tree).items()
                     if before[p] != data and not p.startswith(".git/"))
    assert changed == sorted(paths[:2])

    # The written files are now uncommitted changes; the rest are not, so a
    # second run writes exactly the rest.
    again = CliRunner().invoke(main, ["apply", "--with-definition", str(tree)])
    assert again.exit_code == 0, again.output
    assert {c.path: (tree / c.path).read_bytes() for c in changes} == {
        c.path: c.new for c in changes}


def test_cli_ctrl_c_after_a_rename_counts_that_file_as_written(
        template: Path, changes: list[FileChange], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tree = fresh(template, tmp_path / "tree")
    result = run_apply(tree, monkeypatch, lambda p: fail_at(p, "after_rename", 0))
    assert result.exit_code == 130, result.output
    assert f"kfuncfix: error: writing {changes[0].path} failed: interrupted" in result.stderr
    assert f"kfuncfix: written: {changes[0].path}" in result.stderr.splitlines()
    assert (tree / changes[0].path).read_bytes() == changes[0].new
    assert all((tree / c.path).read_bytes() == c.old for c in changes[1:])
