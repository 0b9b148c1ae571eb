"""The commits `check --git` lints, and what each one adds.

`REV` alone or every commit of `A..B`, merges included (in topological order,
oldest first).  What a commit adds is read per file from `git diff-tree`:
names from its `-z` listing (never from the C-quoted `diff --git` line), line
numbers from the patch of that one file (unidiff).  A merge adds what is new
relative to every parent: an "evil" line no parent had, or a conflict
resolved into text of neither side.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError

# Plumbing output that user configuration must not change.
_DIFF = ("diff-tree", "-r", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color",
         "--no-commit-id", "--src-prefix=a/", "--dst-prefix=b/")


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    parents: tuple[str, ...]
    # Lines of the commit's files that are new relative to every parent, by path.
    added: dict[str, set[int]] = field(default_factory=dict)
    # Every path the commit changes relative to any parent (gone ones included).
    paths: frozenset[str] = frozenset()


def commits(root: Path | str, rev: str) -> list[Commit]:
    """The commits `check --git REV` lints: REV alone, or each commit of A..B."""
    if ".." in rev:
        gitrun.revision_range(rev)
        listing = gitrun.text(root, "rev-list", "--reverse", "--topo-order", "--parents",
                              "--end-of-options", rev, "--")
        lines = [line.split() for line in listing.splitlines() if line]
        if not lines:
            raise KfuncfixError(f"{rev}: no commits in this range")
    else:
        sha = gitrun.resolve_commit(root, rev)
        if sha is None:
            raise KfuncfixError(f"{rev}: not a commit of {os.fspath(root)}")
        lines = [gitrun.text(root, "rev-list", "--parents", "-n", "1", sha, "--").split()]
    return [commit(root, line[0], tuple(line[1:])) for line in lines]


def commit(root: Path | str, sha: str, parents: tuple[str, ...]) -> Commit:
    """One commit (a full object id, as rev-list gives it) with what it adds."""
    subject = gitrun.text(root, "show", "-s", "--no-show-signature", "--format=%s", sha, "--")
    if not parents:  # a root commit adds all it holds
        added, paths = changes(root, None, sha)
        return Commit(sha, subject, parents, added, frozenset(paths))
    per_parent = [changes(root, parent, sha) for parent in parents]
    everything = set().union(*(p for _, p in per_parent))
    new: dict[str, set[int]] = {}
    for path in everything:
        common = None
        for lines, _ in per_parent:
            mine = lines.get(path, set())
            common = mine if common is None else common & mine
        if common:
            new[path] = common
    return Commit(sha, subject, parents, new, frozenset(everything))


def changes(root: Path | str, parent: str | None,
            sha: str) -> tuple[dict[str, set[int]], set[str]]:
    """(lines added by file, every path changed) from parent (None: nothing) to sha."""
    ends = ["--root", sha] if parent is None else [parent, sha]
    names = gitrun.out(root, *_DIFF, "-z", "--name-only", *ends, "--").split(b"\0")
    paths = [os.fsdecode(n) for n in names if n]
    patch = gitrun.out(root, *_DIFF, "-p", "--unified=0", *ends, "--")
    chunks = list(_per_file(patch))
    if len(chunks) != len(paths):
        raise KfuncfixError(f"git diff-tree {sha[:12]}: {len(paths)} file(s) listed but "
                            f"{len(chunks)} in the patch")
    added: dict[str, set[int]] = {}
    for path, chunk in zip(paths, chunks, strict=True):
        lines = added_in(chunk)
        if lines:
            added[path] = lines
    return added, set(paths)


def _per_file(patch: bytes) -> Iterator[bytes]:
    """The patch of each file: `diff --git` starts one (a patch line never does: each
    starts with ' ', '+', '-', '@' or '\\')."""
    starts = [0] if patch.startswith(b"diff --git ") else []
    pos = patch.find(b"\ndiff --git ")
    while pos != -1:  # only "\n" ends a line of a patch (a file may hold "\r" or "\f")
        starts.append(pos + 1)
        pos = patch.find(b"\ndiff --git ", pos + 1)
    for begin, end in zip(starts, [*starts[1:], len(patch)], strict=True):
        yield patch[begin:end]


def added_in(one_file_patch: bytes) -> set[int]:
    """Line numbers (in the new file) that the patch of one file adds."""
    try:
        parsed = PatchSet(one_file_patch.decode("utf-8", "surrogateescape"))
    except UnidiffParseError as exc:
        raise KfuncfixError(f"cannot read git's patch: {str(exc).strip()}") from exc
    return {line.target_line_no for pf in parsed for hunk in pf for line in hunk
            if line.is_added and line.target_line_no is not None}
