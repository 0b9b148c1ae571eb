"""The one C token lexer and the one bracket matcher of kfuncfix.

Every reader of C text that needs tokens (macro expansion, prototypes, header
checks, BTF type comparison, set-entry flags) lexes with `TOKEN_RE`, and every
reader that needs the bracket closing another, or the commas directly inside a
pair, asks `closing`/`separators` here (or `SourceFile.closer`, which the scan
fills for the brackets it meets).  One grammar, so that two readers never
disagree on what a token or a balanced group is.

The grammar is C's preprocessing tokens (C11 6.4), as far as kernel text needs:
comments, string and character literals, identifiers, pp-numbers (`0x7f`,
`10UL`, `1.5e-3f`), punctuators (`...`, `##`, `->`, `<<=`, ...), and any other
non-blank character alone.  Blanks separate tokens and are not tokens.  The same
pattern is compiled for `str` and for `bytes`.

The bracket matcher works on *masked* text (comments and literals blanked, as
`scan` leaves `SourceFile.masked`) or on token lists, where a bracket inside a
literal can no longer be mistaken for one.  It counts only the brackets asked
for: the preprocessor splits macro arguments on parentheses alone
(`X([a, b])` has two arguments), a parameter list also nests in `[...]`.
Each call walks the span it is given once, from where it is told to start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

_PUNCTUATORS = (
    r"\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||##"
    r"|[-+*/%&|^]="
)
# Comments and literals as the scan masks them (it compiles these same patterns): a
# `//` comment goes on over a backslash-newline, an unterminated `/*` to the end;
# a literal ends at its line's end, else its quote is a character alone.
COMMENT = r"//(?:\\\r?\n|[^\n])*|/\*.*?(?:\*/|\Z)"
STRING = r'"(?:\\.|[^"\\\n])*"'
CHAR = r"'(?:\\.|[^'\\\n])*'"
# No two alternatives start alike but a comment and `/`, `/=`: the most common
# tokens first, identifiers and the punctuators that are never longer than one.
PATTERN = (
    r"[A-Za-z_]\w*"  # identifier or keyword
    r"|[()\[\]{},;]"
    r"|\.?\d(?:[eEpP][+-]|[\w.])*"  # pp-number
    rf"|{COMMENT}|{STRING}|{CHAR}"
    rf"|{_PUNCTUATORS}"
    r"|\S"  # any other character, alone
)
TOKEN_RE: re.Pattern[str] = re.compile(PATTERN, re.S)
BYTES_TOKEN_RE: re.Pattern[bytes] = re.compile(PATTERN.encode("ascii"), re.S)

PARENS = "()"  # what the preprocessor nests macro arguments in
ROUND_AND_SQUARE = "([)]"  # a declarator's nesting: `(*cb)(int)`, `a[N(1, 2)]`


def tokens(text: str) -> list[str]:
    """The tokens of C text, in order."""
    return TOKEN_RE.findall(text)


def byte_tokens(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    """The tokens of C bytes (between two offsets), in order."""
    return BYTES_TOKEN_RE.findall(data, start, len(data) if end is None else end)


# The bytes an identifier starts with (a bytes token's first byte is an int).
IDENT_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


# --- bracket matching ------------------------------------------------------------------


def _split(brackets: str) -> tuple[frozenset[str], frozenset[str]]:
    """`"()"` -> ({"("}, {")"}); `"([)]"` -> ({"(", "["}, {")", "]"})."""
    half = len(brackets) // 2
    return frozenset(brackets[:half]), frozenset(brackets[half:])


def _nesting(marks: Iterable[tuple[int, str]], depth: int, brackets: str,
             ) -> Iterator[tuple[int, str, int]]:
    """(position, mark, depth) of each mark: an opener and its closer get the depth
    of their pair (1 for an outermost pair when counting starts at 0), anything else
    the depth it stands at.  Brackets are counted here (and in `closing`, for speed)."""
    opens, closes = _split(brackets)
    for at, mark in marks:
        if mark in opens:
            depth += 1
            yield at, mark, depth
        elif mark in closes:
            yield at, mark, depth
            depth -= 1
        else:
            yield at, mark, depth


@lru_cache(maxsize=16)
def _byte_split(brackets: str) -> tuple[frozenset[int], frozenset[int]]:
    opens, closes = _split(brackets)
    return frozenset(map(ord, opens)), frozenset(map(ord, closes))


@lru_cache(maxsize=16)
def _marks_re(chars: bytes) -> re.Pattern[bytes]:
    return re.compile(b"[" + re.escape(chars) + b"]")


def _byte_marks(masked: bytes | bytearray, start: int, end: int, chars: str,
                ) -> Iterator[tuple[int, str]]:
    # The regex skips every byte that is no bracket: C text is mostly not brackets.
    for m in _marks_re(chars.encode("ascii")).finditer(masked, start, end):
        at = m.start()
        yield at, chr(masked[at])


def closing(masked: bytes | bytearray, open_at: int, end: int | None = None,
            brackets: str = PARENS) -> int:
    """Offset of the bracket closing the one at `open_at`, or -1 when none does
    before `end` (unbalanced)."""
    # `_nesting` spelled out for bytes: the scan asks this once per header group.
    opens, closes = _byte_split(brackets)
    depth = 0
    stop = len(masked) if end is None else end
    for m in _marks_re(brackets.encode("ascii")).finditer(masked, open_at, stop):
        ch = masked[m.start()]
        if ch in opens:
            depth += 1
        elif ch in closes:
            depth -= 1
            if depth == 0:
                return m.start()
    return -1


def separators(masked: bytes | bytearray, start: int, end: int, depth: int = 0,
               brackets: str = PARENS, sep: str = ",") -> tuple[list[int], int]:
    """Offsets of the `sep` bytes in [start, end) that stand directly inside an
    outermost pair (depth 1), `depth` brackets being open at `start`; and the depth
    at `end`.  With the depth it returns, a caller walks a long list piece by piece
    without going back to its start."""
    closes = _split(brackets)[1]
    found: list[int] = []
    for at, mark, level in _nesting(_byte_marks(masked, start, end, brackets + sep), depth,
                                    brackets):
        if mark == sep and level == 1:
            found.append(at)
        depth = level - 1 if mark in closes else level
    return found, depth


def token_closing(toks: Sequence[str], open_at: int, brackets: str = PARENS) -> int:
    """Index of the token closing the bracket token at `open_at`, or -1 (unbalanced)."""
    closes = _split(brackets)[1]
    marks = ((i, toks[i]) for i in range(open_at, len(toks)))
    for at, mark, depth in _nesting(marks, 0, brackets):
        if depth == 1 and mark in closes:
            return at
    return -1


def split_tokens(toks: Sequence[str], start: int = 0, end: int | None = None,
                 brackets: str = PARENS, sep: str = ",") -> list[list[str]]:
    """toks[start:end] cut at each `sep` that no bracket opened in that span encloses
    (a bracket closed without being opened there counts down: what follows is not at
    the top level)."""
    parts: list[list[str]] = [[]]
    stop = len(toks) if end is None else end
    marks = ((i, toks[i]) for i in range(start, stop))
    for _, mark, level in _nesting(marks, 0, brackets):
        if mark == sep and level == 0:
            parts.append([])
        else:
            parts[-1].append(mark)
    return parts
