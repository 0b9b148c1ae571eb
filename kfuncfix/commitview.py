"""The tree at a commit as the worktree with the files that differ laid over it.

Reading a whole kernel tree at a revision decompresses every blob (`git grep
REV` takes 2 s of CPU where the same search of the worktree takes 0.4 s).
Most of the time the commits `check --git` lints differ from the worktree in a
handful of files, so the tree at a commit is read as the worktree plus an
overlay: each path whose content differs (`git diff-index`, which also names
files whose stat data merely looks changed) replaced by its blob at the
commit, each untracked C file hidden.  Where that cannot be exact (a sparse
checkout, assume-unchanged entries, thousands of differing files) there is no
view and the caller reads the revision itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from kfuncfix import gitrun

# Beyond this many differing files reading the revision itself is as cheap.
MAX_DIFFERING = 3000
_REGULAR = (b"100644", b"100755")


def overlay_at(root: Path, sha: str) -> dict[str, bytes | None] | None:
    """The overlay that makes the worktree read as commit `sha` (a full object id
    from rev-list), or None where the worktree cannot stand in for it."""
    listing = gitrun.out(root, "ls-files", "-t", "-v", "-z")
    for entry in listing.split(b"\0"):
        # H: an ordinary entry; S (skip-worktree), lowercase (assume-unchanged) and the
        # others are not in the worktree as committed, or not checked by diff-index.
        if entry and not entry.startswith(b"H "):
            return None
    differing = [os.fsdecode(p) for p in gitrun.out(
        root, "diff-index", "-z", "--name-only", "--no-renames", sha, "--").split(b"\0") if p]
    untracked = [os.fsdecode(p) for p in gitrun.out(
        root, "ls-files", "-z", "--others", "--", ":(glob)**/*.[ch]").split(b"\0") if p]
    if len(differing) > MAX_DIFFERING:
        return None
    overlay: dict[str, bytes | None] = dict.fromkeys(untracked)
    if not differing:
        return overlay
    entries = _entries(root, sha, differing)
    wanted = [(path, entries[path][1]) for path in differing
              if path in entries and entries[path][0] in _REGULAR]
    overlay.update(dict.fromkeys(differing))  # gone, a link or a submodule at sha: no file
    overlay.update(read_blobs(root, wanted))
    return overlay


def _entries(root: Path, sha: str, paths: list[str]) -> dict[str, tuple[bytes, str]]:
    """(mode, object id) of each of `paths` at sha that exists there."""
    out = gitrun.out(root, "--literal-pathspecs", "ls-tree", "-z", "--full-tree", sha, "--",
                     *paths)
    found: dict[str, tuple[bytes, str]] = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, _, oid = meta.split(b" ")
        found[os.fsdecode(name)] = (mode, oid.decode())
    return found


def read_blobs(root: Path, wanted: list[tuple[str, str]]) -> dict[str, bytes]:
    """Contents of blobs by path, read by object id through one `git cat-file --batch`."""
    if not wanted:
        return {}
    request = b"".join(f"{oid}\n".encode() for _, oid in wanted)
    data = gitrun.out(root, "cat-file", "--batch", input=request)
    out: dict[str, bytes] = {}
    pos = 0
    for path, oid in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        if len(header) != 3 or header[0].decode() != oid or header[1] != b"blob":
            raise gitrun.GitError(f"git cat-file gave {data[pos:end]!r} for blob {oid}")
        size = int(header[2])
        out[path] = data[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
    return out
