"""The tree at a revision, as one value: what every command reads the tree through.

A `Snapshot` is a tree root, the commit it is read at (or the worktree) and an
overlay of files replaced in memory (`check --patch`).  The pipeline builds it
once per run and the index and the plan carry it; discovery, the planner, the
config file, MAINTAINERS and `scripts/get_maintainer.pl`, the build's scratch
worktree all read through it, so nothing reads "the worktree" when the run is at
a revision.  Git itself runs only in `kfuncfix.gitrun`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kfuncfix import gitrun
from kfuncfix.config import FILENAME, parse_config, read_config_file
from kfuncfix.errors import KfuncfixError
from kfuncfix.treefiles import TreeFiles
from kfuncfix.userfiles import LIMIT


class Snapshot:
    """One tree at one revision (None: the worktree), optionally with an overlay."""

    def __init__(self, root: Path, rev: str | None = None,
                 overlay: Mapping[str, bytes | None] | None = None,
                 files: TreeFiles | None = None) -> None:
        # `files`: a file layer of the same tree made by the caller (`check --git`'s
        # views of the worktree as each commit, kfuncfix.commitscope).
        self.files = files if files is not None else TreeFiles(root, dict(overlay or {}), rev)

    @property
    def root(self) -> Path:
        return self.files.root

    @property
    def rev(self) -> str | None:
        """The full commit id the tree is read at (None: the worktree)."""
        return self.files.rev

    @property
    def overlay(self) -> dict[str, bytes | None]:
        return self.files.overlay

    @property
    def is_git(self) -> bool:
        return self.files.is_git

    def read(self, rel: str) -> bytes | None:
        """A regular file of the tree at the revision, or None when it is not one
        (missing, a symbolic link, a submodule, a path leading out of the tree)."""
        try:
            if not self.files.exists(rel):
                return None
            return self.files.read(rel)
        except OSError:
            return None

    def config(self, explicit: Path | None = None) -> dict[str, Any]:
        """The validated `.kfuncfix.toml` of the tree at the revision (or `explicit`)."""
        if explicit is not None:
            return read_config_file(explicit)
        # In an overlay, None is a file the revision does not have (a parent commit).
        kind = self.files.kind(FILENAME) if FILENAME not in self.overlay else (
            "file" if self.overlay[FILENAME] is not None else None)
        if kind is None:
            return {}
        if self.rev is None and FILENAME not in self.overlay:
            # The worktree's file: regular and small, or one line saying why not
            # (a link to /dev/zero or a FIFO is never read without end).
            return read_config_file(self.root / FILENAME)
        where = f"{FILENAME} at {self.rev[:12]}" if self.rev else str(self.root / FILENAME)
        data = self.read(FILENAME)
        if data is None:
            raise KfuncfixError(f"{where}: the settings file must be a regular file, not a "
                                f"{kind}")
        if len(data) > LIMIT:
            raise KfuncfixError(f"{where}: the settings file is larger than "
                                f"{LIMIT >> 20} MiB")
        return parse_config(data, where)

    def committed(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The regular files among `paths` as committed at the revision (code to run,
        such as get_maintainer.pl, comes from here and never from the worktree)."""
        rev = self._commit()
        # The file layer's own listing and checked cat-file reads, without the overlay.
        files = self.files if not self.overlay else TreeFiles(self.root, None, rev)
        return {rel: files.read(rel) for rel in paths if files.kind(rel) == "file"}

    def directories(self) -> list[str]:
        """Every directory of the tree at the revision (safe names only: no `..`, `.git`)."""
        listing = gitrun.out(self.root, "ls-tree", "-r", "-d", "-z", "--name-only",
                             "--full-tree", self._commit())
        names = [os.fsdecode(n) for n in listing.split(b"\0") if n]
        return [n for n in names if not n.startswith("/")
                and all(p not in ("", ".", "..") and p.lower() != ".git" for p in n.split("/"))]

    @contextmanager
    def temporary_worktree(self, where: Path) -> Iterator[Path]:
        """A scratch worktree of the revision at `where`, removed after (only it)."""
        with gitrun.temporary_worktree(self.root, self._commit(), where) as tree:
            yield tree

    def _commit(self) -> str:
        if self.rev is None:
            raise KfuncfixError(f"{self.root}: no revision to read committed files at")
        return self.rev

    def close(self) -> None:
        self.files.close()


def at_revision(root: Path, rev: str) -> Snapshot:
    """The tree at `rev` (a user's revision, checked by `gitrun.revision`)."""
    return Snapshot(root, gitrun.revision(rev))
