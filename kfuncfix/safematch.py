"""Regular expressions that others write, run where they cannot hang a run.

MAINTAINERS' N:/K: lines come with the tree and a rule's doc_section
with the rule: whoever wrote them may have written `(a+)+b`, which takes a
backtracking engine (Python's `re`, perl) about 2**n steps on n `a`s.  RE2
(google-re2) matches in time linear in the text for any pattern, and refuses
what cannot be matched so (backreferences, lookarounds) at compile time.
Every regular expression a tree or a rule supplies is compiled here (F:/X:
globs are no regular expressions: outputs/maintainers.py matches them through
fnmatch's translation, linear as well and ten times cheaper per call).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped,unused-ignore]

from kfuncfix.errors import KfuncfixError


class PatternError(KfuncfixError):
    """A pattern the linear-time engine cannot read (a syntax error, a backreference)."""


@dataclass(frozen=True)
class SafePattern:
    """A compiled pattern: `search` finds it anywhere, `match` at the start."""

    pattern: str
    ignore_case: bool = False
    compiled: Any = field(compare=False, repr=False, default=None)

    def search(self, text: str) -> bool:
        return self.compiled.search(_utf8(text)) is not None

    def match(self, text: str) -> bool:
        return self.compiled.match(_utf8(text)) is not None


def _utf8(text: str) -> bytes:
    # A file name that is not UTF-8 arrives with surrogate escapes: its own bytes again.
    return text.encode("utf-8", "surrogateescape")


@functools.lru_cache(maxsize=4096)  # a kernel MAINTAINERS has a few hundred N:/K: lines
def safe_pattern(pattern: str, *, ignore_case: bool = False,
                 verbose: bool = False) -> SafePattern:
    """`pattern` compiled with RE2; `verbose` reads it as perl's /x does (whitespace
    and `#` comments outside classes ignored), as get_maintainer.pl applies N:/K:."""
    text = _unverbose(pattern) if verbose else pattern
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    try:
        compiled = re2.compile(text.encode("utf-8", "surrogateescape"), options)
    except re2.error as exc:
        raise PatternError(f"{pattern!r}: {exc}") from exc
    return SafePattern(pattern, ignore_case, compiled)


def _unverbose(pattern: str) -> str:
    """The pattern without the whitespace and comments perl's /x ignores (a class
    `[...]` and an escaped character are kept as they are)."""
    out = []
    i, size = 0, len(pattern)
    while i < size:
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
        elif char == "[":
            end = i + 1
            end += pattern.startswith("^", end)
            end += pattern.startswith("]", end)  # `[]x]`: a `]` first is a literal
            while end < size and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            out.append(pattern[i:end + 1])
            i = end + 1
        elif char == "#":
            newline = pattern.find("\n", i)
            i = size if newline < 0 else newline + 1
        else:
            if not char.isspace():
                out.append(char)
            i += 1
    return "".join(out)
