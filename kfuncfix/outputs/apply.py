"""Write planned changes into the tree, one atomic replace per file.

Every file is checked before any is written: it must be a regular file
inside the tree, reached without symbolic links, in a directory we may
write, still hold the bytes the plan was made from, and, unless forced,
be writable (not 0444), have no other hard link (a replace would split
them), and (in a git work tree) have no uncommitted changes.  One refusal
means nothing is written.  Each file is then written to a temporary file
in its own directory, given the old file's owner, group and mode, synced,
and renamed over the old one.

A write that fails (disk full, a file changed under us, Ctrl-C, SIGTERM)
stops the run there: every file then holds either its old or its new
bytes, and the result says which were written and which were not, read
back from disk.  Only kill -9 can leave a temporary file
(`.NAME.XXXXXXXX.kfuncfix`); the next run removes those in the directories
it writes, and says so.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kfuncfix import gitrun
from kfuncfix.engine.plan import FileChange
from kfuncfix.gitrun import work_tree

TEMP_SUFFIX = ".kfuncfix"
# What tempfile.mkstemp(prefix=".NAME.", suffix=TEMP_SUFFIX) names: 8 characters of
# its alphabet in between.  Nothing else is ever taken for one of our temporaries.
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.kfuncfix\Z", re.DOTALL)
# Exit statuses of a run stopped by a signal, as a shell reports them (128 + signal).
_STOP_STATUS = {"interrupted": 130, "terminated": 143}


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
    removed: list[str] = field(default_factory=list)  # stale temporaries cleaned up first
    planned: int = 0  # files the plan changes

    @property
    def complete(self) -> bool:
        return not self.refused and self.failed is None

    @property
    def stop_status(self) -> int:
        """Exit status of a stopped run: 130 for Ctrl-C, 143 for SIGTERM, else 2."""
        return _STOP_STATUS.get(self.failed.reason, 2) if self.failed else 0

    def summary(self, kfuncs: int, sets: int, already: int, skipped: int) -> str:
        """The last line of `apply`: what is now in the tree, never more than was written.

        The counts of kfuncs and sets are the plan's; they are claimed as
        rewritten only when every file was written.
        """
        tail = ([f"{already} already done"] if already else []) + [f"{skipped} skipped"]
        if self.refused:
            head = [f"nothing written: {len(self.refused)} of {_count(self.planned, 'file')} "
                    "refused"]
            if kfuncs:
                head.append(f"{_count(kfuncs, 'kfunc')} left as they were")
            return ", ".join(head + tail)
        if self.failed is not None:
            return ", ".join([f"stopped after {len(self.written)} of "
                              f"{_count(self.planned, 'file')} changed", *tail])
        parts = [f"{_count(len(self.written), 'file')} changed"]
        if kfuncs:
            parts.append(f"{_count(kfuncs, 'kfunc')} rewritten")
        if sets:
            parts.append(f"{_count(sets, 'set')} renamed")
        return ", ".join(parts + tail)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class _Changed(Exception):
    """The file changed between planning and writing."""


class _Terminated(BaseException):
    """SIGTERM arrived: stop as Ctrl-C does (BaseException, like KeyboardInterrupt)."""


def apply_changes(root: Path, changes: Sequence[FileChange], force: bool = False) -> ApplyResult:
    """Write every change, or none when one of them may not be written."""
    root = root.resolve()
    refused = [r for c in changes if (r := _refusal(root, c, force)) is not None]
    if not force:
        dirty = uncommitted(root, [c.path for c in changes])
        refused += [Refusal(p, "has uncommitted changes (commit them, or use --force)")
                    for p in sorted(dirty)]
    if refused:
        return ApplyResult([], refused, planned=len(changes))
    result = ApplyResult(planned=len(changes))
    result.removed = _remove_stale_temporaries(root, changes)
    with _sigterm_stops_the_run():
        _write_all(root, changes, result)
    return result


def _write_all(root: Path, changes: Sequence[FileChange], result: ApplyResult) -> None:
    for number, change in enumerate(changes):
        try:
            _replace(root, change)
            result.written.append(change.path)
        except (OSError, _Changed, KeyboardInterrupt, _Terminated) as exc:
            # Later files would likely fail the same way (a full disk): stop here.
            result.failed = Refusal(change.path, _failure(exc))
            rest = changes[number:]
            # The rename may have happened before the failure (Ctrl-C right after it).
            done = [c.path for c in rest if _holds(root, c.path, c.new)]
            result.written = list(dict.fromkeys([*result.written, *done]))
            result.unwritten = [c.path for c in rest if c.path not in result.written]
            break


@contextmanager
def _sigterm_stops_the_run() -> Iterator[None]:
    """While writing, SIGTERM stops the run between two steps and the report follows."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return

    def stop(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _remove_stale_temporaries(root: Path, changes: Sequence[FileChange]) -> list[str]:
    """Remove what a killed run left (`.NAME.XXXXXXXX.kfuncfix`) where we are about to write."""
    removed = []
    for directory in sorted({(root / c.path).parent for c in changes}):
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if _TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except OSError:
                    continue
                removed.append(Path(entry.path).relative_to(root).as_posix())
    return sorted(removed)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, _Terminated):
        return "terminated"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _holds(root: Path, rel: str, data: bytes) -> bool:
    try:
        return (root / rel).read_bytes() == data
    except OSError:
        return False


def _refusal(root: Path, change: FileChange, force: bool) -> Refusal | None:
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
    target = root / rel
    # The new file is created and renamed in the file's directory.
    if not os.access(target.parent, os.W_OK | os.X_OK):
        where = target.parent.relative_to(root).as_posix()
        return Refusal(change.path, f"its directory {where} is not writable")
    if not force:
        if not info.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
            return Refusal(change.path, f"is read-only (mode {stat.S_IMODE(info.st_mode):04o}); "
                                        "use --force to write it anyway")
        if info.st_nlink > 1:
            return Refusal(change.path, f"has {info.st_nlink} hard links; writing it would "
                                        "split them (use --force to write it anyway)")
    try:
        if target.read_bytes() != change.old:
            return Refusal(change.path, "changed since it was read; run again")
    except OSError as exc:
        return Refusal(change.path, f"cannot read: {exc.strerror}")
    return None


def _replace(root: Path, change: FileChange) -> None:
    target = root / change.path
    info = os.lstat(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                               suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(change.new)
            out.flush()
            _keep_owner(out.fileno(), info)
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


def _keep_owner(fd: int, old: os.stat_result) -> None:
    """Give the new file the old one's owner and group, as far as we are allowed.

    Root may set both; another user only a group they belong to.
    """
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) == (old.st_uid, old.st_gid):
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:
        try:
            os.fchown(fd, -1, old.st_gid)
        except PermissionError:
            pass


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
    """The paths (tree-relative) that git reports as modified, staged or untracked.

    Outside a git work tree: none.  When git refuses the repository or the
    status, the run stops with git's message (a KfuncfixError): a silent
    "nothing uncommitted" would let us write over someone's work.
    """
    if not paths:
        return set()
    top = work_tree(root)
    if top is None:
        return set()
    prefix = PurePosixPath(os.path.relpath(root, top).replace(os.sep, "/"))
    by_top = {str(prefix / p) if str(prefix) != "." else p: p for p in paths}
    # Literal pathspecs: a file named `*.c` or `:(exclude)x` is just that file.
    listing = gitrun.out(top, "--literal-pathspecs", "status", "--porcelain=v1", "-z",
                         "--no-renames", "--untracked-files=all", "--", *by_top)
    entries = [e for e in listing.split(b"\0") if e]
    return {by_top[p] for e in entries if (p := os.fsdecode(e[3:])) in by_top}
