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
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError

# Plumbing output that user configuration must not change.  Each commit's diffs
# are asked for in one process (--stdin: a line per commit and parent), headed by
# the commit's id (--always: even when empty).
_DIFF = ("diff-tree", "--stdin", "--always", "--root", "-r", "--no-renames", "--no-ext-diff",
         "--no-textconv", "--no-color", "--src-prefix=a/", "--dst-prefix=b/")
# A line of `diff-tree -p` that is a commit id alone heads a commit's patch (every
# line of a patch starts with a space, +, -, @, \\ or a word of git's headers).
_HEADER = re.compile(rb"^([0-9a-f]{40}|[0-9a-f]{64})$", re.M)


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
    # rev-list --format: "commit SHA PARENTS", then the format's line, for each
    # commit; the ':' keeps an empty subject's line (git leaves out an empty one).
    if ".." in rev:
        gitrun.revision_range(rev)
        listing = gitrun.text(root, "rev-list", "--reverse", "--topo-order", "--parents",
                              "--format=:%s", "--end-of-options", rev, "--")
    else:
        sha = gitrun.resolve_commit(root, rev)
        if sha is None:
            raise KfuncfixError(f"{rev}: not a commit of {os.fspath(root)}")
        listing = gitrun.text(root, "rev-list", "--parents", "--format=:%s", "-n", "1", sha,
                              "--")
    lines = listing.split("\n") if listing else []
    if not lines:
        raise KfuncfixError(f"{rev}: no commits in this range")
    heads = [line.split()[1:] for line in lines[0::2]]
    subjects = [line[1:] for line in lines[1::2]]
    if len(heads) != len(subjects) or not all(line.startswith("commit ") for line in lines[0::2]) \
            or not all(line.startswith(":") for line in lines[1::2]):
        raise KfuncfixError("git rev-list: its listing of the commits could not be read")
    pairs: list[tuple[str | None, str]] = []
    for head in heads:
        pairs += [(parent, head[0]) for parent in head[1:]] or [(None, head[0])]
    per_pair = dict(zip(pairs, changes_of(root, pairs), strict=True))
    return [_commit(head[0], subject, tuple(head[1:]), per_pair)
            for head, subject in zip(heads, subjects, strict=True)]


def _commit(sha: str, subject: str, parents: tuple[str, ...],
            per_pair: dict[tuple[str | None, str], tuple[dict[str, set[int]], set[str]]]
            ) -> Commit:
    """One commit with what it adds, from its changes relative to each parent."""
    if not parents:  # a root commit adds all it holds
        added, paths = per_pair[None, sha]
        return Commit(sha, subject, parents, added, frozenset(paths))
    per_parent = [per_pair[parent, sha] for parent in parents]
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


def changes_of(root: Path | str, pairs: list[tuple[str | None, str]]
               ) -> list[tuple[dict[str, set[int]], set[str]]]:
    """(lines added by file, every path changed) from parent (None: nothing) to sha,
    for each pair: two git processes for them all."""
    if not pairs:
        return []
    request = "".join(f"{sha} {parent}\n" if parent else f"{sha}\n"
                      for parent, sha in pairs).encode()
    raw = gitrun.out(root, *_DIFF, "-z", "--raw", input=request)
    patch = gitrun.out(root, *_DIFF, "-p", "--unified=0", input=request)
    names = _names_per_commit(raw)
    heads = list(_HEADER.finditer(patch))
    wanted = [sha for _, sha in pairs]
    if [sha for sha, _ in names] != wanted or [m.group(1).decode() for m in heads] != wanted:
        raise KfuncfixError("git diff-tree: its output does not follow the commits asked for")
    out = []
    for (sha, paths), head, after in zip(names, heads, [*heads[1:], None], strict=True):
        chunks = list(_per_file(patch[head.end() + 1:after.start() if after else len(patch)]))
        if len(chunks) != len(paths):
            raise KfuncfixError(f"git diff-tree {sha[:12]}: {len(paths)} file(s) listed but "
                                f"{len(chunks)} in the patch")
        added: dict[str, set[int]] = {}
        for path, chunk in zip(paths, chunks, strict=True):
            lines = added_in(chunk)
            if lines:
                added[path] = lines
        out.append((added, set(paths)))
    return out


def _names_per_commit(raw: bytes) -> list[tuple[str, list[str]]]:
    """(commit id, paths) of each commit in `diff-tree --stdin -z --raw` output: a
    record (":modes ids status") is followed by its path; anything else is a commit
    id heading the next commit's records."""
    out: list[tuple[str, list[str]]] = []
    fields = iter(raw.split(b"\0"))
    for field_ in fields:
        if field_.startswith(b":"):
            path = next(fields, None)
            if not out or path is None:
                raise KfuncfixError("git diff-tree: a record without its commit or path")
            out[-1][1].append(os.fsdecode(path))
        elif field_:
            out.append((field_.decode("ascii", "replace"), []))
    return out


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
