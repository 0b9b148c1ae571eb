"""Tree index: BTF id sets, how they are registered, and where each kfunc is defined.

One byte search finds the files that hold sets and registrations; those are
scanned once and read by the passes of `kfuncfix.discovery` in turn (sets,
macro expansion, registrations, resolution, facts and risks).  Names not
defined in their set's own file are looked up in the files already read, and
the rest with one more search over the whole tree, for all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from kfuncfix.discovery.expansion import MacroTable
from kfuncfix.discovery.facts import Facts, KfuncMarks, PrototypeMemo, remembered
from kfuncfix.discovery.reader import Reader, ScanMemo
from kfuncfix.discovery.registrations import classify, registered_kfuncs
from kfuncfix.discovery.resolution import Resolver
from kfuncfix.discovery.sets import find_sets
from kfuncfix.errors import KfuncfixError
from kfuncfix.grepcache import Searches
from kfuncfix.indexcache import IndexCache, Store, default_dir, disabled_by_env
from kfuncfix.model import TreeIndex
from kfuncfix.treefiles import TreeFiles

# The convention of the built-in tag rule; callers pass their rules' words.
DEFAULT_TAGS = frozenset({"__bpf_kfunc"})
DEFAULT_WRAPPERS = frozenset({"BPF_KFUNC"})
# Macros whose definitions tell which conventions a tree knows (the built-in
# rules' markers); callers pass the macros of the rules they use.
DEFAULT_MACROS = frozenset({"__bpf_kfunc_start_defs", "BTF_KFUNCS_START", "BTF_SET8_START"})
# Files with sets or registrations contain one of these (searched as fixed strings).
CANDIDATE_WORDS = ("BTF_SET8_START", "BTF_KFUNCS_START", "BTF_SET_START", "BTF_ID_LIST",
                   "register_btf_", "btf_kfunc_id_set", "btf_id_dtor_kfunc")

Progress = Callable[[str], None]


def looks_like_kernel_tree(root: Path) -> bool:
    """A kernel tree, a subsystem directory or an out-of-tree module directory."""
    if any((root / name).exists() for name in ("Kconfig", "Kbuild", "include/linux")):
        return True
    makefile = root / "Makefile"
    try:
        return makefile.is_file() and b"obj-" in makefile.read_bytes()
    except OSError:
        return False


def discover(
    root: Path | TreeFiles,
    overlay: dict[str, bytes | None] | None = None,
    progress: Progress | None = None,
    rev: str | None = None,
    tags: frozenset[str] = DEFAULT_TAGS,
    wrappers: frozenset[str] = DEFAULT_WRAPPERS,
    macros: frozenset[str] = DEFAULT_MACROS,
    cache: bool | None = None,
) -> TreeIndex:
    """Index the kfuncs of the tree at root (optionally with patched files in overlay).

    `progress` receives a short status line at each stage (for a terminal);
    `rev` reads the tree as committed at that revision (git trees only).
    `tags` are the words that mark a definition header (`__bpf_kfunc`),
    `wrappers` the macros that mark a definition by wrapping it (`BPF_KFUNC`).
    The include/ headers that define them or `macros` are read, so that rules
    know which of their macros the tree has (`SourceFile.defines`).
    `cache` False reads and scans everything again (`--no-cache`); None uses the
    index cache unless `KFUNCFIX_NO_CACHE` is set (see `kfuncfix.indexcache`).
    """
    # The pipeline passes the run's one file layer (its snapshot's); else one is made here.
    files = root if isinstance(root, TreeFiles) else TreeFiles(root, overlay, rev)
    if not looks_like_kernel_tree(files.root):
        raise KfuncfixError(
            f"{root}: not a kernel tree (no Kconfig, Kbuild, include/linux or kbuild Makefile)"
        )
    try:
        return _run(files, KfuncMarks(tags, wrappers), macros, progress or (lambda _: None),
                    cache if cache is not None else not disabled_by_env())
    finally:
        files.close()


def _run(files: TreeFiles, conventions: KfuncMarks, macros: frozenset[str],
         progress: Progress, use_cache: bool, cache_searches: bool = True,
         scans: ScanMemo | None = None, prototypes: PrototypeMemo | None = None) -> TreeIndex:
    reader = Reader(files, memo=scans)
    facts = Facts(conventions, reader.warnings)
    cache = None
    if use_cache and (store := Store(default_dir(), reader.warnings.append)).enabled:
        cache = reader.cache = IndexCache(store)
        facts.parse = cache.prototype
        if files.is_git and cache_searches:  # the tree's state is read while discovery starts
            files.searches = Searches(store, files)
    if prototypes is not None:
        facts.parse = remembered(facts.parse, prototypes)
    try:
        index = _passes(files, reader, facts, macros, progress)
    finally:
        if files.searches is not None:
            files.searches.close()
            files.searches = None
    if cache is not None:
        cache.flush()
    return index


def _passes(files: TreeFiles, reader: Reader, facts: Facts, macros: frozenset[str],
            progress: Progress) -> TreeIndex:
    conventions = facts.conventions
    progress("searching the tree for BTF id sets")
    reader.note_unsearched()
    # Sets and registrations live in .c files; of the headers only those that
    # define the set macros and the conventions' words matter.
    macro_names = sorted(conventions.tags | conventions.wrappers | macros)
    macro_headers = files.grep_start(
        r"define\s+(?:{})\b".format("|".join(map(re.escape, macro_names))), "include"
    ) if macro_names else list
    # Files with the conventions' tags are read too: they hold most definitions
    # of kfuncs whose set is in another file (see discovery.resolution).
    found = files.grep([*CANDIDATE_WORDS, *sorted(conventions.tags | conventions.wrappers)], "c")
    found += [h for h in macro_headers() if h not in found]
    progress(f"reading {len(found)} files with sets and registrations")
    candidates = reader.sources_of(found)
    sets = find_sets(candidates, MacroTable(reader), reader.warnings)
    classify(candidates, sets)
    kfuncs = registered_kfuncs(candidates, sets, reader.warnings)
    progress(f"resolving {len({k.name for k in kfuncs})} kfuncs to their definitions")
    Resolver(reader, facts).resolve(kfuncs)
    unresolved = [u for s in sets if s.kind != "unregistered" for u in s.unresolved]
    return TreeIndex(
        root=str(files.root),
        sources=reader.sources,
        sets=sets,
        kfuncs=kfuncs,
        unresolved=unresolved,
        warnings=reader.warnings,
        is_git=files.is_git,
        unreadable=reader.unreadable,
        rev=files.rev,
    )


def discover_in(
    files: TreeFiles,
    tags: frozenset[str] = DEFAULT_TAGS,
    wrappers: frozenset[str] = DEFAULT_WRAPPERS,
    macros: frozenset[str] = DEFAULT_MACROS,
    scans: ScanMemo | None = None,
    prototypes: PrototypeMemo | None = None,
    cache: bool = True,
) -> TreeIndex:
    """`discover` through a caller's own file layer (`check --git` reads each commit
    as the worktree with what differs laid over it, see `kfuncfix.commitscope`);
    `scans` and `prototypes` share the scans of identical files and the parsed
    prototypes between the caller's runs; `cache` False: no index cache (--no-cache)."""
    if not looks_like_kernel_tree(files.root):
        files.close()
        raise KfuncfixError(f"{files.root}: not a kernel tree (no Kconfig, Kbuild, "
                            "include/linux or kbuild Makefile)")
    try:
        # Scans are kept by blob id, so a commit's files and its parent's are scanned
        # once; the caller's file layer does its own searching (no search cache).
        return _run(files, KfuncMarks(tags, wrappers), macros, lambda _: None,
                    cache and not disabled_by_env(), cache_searches=False, scans=scans,
                    prototypes=prototypes)
    finally:
        files.close()
