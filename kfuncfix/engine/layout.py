"""Columns as the kernel counts them: tab stops every 8, lines of at most N columns.

checkpatch measures a line after expanding tabs to 8-column stops and warns
past 100 columns; continuation lines are aligned with an open parenthesis
using tabs first, then spaces.  Everything here works on bytes, and a line's
end may be `\\n` or `\\r\\n`.
"""

from __future__ import annotations

TAB_WIDTH = 8
HSPACE = b" \t"


def width(text: bytes | bytearray) -> int:
    """Columns taken by `text` (no newline in it) starting at column 0."""
    col = 0
    for byte in text:
        if byte == 0x09:
            col += TAB_WIDTH - col % TAB_WIDTH
        elif byte != 0x0D:
            col += 1
    return col


def indent(columns: int) -> bytes:
    """Kernel-style indentation reaching `columns`: tabs, then spaces."""
    return b"\t" * (columns // TAB_WIDTH) + b" " * (columns % TAB_WIDTH)


def line_start(data: bytes | bytearray, offset: int) -> int:
    return data.rfind(b"\n", 0, offset) + 1


def line_end(data: bytes | bytearray, offset: int) -> int:
    """Offset of the line's end, before its `\\r\\n` or `\\n` (or the end of data)."""
    end = data.find(b"\n", offset)
    if end < 0:
        return len(data)
    return end - 1 if end > 0 and data[end - 1] == 0x0D else end


def eol_of(data: bytes | bytearray, offset: int) -> bytes:
    """The line ending of the line holding `offset`; `\\n` when it has none."""
    end = data.find(b"\n", offset)
    return b"\r\n" if end > 0 and data[end - 1] == 0x0D else b"\n"


def after_eol(data: bytes | bytearray, offset: int) -> int:
    """Offset of the next line's first byte (or the end of data)."""
    end = data.find(b"\n", offset)
    return len(data) if end < 0 else end + 1


def indent_end(data: bytes | bytearray, start: int) -> int:
    """End of the spaces and tabs that begin at `start`."""
    pos = start
    while pos < len(data) and data[pos] in HSPACE:
        pos += 1
    return pos


def is_blank_line(data: bytes | bytearray, start: int) -> bool:
    """True if the line starting at `start` holds only spaces and tabs."""
    return start < len(data) and not data[start:line_end(data, start)].strip(HSPACE)
