"""The macros visible at a point of a file, for expanding set entries.

A set's file defines some macros itself (`#define X(n) BTF_ID_FLAGS(func, n)`
just above the set); others come from headers (an X-macro list).  Those are
loaded only when an entry needs them: first from the headers the file
includes, then with one search of the tree for every still-missing name.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from kfuncfix.discovery.reader import Reader
from kfuncfix.source.macros import Lookup, Macro, parse_define
from kfuncfix.source.scan import SourceFile


class MacroTable:
    """Macro definitions by name: a file's own up to a point, then the tree's."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.known: dict[str, list[Macro]] = {}  # name -> definitions in the tree
        self.missing: set[str] = set()  # names an entry used and nobody defined yet
        # Per file: name -> offsets of its #define (the macro) and #undef (None), in order.
        self._local: dict[int, tuple[SourceFile, dict[str, _Events]]] = {}

    def lookup_at(self, src: SourceFile, offset: int) -> Lookup:
        """How cpp would resolve a name at `offset` of `src`, as far as we know."""
        local = self._events(src)

        def lookup(name: str) -> Macro | None:
            events = local.get(name)
            if events is not None:
                # The last #define or #undef of the name above offset decides.
                before = bisect.bisect_left(events.starts, offset)
                if before and events.macros[before - 1] is not None:
                    return events.macros[before - 1]
            defs = self.known.get(name)
            if not defs:
                return None
            # Prefer a header: a .c file's private macro is not visible elsewhere.
            return sorted(defs, key=lambda m: (not m.file.endswith(".h"), m.file))[0]

        return lookup

    def _events(self, src: SourceFile) -> dict[str, _Events]:
        """The file's own #define and #undef lines by name, parsed once per file (an
        entry macro is looked up per entry: reparsing every line above each entry
        grew with entries times lines)."""
        kept = self._local.get(id(src))
        if kept is not None and kept[0] is src:
            return kept[1]
        table: dict[str, _Events] = {}
        for d in src.directives:
            if d.kind == "define":
                macro = parse_define(d.rest, src.path, d.start)
                if macro:
                    table.setdefault(macro.name, _Events()).add(d.start, macro)
            elif d.kind == "undef":
                table.setdefault(d.rest.strip(), _Events()).add(d.start, None)
        self._local[id(src)] = (src, table)
        return table

    def load_missing(self, files: Iterable[str]) -> bool:
        """Look for the missing names, starting from the headers `files` include.

        Returns True if any was found (entries using them are worth reading again).
        """
        wanted = self.missing - set(self.known)
        self.missing = set()
        if not wanted:
            return False
        self._load_from(self._included_headers(files), wanted)
        wanted -= {n for n, defs in self.known.items() if defs}
        if wanted:
            pattern = r"define\s+(?:{})\b".format("|".join(map(re.escape, sorted(wanted))))
            self._load_from(self.reader.files.grep(pattern), wanted)
        return True

    def _load_from(self, files: Iterable[str], names: Iterable[str]) -> None:
        for name in names:
            self.known.setdefault(name, [])
        for src in self.reader.sources_of(list(files)):
            for d in src.directives:
                if d.kind != "define":
                    continue
                macro = parse_define(d.rest, src.path, d.start)
                if macro and macro.name in self.known:
                    self.known[macro.name].append(macro)

    def _included_headers(self, files: Iterable[str]) -> list[str]:
        """Tree paths of the headers that these files #include (one level)."""
        found = []
        for rel in sorted(files):
            for d in self.reader.sources[rel].directives:
                if d.kind != "include" or len(d.rest) < 3:
                    continue
                name = d.rest[1:].split(">" if d.rest[0] == "<" else '"')[0]
                options = [f"include/{name}", f"arch/x86/include/{name}"]
                if d.rest[0] == '"':
                    options.insert(0, str(PurePosixPath(rel).parent / name))
                for option in options:
                    kind = self.reader.files.kind(option)
                    if kind in (None, "directory"):
                        continue  # cpp looks on
                    if kind == "file":
                        found.append(option)
                    else:
                        self.reader.source(option)  # a link where cpp would look: said, not read
                    break
        return found


class _Events:
    """Where one name is defined (its Macro) or undefined (None) in a file, in order."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.macros: list[Macro | None] = []

    def add(self, start: int, macro: Macro | None) -> None:
        self.starts.append(start)
        self.macros.append(macro)
