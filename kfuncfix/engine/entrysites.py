"""Where the text of a set entry is written: in the set, or in a macro's body.

Most entries are a `BTF_ID_FLAGS(func, name, ...)` call inside the set.  An
entry made by a macro (6.12's net/core/xdp.c: `XDP_METADATA_KFUNC_xxx` in the
set, a list from include/net/xdp.h, expanded with a local `#define
XDP_METADATA_KFUNC(_, __, name, ___) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)`)
has its flags in the body of the macro that writes the `BTF_ID_FLAGS` call:
that `#define` is the one place to change them, for every entry it makes.
The macros are followed as cpp would see them at the set: the file's own
definitions above the entry first, then those of the files discovery read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kfuncfix.engine.entryflags import CALL_RE, mask
from kfuncfix.model import IdSet, SetEntry, TreeIndex
from kfuncfix.source import ctokens
from kfuncfix.source.macros import Macro, parse_define
from kfuncfix.source.scan import Directive, SourceFile

NAME_RE = re.compile(rb"[A-Za-z_]\w*")
# Where discovery's expansion stops too: the entry macros themselves.
ENTRY_MACROS = frozenset({"BTF_ID_FLAGS", "BTF_ID", "BTF_ID_UNUSED"})
MAX_DEPTH = 16


@dataclass(frozen=True)
class Site:
    """Bytes of one file that hold BTF_ID_FLAGS calls: an entry, or a #define."""

    path: str
    start: int
    end: int
    line: int
    macro: str | None  # the #define's name, for a macro body

    def calls(self, data: bytes) -> Iterator[tuple[int, int]]:
        """(start, end) of each BTF_ID_FLAGS call in the site, `end` past its `)`."""
        masked = mask(data[self.start:self.end])
        for m in CALL_RE.finditer(masked):
            close = ctokens.closing(masked, m.end() - 1)
            if close >= 0:
                yield self.start + m.start(), self.start + close + 1


class MacroSites:
    """The #define that writes the BTF_ID_FLAGS call of each macro-made entry."""

    def __init__(self, index: TreeIndex) -> None:
        self.index = index
        self._defines: dict[str, list[tuple[SourceFile, Directive, Macro]]] | None = None
        self._local: dict[str, _Local] = {}

    def of(self, idset: IdSet, entry: SetEntry) -> list[Site]:
        """The macro bodies that write BTF_ID_FLAGS calls for this entry (one, usually)."""
        src = self.index.sources[idset.file]
        local = self._local.setdefault(src.path, _Local(src)).at(entry.span.start)
        names = [n.decode() for n in NAME_RE.findall(src.masked, entry.span.start,
                                                         entry.span.end)]
        found: dict[tuple[str, int], Site] = {}
        seen: set[str] = set()
        todo = [(n, 0) for n in names]
        while todo:
            name, depth = todo.pop()
            if name in seen or name in ENTRY_MACROS or depth > MAX_DEPTH:
                continue
            seen.add(name)
            hit = local.get(name) or self._global(name)
            if hit is None:
                continue
            where, directive, macro = hit
            body = re.findall(r"[A-Za-z_]\w*", macro.body)
            if "BTF_ID_FLAGS" in body:
                site = Site(where.path, directive.start, directive.end,
                            where.line_of(directive.start), macro.name)
                found[(site.path, site.start)] = site
                continue
            todo.extend((n, depth + 1) for n in body)
        return sorted(found.values(), key=lambda s: (s.path, s.start))

    def _global(self, name: str) -> tuple[SourceFile, Directive, Macro] | None:
        if self._defines is None:
            self._defines = {}
            for src in self.index.sources.values():
                for d in src.directives:
                    if d.kind == "define":
                        macro = parse_define(d.rest, src.path, d.start)
                        if macro is not None:
                            self._defines.setdefault(macro.name, []).append((src, d, macro))
        defs = self._defines.get(name)
        if not defs:
            return None
        # As discovery: a header's definition first (a .c file's is private to it).
        return sorted(defs, key=lambda h: (not h[0].path.endswith(".h"), h[0].path))[0]


class _Local:
    """A file's own macros in force at an offset (#undef respected), read forward:
    entries come in file order, so a file's directives are walked once."""

    def __init__(self, src: SourceFile) -> None:
        self.src = src
        self.next = 0  # the first directive not yet taken
        self.offset = -1
        self.macros: dict[str, tuple[SourceFile, Directive, Macro]] = {}

    def at(self, offset: int) -> dict[str, tuple[SourceFile, Directive, Macro]]:
        if offset < self.offset:
            self.next, self.macros = 0, {}
        self.offset = offset
        directives = self.src.directives
        while self.next < len(directives) and directives[self.next].start < offset:
            d = directives[self.next]
            self.next += 1
            if d.kind == "define":
                macro = parse_define(d.rest, self.src.path, d.start)
                if macro is not None:
                    self.macros[macro.name] = (self.src, d, macro)
            elif d.kind == "undef":
                self.macros.pop(d.rest.strip(), None)
        return self.macros


def entry_site(idset: IdSet, entry: SetEntry) -> Site:
    """The entry's own call, in the set."""
    span = entry.span
    return Site(idset.file, span.start, span.end, span.line, None)
