"""File names in printed output, quoted as git quotes them (`core.quotePath`).

A name holding a newline, a tab, a quote or a byte that is not ASCII would
otherwise break a line-per-file listing or forge a second line.  Git's rule
(quote.c, `quote_c_style`): a name that needs no quoting is printed as it is;
any other is put in double quotes with C escapes (`\\a \\b \\t \\n \\v \\f \\r
\\" \\\\`) and three-digit octal for the other control bytes, DEL and, while
`core.quotePath` is on (git's default), every byte of 0x80 and above:
`kernel/caf\\303\\251.c`.  Spaces are not quoted.
"""

from __future__ import annotations

import os

_ESCAPES = {0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f", 0x0D: "r",
            0x22: '"', 0x5C: "\\"}


def _must_quote(byte: int, quote_non_ascii: bool) -> bool:
    return byte < 0x20 or byte == 0x7F or byte in _ESCAPES or (quote_non_ascii and byte >= 0x80)


def quote_path(path: str, *, quote_non_ascii: bool = True) -> str:
    """`path` as git prints it; `quote_non_ascii=False` is `core.quotePath=false`.

    The path's bytes are those of the file system (`os.fsencode`), so a name
    read with surrogateescape (not UTF-8) is quoted byte by byte as git does.
    """
    data = os.fsencode(path)
    if not any(_must_quote(b, quote_non_ascii) for b in data):
        return path
    out = bytearray(b'"')
    for byte in data:
        if not _must_quote(byte, quote_non_ascii):
            out.append(byte)
        elif byte in _ESCAPES:
            out += b"\\" + _ESCAPES[byte].encode()
        else:
            out += f"\\{byte:03o}".encode()
    out += b'"'
    return os.fsdecode(bytes(out))
