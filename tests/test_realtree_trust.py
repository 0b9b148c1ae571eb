"""Whole-tree safety on Debian's linux-source 6.1 and 6.12, for every built-in rule.

On each tree, as it is and with some of the files each rule changes turned
into CRLF and given non-UTF-8 bytes:

* every edit of the plan (macro definition included) lies in a span the rule
  may change, worked out from the index (tests/span_helper.py), and says
  what the rule says there; outside the edits old and new bytes are equal;
* in a worktree: `diff` applied with `git apply` gives the same files as
  `apply`, which gives the plan's bytes; `apply` twice equals `apply` once;
  `apply` then `diff` is empty;
* `apply` made to fail at each file in turn leaves every file old or new.

The cached trees are read only: writing happens in `git worktree`s made in
tmp directories (tests/conftest.py), reset between tests.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import FileChange, list_rules, load_rule, plan
from kfuncfix.model import TreeIndex
from kfuncfix.outputs import apply as apply_module
from kfuncfix.outputs.apply import apply_changes
from kfuncfix.outputs.maintainers import recipients_for_paths
from kfuncfix.sample import copy_sample_tree
from tests.conftest import git_init, git_worktree
from tests.span_helper import stray_edits, unchanged_outside
from tests.test_trust_hostile import DATE, ODD_NAMES, SENDER, kfunc_file

pytestmark = pytest.mark.realtree

RULES = [r.name for r in list_rules()]
TREES = ["6.1", "6.12"]
LATIN1 = b"/* Copyright \xa9 2024 J\xf6rg M\xfcller, \xabkfunc\xbb */"


@pytest.fixture(scope="module")
def trees(linux61: Path, linux612: Path) -> dict[str, Path]:
    return {"6.1": linux61, "6.12": linux612}


@pytest.fixture(scope="module")
def indexes(trees: dict[str, Path]) -> dict[str, TreeIndex]:
    return {version: discover(tree) for version, tree in trees.items()}


@pytest.fixture(scope="module")
def worktrees(trees: dict[str, Path],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    made = {v: git_worktree(tree, tmp_path_factory.mktemp(f"wt{v}") / "wt")
            for v, tree in trees.items()}
    yield made
    for version, wt in made.items():
        subprocess.run(["git", "-C", str(trees[version]), "worktree", "remove", "--force",
                        str(wt)], capture_output=True)


def changes_of(index: TreeIndex, rule: str) -> list[FileChange]:
    return plan(index, load_rule(rule)).changes(with_definition=True)


def status_of(index: TreeIndex, rule: str) -> int:
    return 1 if plan(index, load_rule(rule)).skipped else 0


def reset(wt: Path) -> None:
    subprocess.run(["git", "-C", str(wt), "checkout", "-q", "--", "."], check=True)


def changed_files(wt: Path) -> dict[str, bytes]:
    out = subprocess.run(["git", "-C", str(wt), "status", "--porcelain=v1", "-z",
                          "--untracked-files=all"], capture_output=True, check=True).stdout
    paths = [os.fsdecode(e[3:]) for e in out.split(b"\0") if e]
    return {p: (wt / p).read_bytes() for p in sorted(paths)}


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def check_edits(index: TreeIndex, rule: str, changes: list[FileChange]) -> None:
    loaded = load_rule(rule)
    stray = [s for c in changes for s in stray_edits(index, loaded, c)]
    assert stray == []
    assert [c.path for c in changes if not unchanged_outside(c.old, c.new, c.edits)] == []


def check_round_trip(wt: Path, rule: str, changes: list[FileChange], force: bool,
                     status: int) -> None:
    """git apply of `diff` == `apply` == the plan; apply again: no change; then diff: empty.

    `status` is the exit status every run must give (1 when the plan skips something).
    """
    extra = ["--force"] if force else []
    base = changed_files(wt)  # the hostile variant starts from uncommitted files
    diff = cli("diff", "--rule", rule, "--with-definition", str(wt))
    assert diff.exit_code == status, diff.stderr
    expected = {**base, **{c.path: c.new for c in changes}}
    if changes:
        subprocess.run(["git", "apply", "-"], input=diff.stdout_bytes, cwd=wt, check=True,
                       capture_output=True)
    by_git = changed_files(wt)
    assert by_git == expected
    for path, data in base.items():  # back to where apply starts from
        (wt / path).write_bytes(data)
    reset_to = set(by_git) - set(base)
    if reset_to:
        subprocess.run(["git", "-C", str(wt), "checkout", "-q", "--", *sorted(reset_to)],
                       check=True)
    assert changed_files(wt) == base

    once = cli("apply", "--rule", rule, "--with-definition", *extra, str(wt))
    assert once.exit_code == status, once.stderr
    assert changed_files(wt) == by_git
    twice = cli("apply", "--rule", rule, "--with-definition", *extra, str(wt))
    assert twice.exit_code == status, twice.stderr
    assert twice.stderr.splitlines()[-1].startswith("0 files changed")
    assert changed_files(wt) == by_git
    after = cli("diff", "--rule", rule, "--with-definition", str(wt))
    assert (after.exit_code, after.stdout_bytes) == (status, b"")


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("version", TREES)
def test_every_changed_byte_is_one_the_rule_meant(version: str, rule: str,
                                                  indexes: dict[str, TreeIndex]) -> None:
    index = indexes[version]
    changes = changes_of(index, rule)
    check_edits(index, rule, changes)
    # 6.12 adopted every convention (the tag, the set and defs macros): only the
    # alternatives upstream never took (`lint = "never"`) and the waves that
    # came later (`when-retired`: KF_TRUSTED_ARGS) still have work there.
    expect_work = version == "6.1" or load_rule(rule).lint in ("never", "when-retired")
    assert bool(changes) == expect_work


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("version", TREES)
def test_diff_apply_and_a_second_apply_agree(version: str, rule: str,
                                             indexes: dict[str, TreeIndex],
                                             worktrees: dict[str, Path]) -> None:
    wt = worktrees[version]
    reset(wt)
    try:
        index = indexes[version]
        check_round_trip(wt, rule, changes_of(index, rule), False, status_of(index, rule))
    finally:
        reset(wt)


def hostile_copy(wt: Path, changes: list[FileChange]) -> dict[str, bytes]:
    """Make a third of the changed files CRLF, a third non-UTF-8, a third both."""
    made = {}
    for i, change in enumerate(c for c in changes if c.path.endswith(".c")):
        data = change.old
        if i % 3 in (1, 2):
            first = data.index(b"\n") + 1  # after the SPDX line
            data = data[:first] + LATIN1 + b"\n" + data[first:]
        if i % 3 in (0, 2):
            data = data.replace(b"\n", b"\r\n")
        (wt / change.path).write_bytes(data)
        made[change.path] = data
    return made


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("version", TREES)
def test_crlf_and_non_utf8_files_survive(version: str, rule: str,
                                         indexes: dict[str, TreeIndex],
                                         worktrees: dict[str, Path]) -> None:
    wt = worktrees[version]
    clean = changes_of(indexes[version], rule)
    if not clean:
        pytest.skip(f"{rule} changes nothing in {version}")
    reset(wt)
    try:
        made = hostile_copy(wt, clean)
        index = discover(wt)
        changes = changes_of(index, rule)
        assert sorted(c.path for c in changes) == sorted(c.path for c in clean)
        assert sum(len(c.kfuncs) for c in changes) == sum(len(c.kfuncs) for c in clean)
        check_edits(index, rule, changes)
        for change in changes:
            if change.path not in made:
                continue
            if b"\r\n" in change.old:
                assert re.search(rb"(?<!\r)\n", change.new) is None, change.path
            if LATIN1 in change.old:
                assert change.new.count(LATIN1) == 1
        check_round_trip(wt, rule, changes, True, status_of(index, rule))
    finally:
        reset(wt)


def failing_replace(nth: int) -> Callable[[str, str], None]:
    """os.replace that fails as on a full disk at its nth call (0-based)."""
    calls = [0]
    real = os.replace

    def replace(src: str, dst: str) -> None:
        calls[0] += 1
        if calls[0] == nth + 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    return replace


def test_apply_interrupted_at_each_file_of_a_real_tree(
        indexes: dict[str, TreeIndex], worktrees: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    wt = worktrees["6.1"]
    changes = changes_of(indexes["6.1"], "bpf_kfunc_tag")
    assert len(changes) >= 12  # eleven .c files, include/linux/btf.h, maybe documentation
    reset(wt)
    try:
        for nth in range(len(changes)):
            with monkeypatch.context() as patch:
                patch.setattr(apply_module.os, "replace", failing_replace(nth))
                result = apply_changes(wt, changes)
            assert result.failed is not None and result.failed.path == changes[nth].path
            assert result.written == [c.path for c in changes[:nth]]
            assert result.unwritten == [c.path for c in changes[nth:]]
            assert changed_files(wt) == {c.path: c.new for c in changes[:nth]}
            assert [p for c in changes for p in (wt / c.path).parent.glob(".*.kfuncfix")] == []
            reset(wt)
    finally:
        reset(wt)


def test_odd_names_reach_perl_as_arguments(linux61: Path, tmp_path: Path) -> None:
    """The tree's own get_maintainer.pl and checkpatch.pl, on files with odd names."""
    tree = copy_sample_tree(tmp_path / "tree")
    for i, (rel, name) in enumerate(ODD_NAMES.items()):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(kfunc_file(name, f"odd{i}_ids"))
    (tree / "scripts").mkdir()
    for script in ("get_maintainer.pl", "checkpatch.pl", "spelling.txt",
                   "const_structs.checkpatch"):
        shutil.copy(linux61 / "scripts" / script, tree / "scripts" / script)
    # What both scripts look for to accept a directory as the top of a kernel tree.
    for name in ("COPYING", "CREDITS", "Kbuild", "README"):
        (tree / name).touch()
    for name in ("arch", "drivers", "fs", "init", "ipc", "lib"):
        (tree / name).mkdir(exist_ok=True)
        (tree / name / ".keep").touch()
    git_init(tree)

    for rel in ODD_NAMES:
        found = recipients_for_paths(tree, [rel])
        assert found.to and found.cc, rel  # THE REST at least: a real answer, not an error
    out = tmp_path / "out"
    result = cli("series", str(tree), "-o", str(out), "--split", "file", "--check",
                 "--date", DATE, "--from", SENDER)
    assert result.exit_code == 0, result.output
    assert "series check passed" in result.stderr
    assert "checkpatch --strict: 0 new errors" in result.stderr
