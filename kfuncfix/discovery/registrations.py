"""How sets are registered, which decides what their entries are.

`register_btf_kfunc_id_set(type, &s)` makes the entries of the set behind
`struct btf_kfunc_id_set s = { .set = &x }` kfuncs, `register_btf_fmodret_id_set`
fmodret targets; `register_btf_id_dtor_kfuncs(dtors, ...)` makes destructors
of the `BTF_ID_LIST` slots its `struct btf_id_dtor_kfunc` array names
(`.kfunc_btf_id = list[0]`).  Sets registered nowhere are not kfuncs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from kfuncfix.discovery.sets import word_matches
from kfuncfix.model import DTOR, FMODRET, KFUNC, UNREGISTERED, IdSet, Kfunc
from kfuncfix.source.scan import SourceFile

# Each pattern that starts with a word is matched where that word starts (word_matches).
KFUNC_SET_VAR_RE = re.compile(rb"struct\s+btf_kfunc_id_set\s+(\w+)\s*=\s*\{")
SET_FIELD_RE = re.compile(rb"\.set\s*=\s*&?\s*(\w+)")
REGISTER_RE = re.compile(
    # register_btf_kfunc_id_set(type, &set) and register_btf_fmodret_id_set(&set)
    rb"register_btf_(kfunc|fmodret)_id_set\s*\("
    rb"(?:\s*[^,;()]*(?:\([^;()]*\))?[^,;()]*,)?\s*&?\s*(\w+)\s*\)"
)
DTOR_ARRAY_RE = re.compile(rb"struct\s+btf_id_dtor_kfunc\s+(\w+)\s*\[[^\]]*\]\s*=\s*\{")
DTOR_FIELD_RE = re.compile(rb"\.kfunc_btf_id\s*=\s*(\w+)\s*\[\s*(\d+)\s*\]")
REGISTER_DTOR_RE = re.compile(rb"register_btf_id_dtor_kfuncs\s*\(\s*(\w+)")


def classify(candidates: list[SourceFile], sets: list[IdSet]) -> None:
    """Set each set's kind from the registration calls that reach it."""
    by_name: dict[str, list[IdSet]] = defaultdict(list)
    for s in sets:
        by_name[s.name].append(s)
    var_set: dict[tuple[str, str], str] = {}  # (file, struct var) -> set name
    for src in candidates:
        for m in word_matches(KFUNC_SET_VAR_RE, src.masked):
            body = src.masked[m.end():src.closer.get(m.end() - 1, m.end())]
            field = SET_FIELD_RE.search(body)
            if field:
                var_set[(src.path, m.group(1).decode())] = field.group(1).decode()
    for src in candidates:
        for m in word_matches(REGISTER_RE, src.masked):
            if src.is_dead(m.start()):
                continue
            kind = KFUNC if m.group(1) == b"kfunc" else FMODRET
            var = m.group(2).decode()
            set_name = var_set.get((src.path, var)) or _unique(
                n for (_, v), n in var_set.items() if v == var)
            if set_name is None:
                continue
            target = pick(by_name.get(set_name, []), src.path)
            if target is None:
                continue
            if target.kind == UNREGISTERED or kind == KFUNC:
                target.kind = kind
            target.registered_by.append(f"register_btf_{m.group(1).decode()}_id_set")


def registered_kfuncs(candidates: list[SourceFile], sets: list[IdSet],
                      warnings: list[str]) -> list[Kfunc]:
    """One Kfunc per entry of a kfunc or fmodret set and per registered destructor."""
    kfuncs = [Kfunc(e.name, s.kind, s, e) for s in sets if s.kind in (KFUNC, FMODRET)
              for e in s.entries]
    lists: dict[str, list[IdSet]] = defaultdict(list)
    for s in sets:
        if s.macro == "BTF_ID_LIST":
            lists[s.name].append(s)
    for src, list_name, index in _dtor_refs(candidates):
        idlist = pick(lists.get(list_name, []), src.path)
        entry = idlist.slots[index] if idlist and index < len(idlist.slots) else None
        if idlist is None or entry is None:
            warnings.append(f"{src.path}: dtor kfunc {list_name}[{index}] is not a func entry "
                            "of a BTF_ID_LIST in this tree")
            continue
        idlist.kind = DTOR if idlist.kind == UNREGISTERED else idlist.kind
        if "register_btf_id_dtor_kfuncs" not in idlist.registered_by:
            idlist.registered_by.append("register_btf_id_dtor_kfuncs")
        kfuncs.append(Kfunc(entry.name, DTOR, idlist, entry))
    return kfuncs


def _dtor_refs(candidates: list[SourceFile]) -> list[tuple[SourceFile, str, int]]:
    """(file, BTF_ID_LIST name, index) of every `.kfunc_btf_id` of a registered array."""
    refs = []
    for src in candidates:
        registered = {m.group(1) for m in word_matches(REGISTER_DTOR_RE, src.masked)}
        for m in word_matches(DTOR_ARRAY_RE, src.masked):
            if m.group(1) not in registered or src.is_dead(m.start()):
                continue
            body = src.masked[m.end():src.closer.get(m.end() - 1, m.end())]
            for f in DTOR_FIELD_RE.finditer(body):
                refs.append((src, f.group(1).decode(), int(f.group(2))))
    return refs


def _unique(values: Iterable[str]) -> str | None:
    found = set(values)
    return found.pop() if len(found) == 1 else None


def pick(candidates: list[IdSet], path: str) -> IdSet | None:
    """The set of that name in the same file, else the only one in the tree."""
    same = [c for c in candidates if c.file == path]
    if same:
        return same[0]
    return candidates[0] if len(candidates) == 1 else None
