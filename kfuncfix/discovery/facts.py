"""What a definition's source says: its header words, its wrapper, its declarations.

These are facts, read once per definition; what they mean for a convention
("tagged") is decided with the tag words and wrapper macros the caller gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kfuncfix.discovery import risks
from kfuncfix.model import Definition
from kfuncfix.source.header import FunctionDef, analyze_header
from kfuncfix.source.prototype import Prototype, PrototypeError, prototype_key, prototype_of
from kfuncfix.source.scan import SourceFile

# The name a top-level statement declares: the identifier before its first `(`.
DECLARED_NAME_RE = re.compile(rb"([A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class KfuncMarks:
    """Words that mark a definition as a kfunc: tags on its header, macros around it."""

    tags: frozenset[str]
    wrappers: frozenset[str]


# (name, prototype text) -> the prototype, or why it could not be parsed
PrototypeMemo = dict[tuple[str, str], "Prototype | str"]
Parse = Callable[[SourceFile, FunctionDef], Prototype]


def remembered(parse: Parse, memo: PrototypeMemo) -> Parse:
    """`parse` answered from `memo` for a prototype text seen before: the trees
    `check --git` indexes share most definitions, and pycparser is the costly part."""

    def parse_once(src: SourceFile, func: FunctionDef) -> Prototype:
        key = prototype_key(src, func)
        if key not in memo:
            try:
                memo[key] = parse(src, func)
            except PrototypeError as exc:
                memo[key] = str(exc)
        found = memo[key]
        if isinstance(found, str):
            raise PrototypeError(found)
        return found

    return parse_once


class Facts:
    """Definitions with their facts, each built once (several sets may name one)."""

    def __init__(self, conventions: KfuncMarks, warnings: list[str],
                 parse: Parse = prototype_of) -> None:
        self.conventions = conventions
        self.warnings = warnings
        self.parse = parse  # prototype_of, or the index cache's memory of it
        self._built: dict[tuple[str, int], Definition] = {}
        self._declarations: dict[str, dict[str, list[FunctionDef]]] = {}

    def definition(self, src: SourceFile, func: FunctionDef) -> Definition:
        key = (src.path, func.start)
        if key not in self._built:
            self._built[key] = self._build(src, func)
        return self._built[key]

    def _build(self, src: SourceFile, func: FunctionDef) -> Definition:
        words = frozenset(func.words)
        if func.macro:
            tagged = func.name in self.conventions.wrappers
            return Definition(src.path, src, func, None, tagged, risks.of_macro_made(tagged),
                              words=words, wrapper=func.name)
        declared = frozenset().union(*(d.words for d in self.declarations(src).get(func.name, [])
                                       if d.start < func.start)) - words
        tags = self.conventions.tags
        tagged = bool(words & tags)
        at_declaration = not tagged and bool(declared & tags)
        try:
            proto = self.parse(src, func)
        except PrototypeError as exc:
            proto = None
            self.warnings.append(f"{src.path}:{func.line}: prototype of {func.name} not parsed: "
                                 f"{exc}")
        unused = _unused_params(src, func, [p.name for p in proto.params if p.name]
                                if proto else [])
        found = risks.of_definition(words | declared, tagged or at_declaration,
                                    parsed=proto is not None, unused=bool(unused))
        return Definition(src.path, src, func, proto, tagged, found, unused, words=words,
                          declared_words=declared, tagged_at_declaration=at_declaration)

    def declarations(self, src: SourceFile) -> dict[str, list[FunctionDef]]:
        """Top-level prototypes (`... f(...);`) of the functions this file defines."""
        if src.path not in self._declarations:
            self._declarations[src.path] = _declarations(src)
        return self._declarations[src.path]


def _declarations(src: SourceFile) -> dict[str, list[FunctionDef]]:
    defined = {f.name for f in src.functions if not f.macro}
    found: dict[str, list[FunctionDef]] = {}
    starts = src.statement_starts
    for start, end in zip(starts, starts[1:], strict=False):
        if src.masked[end - 1:end] != b";" or src.is_dead(start):
            continue
        m = DECLARED_NAME_RE.search(src.masked, start, end)
        if m is None or m.group(1).decode() not in defined:
            continue
        decl = analyze_header(src, src.masked, start, end - 1)
        if decl is not None and decl.name == m.group(1).decode():
            found.setdefault(decl.name, []).append(decl)
    return found


def _unused_params(src: SourceFile, func: FunctionDef, names: list[str]) -> list[str]:
    if func.body_end <= func.brace:
        return []
    body = src.masked[func.brace:func.body_end]
    # The body's words once, not one regex per parameter: linear in both.
    used = set(re.findall(rb"\w+", body))
    return [n for n in names if n.encode() not in used]
