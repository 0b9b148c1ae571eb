"""The space after a full stop: one or two, as the file being edited has it.

Kernel files differ (include/linux/btf.h uses one, older files two); text a
rule adds to a file follows that file, measured rather than assumed.
"""

from __future__ import annotations

import re

# A full stop ending a sentence (after a word, a closing bracket or quote), the
# spaces after it, and the capital that starts the next one on the same line.
_BREAK = re.compile(rb"(?<=[a-z0-9)\]'\"`]\.)( {1,2})(?=[A-Z])")


def sentence_spacing(data: bytes) -> int:
    """1 or 2: how many spaces most sentences of `data` are followed by (1 on a tie)."""
    counts = [0, 0, 0]
    for found in _BREAK.finditer(data):
        counts[len(found.group(1))] += 1
    return 2 if counts[2] > counts[1] else 1


def respace(text: bytes, spaces: int) -> bytes:
    """`text` with `spaces` spaces after each full stop that ends a sentence mid-line."""
    return _BREAK.sub(b" " * spaces, text)
