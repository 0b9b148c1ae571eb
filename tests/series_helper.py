"""Reading written series back: mail headers, patch files, and their hunks against the plan.

`planned_lines` turns a plan's byte edits into the line numbers each file
may change on either side, and `assert_hunks_within_plan` checks with
unidiff that every removed and added line of a patch is one of them.  Line
numbers are compared modulo diff "sliders": a block of added (or removed)
lines can be shown one line up or down when the line it passes over is
the same text, and git chooses where with its own heuristics.
"""

from __future__ import annotations

import email
import email.policy
import subprocess
from email.message import EmailMessage
from pathlib import Path

from unidiff import PatchSet

from kfuncfix.engine import Plan
from kfuncfix.engine.edits import Edit
from kfuncfix.model import TreeIndex
from kfuncfix.series import plan_series

# path -> (old line numbers that may be removed, new line numbers that may be added)
PlannedLines = dict[str, tuple[set[int], set[int]]]


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          env=env)
    return done.stdout.decode()


def mail(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def header(path: Path, name: str) -> str:
    """One header of a mail file, unfolded."""
    value = mail(path)[name]
    return " ".join(str(value).split()) if value is not None else ""


def patch_files(outdir: Path) -> list[Path]:
    return sorted(outdir.glob("*.patch"))


def without_cover(files: list[Path]) -> list[Path]:
    return [f for f in files if "cover-letter" not in f.name]


def patch_set(path: Path) -> PatchSet:
    return PatchSet(path.read_text(encoding="utf-8"))


def user_state(repo: Path) -> tuple[str, ...]:
    """Everything of a checkout that kfuncfix must leave alone."""
    index = repo / ".git" / "index"
    return (
        git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "for-each-ref"),
        git(repo, "symbolic-ref", "HEAD"),
        git(repo, "worktree", "list", "--porcelain"),
        index.read_bytes().hex() if index.exists() else "",
    )


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _slid(lines: list[bytes], first: int, last: int) -> set[int]:
    """Lines first..last (1-based) and every place the same block could slide to."""
    out = set(range(first, last + 1))
    a, b = first, last
    while a > 1 and b <= len(lines) and lines[a - 2] == lines[b - 1]:
        a, b = a - 1, b - 1
        out.add(a)
    a, b = first, last
    while b < len(lines) and a >= 1 and lines[b] == lines[a - 1]:
        a, b = a + 1, b + 1
        out.add(b)
    return out


def planned_lines(old: bytes, new: bytes, edits: list[Edit]) -> tuple[set[int], set[int]]:
    """The old and new line numbers the edits touch (edits are on `old`, giving `new`)."""
    old_lines, new_lines = old.split(b"\n"), new.split(b"\n")
    removed: set[int] = set()
    added: set[int] = set()
    shift = 0  # how far the edits before this one moved the text
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        removed |= _slid(old_lines, _line(old, edit.start),
                         _line(old, max(edit.start, edit.end - 1)))
        start = edit.start + shift
        end = start + len(edit.text)
        added |= _slid(new_lines, _line(new, start), _line(new, max(start, end - 1)))
        shift += len(edit.text) - (edit.end - edit.start)
    assert len(old) + shift == len(new), "the edits do not give the new text"
    return removed, added


def append_edit(old: bytes, new: bytes) -> list[Edit]:
    """The one edit that turns `old` into `new` when new only adds text at the end."""
    assert new.startswith(old), "not an append"
    return [Edit(len(old), len(old), new[len(old):], "append")]


def assert_hunks_within_plan(path: Path, planned: PlannedLines) -> list[str]:
    """Every -/+ line of the patch file is a line the plan changes; return its files."""
    files = []
    for patched in patch_set(path):
        files.append(patched.path)
        assert patched.path in planned, f"{path.name} changes {patched.path}, not in the plan"
        removable, addable = planned[patched.path]
        for hunk in patched:
            for line in hunk:
                if line.is_removed:
                    assert line.source_line_no in removable, (
                        f"{path.name}: {patched.path}:{line.source_line_no} removed: "
                        f"{line.value!r}")
                elif line.is_added:
                    assert line.target_line_no in addable, (
                        f"{path.name}: {patched.path}:{line.target_line_no} added: "
                        f"{line.value!r}")
    return files


def plan_lines(tree: Path, index: TreeIndex, result: Plan, base: str = "HEAD") -> PlannedLines:
    """The lines a series of this plan may change: the rewrite, the definition, its note."""
    planned = {c.path: planned_lines(c.old, c.new, c.edits)
               for c in result.changes(with_definition=True)}
    # The documentation note of the definition patch is appended to its file.
    first = plan_series(index, result, "none", base, history=False).patches[0]
    for path, new in first.changes.items():
        if path not in planned and new is not None:
            old = subprocess.run(["git", "-C", str(tree), "show", f"{base}:{path}"],
                                 check=True, capture_output=True).stdout
            planned[path] = planned_lines(old, new, append_edit(old, new))
    return planned
