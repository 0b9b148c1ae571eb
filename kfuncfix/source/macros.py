"""Just enough of the C preprocessor to expand the macros that build BTF id sets.

Sets are sometimes written through X-macros: a list `#define FOO_KFUNCS(X)
X(a) X(b)` in a header, expanded inside a set with a local `#define X(n)
BTF_ID_FLAGS(func, n)`.  Running cpp is not possible (no configuration, no
include paths), so this expands function-like and object-like macros by
token substitution, with `##` pasting, and stops at names it does not know,
reporting them instead of guessing.  Written by hand: no maintained Python
library expands macros over unpreprocessed text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# TOKEN_RE stays importable from here (discovery's set reader lexes with it).
from kfuncfix.source.ctokens import TOKEN_RE as TOKEN_RE
from kfuncfix.source.ctokens import split_tokens, token_closing
from kfuncfix.words import plural

DEFINE_RE = re.compile(r"([A-Za-z_]\w*)(\()?", re.S)
IDENT_RE = re.compile(r"[A-Za-z_]\w*\Z")
MAX_DEPTH = 16


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...] | None  # None for an object-like macro
    body: str
    file: str
    offset: int


def parse_define(rest: str, file: str, offset: int) -> Macro | None:
    """A Macro from the text after `#define` (continuations already folded)."""
    m = DEFINE_RE.match(rest)
    if not m:
        return None
    name = m.group(1)
    if m.group(2) is None:
        return Macro(name, None, rest[m.end():].strip(), file, offset)
    close = rest.find(")", m.end())
    if close < 0:
        return None
    params = tuple(p.strip() for p in rest[m.end():close].split(",") if p.strip())
    return Macro(name, params, rest[close + 1:].strip(), file, offset)


class ExpansionError(ValueError):
    """A macro could not be expanded; the message says why."""


Lookup = Callable[[str], "Macro | None"]


def split_args(tokens: list[str], open_at: int) -> tuple[list[list[str]], int]:
    """Arguments of a call whose '(' is tokens[open_at]; returns (args, index after ')').

    Only parentheses nest here, as in cpp: `X([a, b])` has two arguments."""
    close = token_closing(tokens, open_at)
    if close < 0:
        raise ExpansionError("unbalanced parentheses in macro call")
    args = split_tokens(tokens, open_at + 1, close)
    return ([] if args == [[]] else args), close + 1


def expand(text: str, lookup: Lookup, keep: frozenset[str]) -> list[str]:
    """Tokens of `text` with every known macro expanded; names in `keep` stay as they are."""
    return _expand(TOKEN_RE.findall(text), lookup, keep, frozenset(), 0)


def _expand(
    tokens: list[str], lookup: Lookup, keep: frozenset[str], active: frozenset[str], depth: int
) -> list[str]:
    if depth > MAX_DEPTH:
        raise ExpansionError("macro expansion nested too deeply")
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        macro = None
        if IDENT_RE.match(tok) and tok not in keep and tok not in active:
            macro = lookup(tok)
        if macro is None:
            out.append(tok)
            i += 1
            continue
        if macro.params is None:
            body = TOKEN_RE.findall(macro.body)
            out.extend(_expand(_paste(body), lookup, keep, active | {tok}, depth + 1))
            i += 1
            continue
        if i + 1 >= len(tokens) or tokens[i + 1] != "(":
            out.append(tok)  # a function-like macro's name without a call is just a name
            i += 1
            continue
        args, i = split_args(tokens, i + 1)
        body = _substitute(macro, args, lookup, keep, active, depth)
        out.extend(_expand(body, lookup, keep, active | {tok}, depth + 1))
    return out


def _substitute(
    macro: Macro,
    args: list[list[str]],
    lookup: Lookup,
    keep: frozenset[str],
    active: frozenset[str],
    depth: int,
) -> list[str]:
    params = list(macro.params or ())
    if params and params[-1].endswith("..."):
        named = params[-1][:-3] or "__VA_ARGS__"
        params[-1] = named
        if len(args) > len(params):
            rest = args[len(params) - 1:]
            joined: list[str] = []
            for n, arg in enumerate(rest):
                if n:
                    joined.append(",")
                joined.extend(arg)
            args = [*args[: len(params) - 1], joined]
    if len(args) < len(params):
        args = args + [[] for _ in range(len(params) - len(args))]
    if len(args) != len(params) and not (len(params) == 0 and args == [[]]):
        raise ExpansionError(
            f"macro {macro.name} takes {plural(len(params), 'argument')}, got {len(args)}"
        )
    values = dict(zip(params, args, strict=False))
    body = TOKEN_RE.findall(macro.body)
    out: list[str] = []
    for n, tok in enumerate(body):
        if tok in values:
            pasted = (n > 0 and body[n - 1] == "##") or (n + 1 < len(body) and body[n + 1] == "##")
            # Arguments are fully expanded first, except next to ## (C99 6.10.3.1).
            value = values[tok] if pasted else _expand(values[tok], lookup, keep, active, depth + 1)
            out.extend(value)
        else:
            out.append(tok)
    return _paste(out)


def _paste(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "##" and out and i + 1 < len(tokens):
            out[-1] = out[-1] + tokens[i + 1]
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    return out
