"""BTF id sets and lists, and their entries, in the files that hold them.

`BTF_KFUNCS_START(x)` ... `BTF_KFUNCS_END(x)` (and the SET8/SET forms)
enclose entries; `BTF_ID_LIST(x)` is followed by its entries up to the first
line that is not one; `BTF_ID_LIST_SINGLE(x, func, name)` is a list of one.
An item that is not an entry macro is expanded with the macros visible at
that point; names nobody defines are collected, loaded, and the sets of those
files read again.  Entries keep their `#if` condition and the macro they came
from.  Macro calls are delimited by the scan's bracket structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kfuncfix.discovery.expansion import MacroTable
from kfuncfix.model import IdSet, SetEntry, Span, Unresolved
from kfuncfix.source.macros import TOKEN_RE, ExpansionError, expand, split_args
from kfuncfix.source.scan import SourceFile

# Patterns that start with a word are matched where that word starts (`word_matches`).
SET_START_RE = re.compile(rb"BTF_(SET8|KFUNCS|SET)_START\s*\(\s*(\w+)\s*\)")
SET_END_RE = rb"\b%s_END\s*\(\s*%s\s*\)"
ID_LIST_RE = re.compile(rb"BTF_ID_LIST(?:_GLOBAL)?(_SINGLE)?\s*\(")
WORD_BYTE_RE = re.compile(rb"\w")
ENTRY_MACROS = frozenset({"BTF_ID_FLAGS", "BTF_ID", "BTF_ID_UNUSED"})
IDENT_RE = re.compile(r"[A-Za-z_]\w*\Z")
# The next item of a set body in masked text: a name (maybe a call) or one other byte.
ITEM_RE = re.compile(rb"([A-Za-z_]\w*)|[^\s]")
SPACE_RE = re.compile(rb"\s+")
MAX_MACRO_ROUNDS = 3


def find_sets(candidates: list[SourceFile], macros: MacroTable,
              warnings: list[str]) -> list[IdSet]:
    """Every live set and list of the candidate files, in file order."""
    by_path = {src.path: src for src in candidates}
    by_file = {src.path: _sets_in(src, macros, warnings) for src in candidates}
    # Entries that used macros defined elsewhere: load them, read those files again.
    for _ in range(MAX_MACRO_ROUNDS):
        again = sorted(f for f, sets in by_file.items() if any(s.unresolved for s in sets))
        if not macros.missing or not macros.load_missing(again):
            break
        for rel in again:  # their warnings were reported the first time
            by_file[rel] = _sets_in(by_path[rel], macros, [])
    return sorted((s for sets in by_file.values() for s in sets),
                  key=lambda s: (s.file, s.start_span.start))


def _sets_in(src: SourceFile, macros: MacroTable, warnings: list[str]) -> list[IdSet]:
    found: list[IdSet] = []
    masked = src.masked
    for m in word_matches(SET_START_RE, masked):
        if src.is_dead(m.start()):
            continue
        macro, name = "BTF_" + m.group(1).decode(), m.group(2).decode()
        end_re = re.compile(SET_END_RE % (macro.encode(), re.escape(m.group(2))))
        end = end_re.search(masked, m.end())
        if end is None:
            warnings.append(f"{src.path}:{src.line_of(m.start())}: {macro}_START({name}) has no "
                            f"matching {macro}_END")
            continue
        idset = IdSet(name, macro, _span(src, m.start(), m.end()),
                      _span(src, end.start(), end.end()))
        _read_entries(src, idset, m.end(), end.start(), macros)
        found.append(idset)
    for m in word_matches(ID_LIST_RE, masked):
        if src.is_dead(m.start()):
            continue
        found.extend(_id_list(src, m, macros))
    return found


def word_matches(regex: re.Pattern[bytes], text: bytes) -> Iterator[re.Match[bytes]]:
    """The matches of `regex` that start a word, as a leading `\\b` would find them.

    A pattern led by a literal word is searched for that literal (the regex engine
    skips ahead to it); a leading `\\b` would make it try every byte of the file,
    ten times slower on the files that hold sets.
    """
    pos = 0
    while (m := regex.search(text, pos)) is not None:
        if m.start() == 0 or not WORD_BYTE_RE.match(text, m.start() - 1):
            yield m
            pos = m.end()
        else:
            pos = m.start() + 1


def _id_list(src: SourceFile, m: re.Match[bytes], macros: MacroTable) -> list[IdSet]:
    close = src.closer.get(m.end() - 1)
    if close is None:
        return []
    args, _ = split_args(_tokens(src, m.end() - 1, close), 0)
    if not args or len(args[0]) != 1 or not IDENT_RE.match(args[0][0]):
        return []
    idset = IdSet(args[0][0], "BTF_ID_LIST", _span(src, m.start(), close), None)
    if m.group(1):  # BTF_ID_LIST_SINGLE(name, prefix, typename): one entry, in the call
        entry = ["BTF_ID", "(", *_join(args[1:]), ")"]
        _entry(idset, entry, idset.start_span, src.condition_at(m.start()), None, idset.slots)
        return [idset]
    end = close
    for _, stop, name in _items(src, close, len(src.masked)):
        if name not in ENTRY_MACROS:
            break
        end = stop
    _read_entries(src, idset, close, end, macros)
    return [idset]


def _tokens(src: SourceFile, start: int, end: int) -> list[str]:
    """Tokens of the code between two offsets (comments blanked by the scan)."""
    return TOKEN_RE.findall(src.masked[start:end].decode("latin-1"))


def _join(args: list[list[str]]) -> list[str]:
    out: list[str] = []
    for n, arg in enumerate(args):
        out.extend([","] if n else [])
        out.extend(arg)
    return out


def _items(src: SourceFile, start: int, end: int) -> Iterator[tuple[int, int, str | None]]:
    """(start, end, name) of each macro call, bare name or other byte (name None)."""
    pos = start
    while (m := ITEM_RE.search(src.masked, pos, end)) is not None:
        pos = m.end()
        if m.group(1) is None:
            yield m.start(), pos, None
            continue
        space = SPACE_RE.match(src.masked, pos)
        paren = space.end() if space else pos
        if src.masked[paren:paren + 1] == b"(" and paren in src.closer:
            pos = src.closer[paren]
        yield m.start(), pos, m.group(1).decode()


def _read_entries(src: SourceFile, idset: IdSet, start: int, end: int,
                  macros: MacroTable) -> None:
    slots = idset.slots if idset.macro == "BTF_ID_LIST" else None
    for item_start, item_end, name in _items(src, start, end):
        if name is None or src.is_dead(item_start):
            continue
        tokens = _tokens(src, item_start, item_end)
        span = _span(src, item_start, item_end)
        condition = src.condition_at(item_start)
        if name in ENTRY_MACROS:
            _entry(idset, tokens, span, condition, None, slots)
            continue
        try:
            expanded = expand(" ".join(tokens), macros.lookup_at(src, item_start), ENTRY_MACROS)
        except ExpansionError as exc:
            idset.unresolved.append(Unresolved(" ".join(tokens), str(exc), span))
            continue
        produced = 0
        leftovers: list[str] = []
        for call in _calls(expanded):
            if call[0] in ENTRY_MACROS:
                _entry(idset, call, span, condition, name, slots)
                produced += 1
            elif any(IDENT_RE.match(t) for t in call):
                leftovers.append(call[0])
        if leftovers:
            macros.missing.add(leftovers[0])
            idset.unresolved.append(Unresolved(
                text_of(tokens), f"macro {leftovers[0]} is not defined in this tree", span))
        elif not produced:
            idset.unresolved.append(Unresolved(text_of(tokens), "expands to no BTF_ID entry",
                                               span))


def _calls(tokens: list[str]) -> Iterator[list[str]]:
    """Expanded tokens split into top-level calls `NAME(...)`, bare names and others."""
    i = 0
    while i < len(tokens):
        j = i + 1
        if IDENT_RE.match(tokens[i]) and tokens[j:j + 1] == ["("]:
            try:
                _, j = split_args(tokens, j)
            except ExpansionError:
                j = len(tokens)
        yield tokens[i:j]
        i = j


def _entry(idset: IdSet, tokens: list[str], span: Span, condition: tuple[str, ...],
           via: str | None, slots: list[SetEntry | None] | None) -> None:
    args, _ = split_args(tokens, 1) if tokens[1:2] == ["("] else ([], 0)
    if tokens[0] == "BTF_ID_UNUSED" or len(args) < 2 or args[0] != ["func"]:
        if slots is not None:
            slots.append(None)
        if tokens[0] != "BTF_ID_UNUSED" and len(args) < 2:
            idset.unresolved.append(Unresolved(text_of(tokens), "entry has no name", span))
        return
    if len(args[1]) != 1 or not IDENT_RE.match(args[1][0]):
        idset.unresolved.append(
            Unresolved(text_of(tokens), "entry name is not a plain identifier", span))
        if slots is not None:
            slots.append(None)
        return
    flags = tuple(f.strip() for arg in args[2:] for f in text_of(arg).split("|") if f.strip())
    entry = SetEntry(args[1][0], flags, condition, span, via)
    idset.entries.append(entry)
    if slots is not None:
        slots.append(entry)


def text_of(tokens: list[str]) -> str:
    """Tokens joined as the kernel writes a call: `BTF_ID_FLAGS(func, f, KF_X)`."""
    text = " ".join(tokens)
    return re.sub(r"\s*([(),])\s*", lambda m: m.group(1) + (" " if m.group(1) == "," else ""),
                  text).strip()


def _span(src: SourceFile, start: int, end: int) -> Span:
    return Span(src.path, start, end, src.line_of(start))
