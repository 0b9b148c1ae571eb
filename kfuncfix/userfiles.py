"""Reading a file a user or a tree names (a rule, a config, a changelog, a cover letter).

Only a regular file of a sane size is read: `/dev/zero`, a FIFO or a directory
named as a rule would otherwise be read without end (or block for ever), and a
huge file would be held in memory whole.  The file is opened without blocking
(a FIFO put in its place after the check cannot stall the open) and checked
again on the open descriptor.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kfuncfix.errors import KfuncfixError

LIMIT = 1 << 20  # 1 MiB: far above any rule, config or letter


def read_small_file(path: Path | str, what: str, limit: int = LIMIT) -> bytes:
    """The bytes of the regular file at path, or a one-line error naming it and `what`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise KfuncfixError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO"
                if stat.S_ISFIFO(info.st_mode) else "a device or socket")
        raise KfuncfixError(f"{path}: {what} must be a regular file, not {kind}")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise KfuncfixError(f"{path}: {what} is larger than {limit >> 20} MiB")
    return data


def read_small_text(path: Path | str, what: str, limit: int = LIMIT) -> str:
    """read_small_file decoded as UTF-8 (other bytes are a one-line error), with
    universal newlines as Python's text mode reads it (a lone CR ends a line too)."""
    data = read_small_file(path, what, limit)
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise KfuncfixError(f"{path}: {what} is not UTF-8 text (byte {data[exc.start]:#04x} "
                            f"on line {line})") from exc
