"""Tree index: BTF id sets, how they are registered, and where each kfunc is defined.

One byte search finds the files that hold sets and registrations; those are
scanned once; set entries are expanded (X-macros included); every kfunc name
is then resolved through a dictionary of definitions.  Names not defined in
their set's own file are looked up with one more search over the whole tree,
for all such names at once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from kfuncfix.errors import KfuncfixError
from kfuncfix.model import (
    DTOR,
    FMODRET,
    KFUNC,
    RISK_GLOBAL_NO_USED,
    RISK_MACRO_DEFINITION,
    RISK_NO_PROTOTYPE,
    RISK_STATIC_INLINE,
    RISK_STATIC_NO_NOINLINE,
    RISK_UNUSED_PARAMS,
    Definition,
    IdSet,
    Kfunc,
    SetEntry,
    Span,
    TreeIndex,
    Unresolved,
)
from kfuncfix.source.header import FunctionDef
from kfuncfix.source.macros import TOKEN_RE as MACRO_TOKEN_RE
from kfuncfix.source.macros import ExpansionError, Macro, expand, parse_define, split_args
from kfuncfix.source.prototype import PrototypeError, prototype_of
from kfuncfix.source.scan import SourceFile, scan
from kfuncfix.treefiles import NotRegularFile, TreeFiles

TAG = "__bpf_kfunc"
# Headers that define the set macros or the markers rules add: scanned so that
# rules know what the tree already defines.
MACRO_DEFINITION_PATTERN = (
    r"define\s+(?:__bpf_kfunc|BPF_KFUNC|__bpf_kfunc_start_defs|BTF_KFUNCS_START|BTF_SET8_START)\b"
)
WRAPPER = "BPF_KFUNC"

CANDIDATE_PATTERN = (
    r"BTF_(?:SET8|KFUNCS|SET)_START|BTF_ID_LIST|register_btf_\w+|btf_kfunc_id_set"
    r"|btf_id_dtor_kfunc"
)
SET_START_RE = re.compile(rb"\b(BTF_SET8|BTF_KFUNCS|BTF_SET)_START\s*\(\s*(\w+)\s*\)")
SET_END_RE = rb"\b%s_END\s*\(\s*%s\s*\)"
ID_LIST_RE = re.compile(rb"\bBTF_ID_LIST(?:_GLOBAL)?\s*\(\s*(\w+)\s*(?:,\s*\w+\s*)?\)")
KFUNC_SET_VAR_RE = re.compile(rb"\bstruct\s+btf_kfunc_id_set\s+(\w+)\s*=\s*\{")
SET_FIELD_RE = re.compile(rb"\.set\s*=\s*&?\s*(\w+)")
REGISTER_RE = re.compile(
    # register_btf_kfunc_id_set(type, &set) and register_btf_fmodret_id_set(&set)
    rb"\bregister_btf_(kfunc|fmodret)_id_set\s*\("
    rb"(?:\s*[^,;()]*(?:\([^;()]*\))?[^,;()]*,)?\s*&?\s*(\w+)\s*\)"
)
DTOR_ARRAY_RE = re.compile(rb"\bstruct\s+btf_id_dtor_kfunc\s+(\w+)\s*\[[^\]]*\]\s*=\s*\{")
DTOR_FIELD_RE = re.compile(rb"\.kfunc_btf_id\s*=\s*(\w+)\s*\[\s*(\d+)\s*\]")
REGISTER_DTOR_RE = re.compile(rb"\bregister_btf_id_dtor_kfuncs\s*\(\s*(\w+)")
ENTRY_MACROS = frozenset({"BTF_ID_FLAGS", "BTF_ID", "BTF_ID_UNUSED"})
IDENT_RE = re.compile(r"[A-Za-z_]\w*\Z")
MAX_MACRO_ROUNDS = 3


def looks_like_kernel_tree(root: Path) -> bool:
    """A kernel tree, a subsystem directory or an out-of-tree module directory."""
    if any((root / name).exists() for name in ("Kconfig", "Kbuild", "include/linux")):
        return True
    makefile = root / "Makefile"
    try:
        return makefile.is_file() and b"obj-" in makefile.read_bytes()
    except OSError:
        return False


Progress = Callable[[str], None]


def discover(
    root: Path,
    overlay: dict[str, bytes | None] | None = None,
    progress: Progress | None = None,
    rev: str | None = None,
) -> TreeIndex:
    """Index the kfuncs of the tree at root (optionally with patched files in overlay).

    `progress` receives a short status line at each stage (for a terminal);
    `rev` reads the tree as committed at that revision (git trees only).
    """
    files = TreeFiles(root, overlay, rev)
    if not looks_like_kernel_tree(files.root):
        raise KfuncfixError(
            f"{root}: not a kernel tree (no Kconfig, Kbuild, include/linux or kbuild Makefile)"
        )
    try:
        return _Discovery(files, progress or (lambda _: None)).run()
    finally:
        files.close()


class _Discovery:
    def __init__(self, files: TreeFiles, progress: Progress) -> None:
        self.files = files
        self.progress = progress
        self.sources: dict[str, SourceFile] = {}
        self.warnings: list[str] = []
        self.global_macros: dict[str, list[Macro]] = {}
        self.missing_macros: set[str] = set()
        self._defs_by_file: dict[str, dict[str, list[FunctionDef]]] = {}
        self.unreadable: list[str] = []
        self._definitions: dict[tuple[str, int], Definition] = {}

    # -- reading ---------------------------------------------------------

    def source(self, rel: str) -> SourceFile | None:
        if rel in self.sources:
            return self.sources[rel]
        try:
            data = self.files.read(rel)
        except NotRegularFile as exc:
            # Not a file of the tree (a link may lead anywhere): skipped, as apply refuses it.
            note = f"{rel}: {exc.strerror}: skipped"
            if note not in self.warnings:
                self.warnings.append(note)
            return None
        except OSError as exc:
            self.warnings.append(f"{rel}: cannot read: {exc.strerror or exc}")
            self.unreadable.append(rel)
            return None
        if b"\0" in data[:8192]:
            # What git calls binary: said by name, never left out unseen.
            self.warnings.append(f"{rel}: a NUL byte in its first 8 KB: read as binary, "
                                 "skipped")
            self.unreadable.append(rel)
            return None
        src = scan(rel, data)
        self.warnings.extend(src.warnings)
        self.sources[rel] = src
        return src

    # -- the pipeline ----------------------------------------------------

    def run(self) -> TreeIndex:
        self.progress("searching the tree for BTF id sets")
        self._note_unsearched()
        # Sets and registrations live in .c files; of the headers only the two that
        # define the set macros (and __bpf_kfunc) matter, and they are known by name.
        macro_headers = self.files.grep_start(MACRO_DEFINITION_PATTERN, "include")
        found = self.files.grep(CANDIDATE_PATTERN, "c")
        found += [h for h in macro_headers() if h not in found]
        self.progress(f"reading {len(found)} files with sets and registrations")
        candidates = [s for s in map(self.source, found) if s]
        sets = self._find_sets(candidates)
        self._classify(candidates, sets)
        kfuncs = self._kfuncs(candidates, sets)
        self.progress(f"resolving {len({k.name for k in kfuncs})} kfuncs to their definitions")
        self._resolve(kfuncs)
        unresolved = [u for s in sets if s.kind != "unregistered" for u in s.unresolved]
        return TreeIndex(
            root=str(self.files.root),
            sources=self.sources,
            sets=sets,
            kfuncs=kfuncs,
            unresolved=unresolved,
            warnings=self.warnings,
            is_git=self.files.is_git,
            unreadable=self.unreadable,
            rev=self.files.rev,
        )

    def _note_unsearched(self) -> None:
        """Say which parts of a git tree no search reaches: submodules, sparse paths."""
        for path in self.files.gitlinks():
            self.warnings.append(f"{path}: a submodule: not searched")
        sparse = self.files.sparse_skipped()
        if sparse:
            self.warnings.append(f"{len(sparse)} C file(s) outside the sparse checkout "
                                 f"(e.g. {sparse[0]}): not searched")

    # -- sets ------------------------------------------------------------

    def _find_sets(self, candidates: list[SourceFile]) -> list[IdSet]:
        sets: list[IdSet] = []
        for src in candidates:
            sets.extend(self._sets_in(src))
        # Macros used in sets but defined elsewhere (an X-macro list in a header):
        # one search for all of them, then those sets are read again.
        for round_ in range(MAX_MACRO_ROUNDS):
            wanted = self.missing_macros - set(self.global_macros)
            if not wanted:
                break
            if round_ == 0:
                # Where cpp would look first: the headers the set's file includes.
                again = {s.file for s in sets if s.unresolved}
                self._load_macros_from(self._included_headers(again), wanted)
                wanted -= {n for n, defs in self.global_macros.items() if defs}
            if wanted:
                self._load_global_macros(wanted)
            self.missing_macros = set()
            again = {s.file for s in sets if s.unresolved}
            sets = [s for s in sets if s.file not in again]
            for rel in sorted(again):
                sets.extend(self._sets_in(self.sources[rel]))
        sets.sort(key=lambda s: (s.file, s.start_span.start))
        return sets

    def _sets_in(self, src: SourceFile) -> list[IdSet]:
        found: list[IdSet] = []
        masked = src.masked
        for m in SET_START_RE.finditer(masked):
            if src.is_dead(m.start()):
                continue
            macro, name = m.group(1).decode(), m.group(2).decode()
            end_re = re.compile(SET_END_RE % (macro.encode(), re.escape(m.group(2))))
            end = end_re.search(masked, m.end())
            if end is None:
                self.warnings.append(
                    f"{src.path}:{src.line_of(m.start())}: {macro}_START({name}) has no matching "
                    f"{macro}_END"
                )
                continue
            idset = IdSet(name, macro, self._span(src, m.start(), m.end()),
                          self._span(src, end.start(), end.end()))
            self._read_entries(src, idset, m.end(), end.start(), slots=None)
            found.append(idset)
        for m in ID_LIST_RE.finditer(masked):
            if src.is_dead(m.start()):
                continue
            idset = IdSet(m.group(1).decode(), "BTF_ID_LIST", self._span(src, m.start(), m.end()),
                          None)
            self._read_entries(src, idset, m.end(), _id_list_end(masked, m.end()), idset.slots)
            found.append(idset)
        return found

    def _read_entries(
        self, src: SourceFile, idset: IdSet, start: int, end: int,
        slots: list[SetEntry | None] | None,
    ) -> None:
        text = src.masked[start:end].decode("latin-1")
        for call_start, call_end, tokens in _top_level_items(text):
            offset = start + call_start
            if src.is_dead(offset):
                continue
            span = self._span(src, offset, start + call_end)
            condition = src.condition_at(offset)
            if tokens[0] in ENTRY_MACROS:
                self._entry(idset, tokens, span, condition, None, slots)
                continue
            try:
                expanded = expand(" ".join(tokens), self._lookup(src, offset), ENTRY_MACROS)
            except ExpansionError as exc:
                idset.unresolved.append(Unresolved(" ".join(tokens), str(exc), span))
                continue
            produced = 0
            leftovers: list[str] = []
            for item in _calls(expanded):
                if item[0] in ENTRY_MACROS:
                    self._entry(idset, item, span, condition, tokens[0], slots)
                    produced += 1
                elif any(IDENT_RE.match(t) for t in item):
                    leftovers.append(item[0])
            if leftovers:
                unknown = leftovers[0]
                self.missing_macros.add(unknown)
                idset.unresolved.append(Unresolved(
                    _text_of(tokens), f"macro {unknown} is not defined in this tree", span))
            elif not produced:
                idset.unresolved.append(Unresolved(
                    _text_of(tokens), "expands to no BTF_ID entry", span))

    def _entry(
        self, idset: IdSet, tokens: list[str], span: Span, condition: tuple[str, ...],
        via: str | None, slots: list[SetEntry | None] | None,
    ) -> None:
        args, _ = split_args(tokens, 1) if len(tokens) > 1 and tokens[1] == "(" else ([], 0)
        if tokens[0] == "BTF_ID_UNUSED" or len(args) < 2 or args[0] != ["func"]:
            if slots is not None:
                slots.append(None)
            if tokens[0] != "BTF_ID_UNUSED" and len(args) < 2:
                idset.unresolved.append(Unresolved(_text_of(tokens), "entry has no name", span))
            return
        if len(args[1]) != 1 or not IDENT_RE.match(args[1][0]):
            idset.unresolved.append(
                Unresolved(_text_of(tokens), "entry name is not a plain identifier", span))
            if slots is not None:
                slots.append(None)
            return
        flags = tuple(f for arg in args[2:] for f in _text_of(arg).split("|") if f.strip())
        entry = SetEntry(args[1][0], tuple(f.strip() for f in flags), condition, span, via)
        idset.entries.append(entry)
        if slots is not None:
            slots.append(entry)

    def _lookup(self, src: SourceFile, offset: int):
        local: dict[str, Macro] = {}
        for d in src.directives:
            if d.start >= offset:
                break
            if d.kind == "define":
                macro = parse_define(d.rest, src.path, d.start)
                if macro:
                    local[macro.name] = macro
            elif d.kind == "undef":
                local.pop(d.rest.strip(), None)

        def lookup(name: str) -> Macro | None:
            if name in local:
                return local[name]
            defs = self.global_macros.get(name)
            if not defs:
                return None
            # Prefer a header: a .c file's private macro is not visible elsewhere.
            return sorted(defs, key=lambda m: (not m.file.endswith(".h"), m.file))[0]

        return lookup

    def _included_headers(self, files: Iterable[str]) -> list[str]:
        """Tree paths of the headers that these files #include (one level)."""
        found = []
        for rel in sorted(files):
            for d in self.sources[rel].directives:
                if d.kind != "include" or len(d.rest) < 3:
                    continue
                name = d.rest[1:].split(d.rest[0] == "<" and ">" or '"')[0]
                options = [f"include/{name}", f"arch/x86/include/{name}"]
                if d.rest[0] == '"':
                    options.insert(0, str(Path(rel).parent / name))
                for option in options:
                    kind = self.files.kind(option)
                    if kind in (None, "directory"):
                        continue  # cpp looks on
                    if kind == "file":
                        found.append(option)
                    else:
                        self.source(option)  # a link where cpp would look: said, not read
                    break
        return found

    def _load_global_macros(self, names: Iterable[str]) -> None:
        names = sorted(names)
        pattern = r"define\s+(?:{})\b".format("|".join(re.escape(n) for n in names))
        self._load_macros_from(self.files.grep(pattern), names)

    def _load_macros_from(self, files: Iterable[str], names: Iterable[str]) -> None:
        for name in names:
            self.global_macros.setdefault(name, [])
        for rel in files:
            src = self.source(rel)
            if src is None:
                continue
            for d in src.directives:
                if d.kind != "define":
                    continue
                macro = parse_define(d.rest, rel, d.start)
                if macro and macro.name in self.global_macros:
                    self.global_macros[macro.name].append(macro)

    # -- registrations ---------------------------------------------------

    def _classify(self, candidates: list[SourceFile], sets: list[IdSet]) -> None:
        by_name: dict[str, list[IdSet]] = defaultdict(list)
        for s in sets:
            by_name[s.name].append(s)
        var_set: dict[tuple[str, str], str] = {}  # (file, struct var) -> set name
        for src in candidates:
            for m in KFUNC_SET_VAR_RE.finditer(src.masked):
                body = src.masked[m.end():_closing_brace(src.masked, m.end() - 1)]
                field = SET_FIELD_RE.search(body)
                if field:
                    var_set[(src.path, m.group(1).decode())] = field.group(1).decode()
        for src in candidates:
            for m in REGISTER_RE.finditer(src.masked):
                if src.is_dead(m.start()):
                    continue
                kind = KFUNC if m.group(1) == b"kfunc" else FMODRET
                var = m.group(2).decode()
                set_name = var_set.get((src.path, var)) or _unique(
                    n for (f, v), n in var_set.items() if v == var)
                if set_name is None:
                    continue
                target = _pick(by_name.get(set_name, []), src.path)
                if target is None:
                    continue
                if target.kind == "unregistered" or kind == KFUNC:
                    target.kind = kind
                target.registered_by.append(f"register_btf_{m.group(1).decode()}_id_set")

    def _dtor_refs(self, candidates: list[SourceFile]) -> list[tuple[SourceFile, str, int]]:
        """(file, BTF_ID_LIST name, index) of every `.kfunc_btf_id` of a registered array."""
        refs = []
        for src in candidates:
            registered = {m.group(1) for m in REGISTER_DTOR_RE.finditer(src.masked)}
            for m in DTOR_ARRAY_RE.finditer(src.masked):
                if m.group(1) not in registered or src.is_dead(m.start()):
                    continue
                body = src.masked[m.end():_closing_brace(src.masked, m.end() - 1)]
                for f in DTOR_FIELD_RE.finditer(body):
                    refs.append((src, f.group(1).decode(), int(f.group(2))))
        return refs

    def _kfuncs(self, candidates: list[SourceFile], sets: list[IdSet]) -> list[Kfunc]:
        kfuncs = [Kfunc(e.name, s.kind, s, e) for s in sets if s.kind in (KFUNC, FMODRET)
                  for e in s.entries]
        lists = defaultdict(list)
        for s in sets:
            if s.macro == "BTF_ID_LIST":
                lists[s.name].append(s)
        for src, list_name, index in self._dtor_refs(candidates):
            idlist = _pick(lists.get(list_name, []), src.path)
            slots = idlist.slots if idlist else []
            if idlist is None or index >= len(slots) or slots[index] is None:
                self.warnings.append(
                    f"{src.path}: dtor kfunc {list_name}[{index}] is not a func entry of a "
                    "BTF_ID_LIST in this tree")
                continue
            idlist.kind = DTOR if idlist.kind == "unregistered" else idlist.kind
            if "register_btf_id_dtor_kfuncs" not in idlist.registered_by:
                idlist.registered_by.append("register_btf_id_dtor_kfuncs")
            kfuncs.append(Kfunc(slots[index].name, DTOR, idlist, slots[index]))
        return kfuncs

    # -- definitions -----------------------------------------------------

    def _defs_in(self, src: SourceFile) -> dict[str, list[FunctionDef]]:
        """Live definitions of a file by name (a macro-made one under each name it makes)."""
        if src.path not in self._defs_by_file:
            table: dict[str, list[FunctionDef]] = defaultdict(list)
            for func in src.functions:
                if src.is_dead(func.name_start):
                    continue
                table[func.name].append(func)
                if func.macro:
                    for arg in func.macro_args:
                        for ident in _declared_names(arg):
                            table[ident].append(func)
            self._defs_by_file[src.path] = table
        return self._defs_by_file[src.path]

    @staticmethod
    def _usable(funcs: list[FunctionDef], name: str, home: str, path: str) -> list[FunctionDef]:
        """Definitions a set in `home` can mean: statics only from its own file."""
        out = [f for f in funcs if not (f.is_static and path != home)]
        plain = [f for f in out if f.name == name]
        return plain or out  # a macro-made definition only when there is no plain one

    def _resolve(self, kfuncs: list[Kfunc]) -> None:
        remote: set[str] = set()
        local_defs: dict[int, list[tuple[SourceFile, FunctionDef]]] = {}
        for k in kfuncs:
            home = self.sources[k.set.file]
            local = self._usable(self._defs_in(home).get(k.name, []), k.name, home.path,
                                 home.path)
            if local and all(f.is_static or not _may_have_twins(f) for f in local):
                local_defs[id(k)] = [(home, f) for f in local]
            else:
                remote.add(k.name)
        # The search for names defined elsewhere runs while local ones are parsed.
        # .c files only: a static definition in a header never counts for a set
        # in another file, and global definitions live in .c files.
        pending = self.files.grep_start(_names_pattern(remote), "c") if remote else None
        for k in kfuncs:
            k.definitions = [self._definition(src, f) for src, f in local_defs.get(id(k), [])]
        if pending is None:
            return
        self._resolve_remote(kfuncs, remote, pending())
        # A global definition in a header is rare (a header included once); look
        # there only for names the .c files did not define.
        missing = {k.name for k in kfuncs if k.name in remote and not k.definitions}
        if missing:
            self._resolve_remote(kfuncs, missing, self.files.grep(_names_pattern(missing)))

    def _resolve_remote(self, kfuncs: list[Kfunc], names: set[str], files: list[str]) -> None:
        holders = [s for s in map(self.source, files) if s]
        for k in kfuncs:
            if k.name not in names:
                continue
            found: list[Definition] = []
            statics_elsewhere: list[str] = []
            for src in holders:
                funcs = self._defs_in(src).get(k.name, [])
                ok = self._usable(funcs, k.name, k.set.file, src.path)
                statics_elsewhere += [f"{src.path}:{f.line}" for f in funcs if f not in ok]
                found += [self._definition(src, f) for f in ok]
            plain = [d for d in found if not d.func.macro]
            k.definitions = plain or found
            k.reason = "" if k.definitions else (
                "only static definitions in other files: " + ", ".join(statics_elsewhere)
                if statics_elsewhere
                else "no definition in the tree (generated by a macro, or not built here)"
            )

    def _definition(self, src: SourceFile, func: FunctionDef) -> Definition:
        key = (src.path, func.start)
        if key not in self._definitions:
            self._definitions[key] = self._new_definition(src, func)
        return self._definitions[key]

    def _new_definition(self, src: SourceFile, func: FunctionDef) -> Definition:
        words = func.words
        if func.macro:
            tagged = func.name == WRAPPER
            proto = None
            risks = [] if tagged else [RISK_MACRO_DEFINITION]
            return Definition(src.path, src, func, proto, tagged, risks)
        tagged = TAG in words
        risks: list[str] = []
        try:
            proto = prototype_of(src, func)
        except PrototypeError as exc:
            proto = None
            risks.append(RISK_NO_PROTOTYPE)
            self.warnings.append(f"{src.path}:{func.line}: prototype of {func.name} not parsed: "
                                 f"{exc}")
        unused: list[str] = []
        if proto is not None and func.body_end > func.brace:
            # The body's words once, not one regex per parameter: linear in both.
            words_used = set(re.findall(rb"\w+", src.masked[func.brace:func.body_end]))
            unused = [p.name for p in proto.params
                      if p.name and p.name.encode() not in words_used]
        if not tagged:
            if func.is_static and func.is_inline:
                risks.append(RISK_STATIC_INLINE)
            elif func.is_static and "noinline" not in words:
                risks.append(RISK_STATIC_NO_NOINLINE)
            elif not func.is_static and "__used" not in words:
                risks.append(RISK_GLOBAL_NO_USED)
        if unused:
            risks.append(RISK_UNUSED_PARAMS)
        return Definition(src.path, src, func, proto, tagged, risks, unused)

    @staticmethod
    def _span(src: SourceFile, start: int, end: int) -> Span:
        return Span(src.path, start, end, src.line_of(start))


# -- helpers over masked text and token lists -------------------------------


def _names_pattern(names: Iterable[str]) -> str:
    return r"\b(?:{})\b".format("|".join(sorted(map(re.escape, names))))


def _may_have_twins(func: FunctionDef) -> bool:
    """A global definition that another file may override or complete: `__weak`.

    An `#ifdef`'d definition in the set's own file is not searched for twins
    elsewhere: its alternatives sit next to it (found with it), and a search
    for them would cost a second pass over the whole tree.
    """
    return "__weak" in func.words


def _id_list_end(masked: bytes, start: int) -> int:
    """End of a BTF_ID_LIST: the first line that is neither an entry nor blank."""
    pos = start
    for line in re.finditer(rb"[^\n]*\n?", masked[start:]):
        text = line.group().strip()
        if not line.group():
            break
        if text and not re.match(rb"(BTF_ID|BTF_ID_UNUSED|BTF_ID_FLAGS)\s*\(", text):
            break
        pos = start + line.end()
    return pos


def _closing_brace(masked: bytes, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(masked)):
        ch = masked[i]
        if ch == 0x7B:
            depth += 1
        elif ch == 0x7D:
            depth -= 1
            if depth == 0:
                return i
    return len(masked)


def _call_ranges(tokens: list[str]) -> list[tuple[int, int]]:
    """Index ranges [i, j) of top-level macro calls `NAME(...)` and bare names."""
    out = []
    i = 0
    while i < len(tokens):
        if not IDENT_RE.match(tokens[i]):
            i += 1
            continue
        j = i + 1
        if j < len(tokens) and tokens[j] == "(":
            depth = 0
            while j < len(tokens):
                depth += (tokens[j] == "(") - (tokens[j] == ")")
                j += 1
                if depth == 0:
                    break
        out.append((i, j))
        i = j
    return out


def _top_level_items(text: str) -> list[tuple[int, int, list[str]]]:
    """Macro calls and bare names in a set body: (start offset, end offset, tokens)."""
    found = list(MACRO_TOKEN_RE.finditer(text))
    tokens = [m.group() for m in found]
    return [(found[i].start(), found[j - 1].end(), tokens[i:j]) for i, j in _call_ranges(tokens)]


def _calls(tokens: list[str]) -> list[list[str]]:
    """Expanded tokens split into top-level calls (or bare names)."""
    return [tokens[i:j] for i, j in _call_ranges(tokens)]


def _text_of(tokens: list[str]) -> str:
    text = " ".join(tokens)
    return re.sub(r"\s*([(),])\s*", lambda m: m.group(1) + (" " if m.group(1) == "," else ""),
                  text).strip()


def _declared_names(arg: str) -> list[str]:
    """Names a macro argument may define: `int foo(int x)` gives foo; `foo` gives foo."""
    arg = arg.strip()
    if IDENT_RE.match(arg):
        return [arg]
    m = re.search(r"([A-Za-z_]\w*)\s*\(", arg)
    return [m.group(1)] if m else []


def _unique(values: Iterable[str]) -> str | None:
    found = set(values)
    return found.pop() if len(found) == 1 else None


def _pick(candidates: list[IdSet], path: str) -> IdSet | None:
    """The set of that name in the same file, else the only one in the tree."""
    same = [c for c in candidates if c.file == path]
    if same:
        return same[0]
    return candidates[0] if len(candidates) == 1 else None
