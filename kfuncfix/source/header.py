"""The part of a definition before its body: specifiers, declarator, parameters.

Given the masked text between the end of the previous top-level statement and
a top-level `{`, decide whether it is a function definition and record the
exact byte span of every piece a rewrite may touch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kfuncfix.source import ctokens

if TYPE_CHECKING:
    from kfuncfix.source.scan import SourceFile

MACRO_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")

# Identifiers that are never a function's name even when '(' follows them.
NOT_A_NAME = frozenset(
    """
    __attribute__ __attribute __declspec __typeof__ typeof __typeof sizeof alignof
    _Alignas __aligned __section __printf __scanf __alias __acquires __releases
    __must_hold __cond_acquires __cond_releases __diag_ignore __free __counted_by
    __nocfi __assume_aligned __malloc __no_sanitize_address __weak_alias
    if while for switch return asm __asm__ __asm volatile
    void char short int long float double signed unsigned _Bool bool struct union enum
    const static extern inline register auto
    """.split()
)
STORAGE = frozenset({"static", "extern"})
INLINE = frozenset({"inline", "__inline", "__inline__", "__always_inline"})


@dataclass(frozen=True)
class Specifier:
    """One token before the declarator: a keyword, type word, `*`, or attribute."""

    text: str
    start: int
    end: int


@dataclass
class FunctionDef:
    """A top-level function definition with byte-exact spans into its file."""

    path: str
    name: str
    start: int  # first specifier or attribute
    name_start: int
    name_end: int
    params_start: int  # the '('
    params_end: int  # just past the ')'
    brace: int  # the body's '{'
    body_end: int = -1  # just past the body's '}'
    specifiers: list[Specifier] = field(default_factory=list)
    macro: bool = False  # produced by a macro: `BPF_CALL_2(name, ...) {`
    macro_args: list[str] = field(default_factory=list)
    line: int = 0
    condition: tuple[str, ...] = ()

    @property
    def words(self) -> set[str]:
        return {s.text for s in self.specifiers}

    @property
    def is_static(self) -> bool:
        return "static" in self.words

    @property
    def is_inline(self) -> bool:
        return bool(self.words & INLINE)


@dataclass(frozen=True)
class _Item:
    kind: str  # "id", "group", "star", "other"
    start: int
    end: int
    text: str = ""


def _items(masked: bytes, start: int, end: int) -> list[_Item]:
    """Split header text into identifiers, `*`, balanced paren groups and others."""
    items: list[_Item] = []
    pos: int | None = start
    while pos is not None:
        tokens, pos = ctokens.BYTES_TOKEN_RE.finditer(masked, pos, end), None
        for m in tokens:
            tok = m.group()
            if tok == b"(":
                close = ctokens.closing(masked, m.start(), end)
                if close >= 0:  # an unclosed group takes the rest of the text
                    items.append(_Item("group", m.start(), close + 1))
                    pos = close + 1  # go on after the group, not through it
                break
            if tok[0] in ctokens.IDENT_START:
                items.append(_Item("id", m.start(), m.end(), tok.decode("ascii")))
            elif tok == b"*":
                items.append(_Item("star", m.start(), m.end(), "*"))
            else:
                items.append(_Item("other", m.start(), m.end(), tok.decode("latin-1")))
    return items


def _is_attribute_word(text: str) -> bool:
    return text.startswith("__") or bool(MACRO_NAME_RE.match(text)) or text in (
        "noinline",
        "notrace",
        "asmlinkage",
    )


def _attributes_only(items: list[_Item]) -> list[bool]:
    """For each index i (and len(items)): True if items[i:] are only annotations,
    `__acquires(x) __must_check NOKPROBE`, a group only right after a word.

    One pass from the end for all of them: asked per candidate name, walking the
    rest each time was quadratic in a header of many attribute groups.
    """
    # after_word[i]: items[i:] are annotations when items[i - 1] was a word.
    only = [True] * (len(items) + 1)
    after_word = [True] * (len(items) + 1)
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if item.kind == "id":
            only[index] = after_word[index] = (_is_attribute_word(item.text)
                                               and after_word[index + 1])
        elif item.kind == "group":
            only[index], after_word[index] = False, only[index + 1]
        else:
            only[index] = after_word[index] = False
    return only


def _statement_start(masked: bytes, items: list[_Item]) -> int:
    """Index of the first item of the last statement in the header text.

    Macro invocations such as `BTF_SET8_END(x)` or `SEC("tc")` end a line
    without a semicolon; what follows them on the next lines is a new
    statement.
    """
    first = 0
    for i in range(1, len(items) - 1):
        item, before = items[i], items[i - 1]
        if (
            item.kind == "group"
            and before.kind == "id"
            and MACRO_NAME_RE.match(before.text)
            and b"\n" in masked[item.end : items[i + 1].start]
        ):
            first = i + 1
    return first


def analyze_header(
    src: SourceFile, masked: bytes | bytearray, start: int, brace: int
) -> FunctionDef | None:
    """A FunctionDef if the text before this top-level `{` declares a function."""
    items = _items(bytes(masked[start:brace]), 0, brace - start)
    if not items:
        return None
    if any(it.kind == "other" and "=" in it.text for it in items):
        return None  # an initializer: `struct x y = {`
    items = items[_statement_start(bytes(masked[start:brace]), items) :]
    attributes_only = _attributes_only(items)
    for i, item in enumerate(items):
        if item.kind != "group" or i == 0:
            continue
        name = items[i - 1]
        if name.kind != "id" or name.text in NOT_A_NAME:
            continue
        if not attributes_only[i + 1]:
            continue
        if any(it.kind == "other" for it in items[: i - 1]):
            return None  # `x = y, z(...) {` or similar: not a definition header
        specs = [
            Specifier(
                src.text(start + it.start, start + it.end)
                if it.kind == "group"
                else it.text,
                start + it.start,
                start + it.end,
            )
            for it in items[: i - 1]
        ]
        func = FunctionDef(
            path=src.path,
            name=name.text,
            start=start + items[0].start,
            name_start=start + name.start,
            name_end=start + name.end,
            params_start=start + item.start,
            params_end=start + item.end,
            brace=brace,
            specifiers=specs,
        )
        if MACRO_NAME_RE.match(name.text):
            func.macro = True
            inner = masked[start + item.start + 1 : start + item.end - 1].decode("latin-1")
            func.macro_args = [a.strip() for a in inner.split(",")]
        func.line = src.line_of(func.name_start)
        func.condition = src.condition_at(func.name_start)
        return func
    return None
