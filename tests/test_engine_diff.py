"""The diff and diffstat output: what git itself prints, readable by unidiff and git apply."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from unidiff import PatchSet

from kfuncfix.engine import FileChange
from kfuncfix.outputs.diff import blob_id, diffstat, unified_diff

OLD = b"".join(b"line %d\n" % i for i in range(1, 21))
NEW = OLD.replace(b"line 5\n", b"line five\n").replace(b"line 17\n", b"")


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(repo.parent))
    return subprocess.run(["git", "-C", str(repo), "-c", "core.abbrev=12", *args], input=data,
                          capture_output=True, check=True, env=env).stdout


def git_diff(tmp_path: Path, changes: dict[str, tuple[bytes, bytes]], args: list[str]) -> bytes:
    """What `git diff ARGS` prints for the same changes, in a scratch repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for path, (old, _) in changes.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(old)
    git(repo, "add", "-A")
    for path, (_, new) in changes.items():
        (repo / path).write_bytes(new)
    return git(repo, "diff", "--no-color", *args)


CASES = {
    "two hunks": {"kernel/a.c": (OLD, NEW)},
    "no newline at end": {"a.c": (b"a\nb\nc", b"a\nB\nc")},
    "newline added at end": {"a.c": (b"a\nb", b"a\nb\n")},
    "crlf and latin-1": {"a.c": (b"caf\xe9\r\nx\r\n", b"caf\xe9\r\ny\r\n")},
    "function context": {"k.c": (b"int f(void)\n{\n" + OLD + b"}\n",
                                 b"int f(void)\n{\n" + NEW + b"}\n")},
    "two files": {"b.c": (OLD, NEW), "a/z.c": (b"x\n", b"y\n")},
}


@pytest.mark.parametrize("name", CASES)
def test_same_as_git_diff(name: str, tmp_path: Path) -> None:
    changes = CASES[name]
    ours = unified_diff([FileChange(p, o, n, [], []) for p, (o, n) in sorted(changes.items())])
    assert ours == git_diff(tmp_path, changes, [])


@pytest.mark.parametrize("name", CASES)
def test_stat_same_as_git(name: str, tmp_path: Path) -> None:
    changes = CASES[name]
    ours = diffstat([FileChange(p, o, n, [], []) for p, (o, n) in sorted(changes.items())])
    assert ours == git_diff(tmp_path, changes, ["--stat=80"])


def test_unidiff_reads_it() -> None:
    patch = PatchSet(unified_diff([FileChange("kernel/a.c", OLD, NEW, [], [])]).decode())
    (pf,) = patch
    assert (pf.path, pf.added, pf.removed, len(pf)) == ("kernel/a.c", 1, 2, 2)
    assert [line.source_line_no for h in pf for line in h if line.is_removed] == [5, 17]


def test_git_apply_takes_it(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_bytes(b"a\nb\nc")
    diff = unified_diff([FileChange("a.c", b"a\nb\nc", b"a\nB\nc\n", [], [])])
    subprocess.run(["git", "apply", "-"], input=diff, cwd=tmp_path, check=True,
                   env=dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp_path.parent)))
    assert (tmp_path / "a.c").read_bytes() == b"a\nB\nc\n"


def test_mode_and_blob_ids(tmp_path: Path) -> None:
    diff = unified_diff([FileChange("x.sh", b"a\n", b"b\n", [], [])], {"x.sh": 0o100755})
    (tmp_path / "blob").write_bytes(b"a\n")
    full = subprocess.run(["git", "hash-object", str(tmp_path / "blob")], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert blob_id(b"a\n") == full
    new_id = blob_id(b"b\n")[:12]
    assert f"index {full[:12]}..{new_id} 100755".encode() in diff


def test_color() -> None:
    plain = unified_diff([FileChange("a.c", OLD, NEW, [], [])])
    painted = unified_diff([FileChange("a.c", OLD, NEW, [], [])], color=True)
    assert b"\x1b[31m-line 5\x1b[m\n" in painted and b"\x1b[32m+line five\x1b[m\n" in painted
    assert b"\x1b[1mdiff --git a/a.c b/a.c\x1b[m\n" in painted
    assert painted.replace(b"\x1b[m", b"").replace(b"\x1b[31m", b"").replace(
        b"\x1b[32m", b"").replace(b"\x1b[36m", b"").replace(b"\x1b[1m", b"") == plain


def test_unchanged_file_prints_nothing() -> None:
    assert unified_diff([FileChange("a.c", OLD, OLD, [], [])]) == b""
    assert diffstat([FileChange("a.c", OLD, OLD, [], [])]) == b""
