"""The tree at a commit as the worktree with the files that differ laid over it.

Reading a whole kernel tree at a revision decompresses every blob (`git grep
REV` takes 2 s of CPU where the same search of the worktree takes 0.4 s).
The commits `check --git` lints usually differ from the worktree in a handful
of files, so the tree at a commit is read as the worktree plus an overlay:
each path that differs replaced by its blob at the commit (None where the
commit has no regular file there).  What differs is asked of git once per run
(`git diff-index HEAD`: the worktree's changes, files whose stat data merely
looks changed included) and per commit from trees alone (`git diff-tree
COMMIT HEAD`).  Untracked files are not part of any commit: a view never
reads them.  Where the worktree cannot stand in (a sparse checkout,
assume-unchanged entries, thousands of differing files) there is no view and
the caller reads the revision itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from kfuncfix import gitrun
from kfuncfix.treefiles import TreeFiles

# Beyond this many differing files reading the revision itself is as cheap.
MAX_DIFFERING = 3000


class Views:
    """Overlays that make one worktree read as each commit of its repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        listing = gitrun.out(root, "ls-files", "-t", "-v", "-z")
        entries = [e for e in listing.split(b"\0") if e]
        # H: an ordinary entry; S (skip-worktree), lowercase (assume-unchanged) and the
        # other tags are entries the worktree does not hold as git has them.
        # A tree below the top of its repository: paths would not line up with git's.
        self.exact = (all(e.startswith(b"H ") for e in entries)
                      and gitrun.text(root, "rev-parse", "--show-prefix") == "")
        self.tracked = frozenset(e[2:] for e in entries)
        self.head = gitrun.resolve_commit(root, "HEAD")
        self.dirty: set[str] = set()
        if self.exact and self.head is not None:
            self.dirty = _names(gitrun.out(root, "diff-index", "-z", "--name-only",
                                           "--no-renames", self.head, "--"))
        self._overlays: dict[str, dict[str, bytes | None] | None] = {}
        self.gitlinks: list[str] | None = None  # the worktree's submodules, once asked

    def is_tracked(self, rel: str) -> bool:
        return os.fsencode(rel) in self.tracked

    def overlay(self, sha: str) -> dict[str, bytes | None] | None:
        """What to lay over the worktree to read commit `sha` (a full object id),
        or None where the worktree cannot stand in for it."""
        if sha not in self._overlays:
            self._overlays[sha] = self._overlay(sha)
        return self._overlays[sha]

    def _overlay(self, sha: str) -> dict[str, bytes | None] | None:
        if not self.exact or self.head is None:
            return None
        differing = set(self.dirty)
        if sha != self.head:
            differing |= _names(gitrun.out(self.root, "diff-tree", "-r", "-z", "--name-only",
                                           "--no-renames", sha, self.head, "--"))
        if len(differing) > MAX_DIFFERING:
            return None
        paths = sorted(differing)
        overlay: dict[str, bytes | None] = dict.fromkeys(paths)  # gone, a link, a submodule
        if paths:
            overlay.update(read_at(self.root, sha, paths))
        return overlay


def _names(out: bytes) -> set[str]:
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


def read_at(root: Path, sha: str, paths: list[str]) -> dict[str, bytes]:
    """The regular files among `paths` as commit `sha` has them (through the file
    layer: one `git ls-tree` for the paths, one `git cat-file --batch`)."""
    files = TreeFiles(root, rev=sha)
    try:
        files.listed(paths)
        return {path: files.read(path) for path in paths if files.kind(path) == "file"}
    finally:
        files.close()
