"""Write planned changes into the tree, one atomic replace per file.

Every file is checked before any is written: it must be a regular file
inside the tree, reached without symbolic links, still hold the bytes the
plan was made from, and (in a git work tree) have no uncommitted changes
unless forced.  One refusal means nothing is written.  Each file is then
written to a temporary file in its own directory, given the old file's
mode, synced, and renamed over the old one.

A write that fails (disk full, a file changed under us, Ctrl-C) stops the
run there: every file then holds either its old or its new bytes, and the
result says which were written and which were not, read back from disk.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kfuncfix.engine.plan import FileChange


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ApplyResult:
    written: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    failed: Refusal | None = None  # the write that stopped the run, if one did
    unwritten: list[str] = field(default_factory=list)  # left as they were after `failed`

    @property
    def complete(self) -> bool:
        return not self.refused and self.failed is None


class _Changed(Exception):
    """The file changed between planning and writing."""


def apply_changes(root: Path, changes: Sequence[FileChange], force: bool = False) -> ApplyResult:
    """Write every change, or none when one of them may not be written."""
    root = root.resolve()
    refused = [r for c in changes if (r := _refusal(root, c)) is not None]
    if not force:
        dirty = uncommitted(root, [c.path for c in changes])
        refused += [Refusal(p, "has uncommitted changes (commit them, or use --force)")
                    for p in sorted(dirty)]
    if refused:
        return ApplyResult([], refused)
    result = ApplyResult()
    for number, change in enumerate(changes):
        try:
            _replace(root, change)
            result.written.append(change.path)
        except (OSError, _Changed, KeyboardInterrupt) as exc:
            # Later files would likely fail the same way (a full disk): stop here.
            result.failed = Refusal(change.path, _failure(exc))
            rest = changes[number:]
            # The rename may have happened before the failure (Ctrl-C right after it).
            done = [c.path for c in rest if _holds(root, c.path, c.new)]
            result.written = list(dict.fromkeys([*result.written, *done]))
            result.unwritten = [c.path for c in rest if c.path not in result.written]
            break
    return result


def _failure(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _holds(root: Path, rel: str, data: bytes) -> bool:
    try:
        return (root / rel).read_bytes() == data
    except OSError:
        return False


def _refusal(root: Path, change: FileChange) -> Refusal | None:
    rel = PurePosixPath(change.path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return Refusal(change.path, "not a path inside the tree")
    current = root
    for part in rel.parts:
        current = current / part
        try:
            info = os.lstat(current)
        except OSError as exc:
            return Refusal(change.path, f"cannot read: {exc.strerror}")
        if stat.S_ISLNK(info.st_mode):
            if current == root / rel:
                return Refusal(change.path, "is a symbolic link; not written through")
            link = current.relative_to(root)
            return Refusal(change.path, f"lies under {link}, a symbolic link; not written through")
    if not stat.S_ISREG(info.st_mode):
        return Refusal(change.path, "not a regular file")
    try:
        if (root / rel).read_bytes() != change.old:
            return Refusal(change.path, "changed since it was read; run again")
    except OSError as exc:
        return Refusal(change.path, f"cannot read: {exc.strerror}")
    return None


def _replace(root: Path, change: FileChange) -> None:
    target = root / change.path
    info = os.lstat(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                               suffix=".kfuncfix")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(change.new)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IMODE(info.st_mode))
        # Last look before the rename: still the file (not a link) we planned from.
        if stat.S_ISLNK(os.lstat(target).st_mode) or target.read_bytes() != change.old:
            raise _Changed("changed while writing; left as it was")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _sync_directory(target.parent)


def _sync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is done
    finally:
        os.close(fd)


def uncommitted(root: Path, paths: Sequence[str]) -> set[str]:
    """The paths (tree-relative) that git reports as modified, staged or untracked."""
    if not paths:
        return set()
    top = _git_toplevel(root)
    if top is None:
        return set()
    prefix = PurePosixPath(os.path.relpath(root, top).replace(os.sep, "/"))
    by_top = {str(prefix / p) if str(prefix) != "." else p: p for p in paths}
    # Literal pathspecs: a file named `*.c` or `:(exclude)x` is just that file.
    proc = subprocess.run(
        ["git", "--literal-pathspecs", "-C", str(top), "status", "--porcelain=v1", "-z",
         "--no-renames",
         "--untracked-files=all", "--", *by_top],
        capture_output=True,
    )
    if proc.returncode:
        # If git cannot tell, say so rather than write over someone's work.
        return set(paths)
    entries = [e for e in proc.stdout.split(b"\0") if e]
    return {by_top[p] for e in entries if (p := os.fsdecode(e[3:])) in by_top}


def _git_toplevel(root: Path) -> Path | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"],
                              capture_output=True, text=True)
    except OSError:
        return None  # no git at all: not a git tree as far as we can know
    if proc.returncode:
        return None
    return Path(proc.stdout.strip()).resolve()
