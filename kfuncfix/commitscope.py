"""`check --git` and `check --patch` at the cost of what the change touches.

A change's findings can only come from what it changes: set entries and
registrations in its files, and definitions in its files of kfuncs registered
anywhere.  So the trees before and after (each commit and its parents, or the
tree without and with a patch) are indexed with discovery's search for sets
limited to a scope (`Scope`): the files the change touches, and the files
with sets, registrations or tags naming a function whose definition it adds,
removes or changes the header of (where a set may register it).  Everything
else discovery searches for (definitions and declarations by name, the
headers defining the rules' macros) it searches in the whole tree as before,
each search done once per run on the worktree (through the search cache) and
corrected for the files a view replaces (`kfuncfix.commitview`: a commit is
the worktree with what differs laid over it).

The findings equal those of indexing each tree whole (`commitlint.full_plans`
and `lint_patch(whole=True)` are kept as the reference: tests compare both).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from kfuncfix.commitview import Views, read_at
from kfuncfix.commitwalk import Commit
from kfuncfix.discover import discover_in
from kfuncfix.discovery.facts import PrototypeMemo
from kfuncfix.discovery.reader import ScanMemo
from kfuncfix.grepcache import Searches
from kfuncfix.indexcache import IndexCache, Store, default_dir, disabled_by_env
from kfuncfix.model import TreeIndex
from kfuncfix.pipeline import (
    Conventions,
    IndexLoader,
    Planned,
    Request,
    discover_index,
    run_plan,
)
from kfuncfix.snapshot import Snapshot
from kfuncfix.source.scan import scan
from kfuncfix.treefiles import FILE_SETS, TreeFiles, _as_regex, in_scope

# (pattern, file set, whole words) -> files of the worktree that match
GrepMemo = dict[tuple[object, str, bool], list[str]]
# The names a set entry registers, as most entries are written (entries an X-macro
# makes are searched for when resolution asks, as before).
ENTRY_NAME_RE = re.compile(rb"\bBTF_ID(?:_FLAGS)?\s*\(\s*func\s*,\s*([A-Za-z_]\w*)")
# Up to this many names (changed definitions, and what the touched sets register
# from elsewhere), one git grep of every .c file finds the files naming them: its
# cost grows with the names, past the cost of reading the files with sets.
FEW_WORDS = 8
# More C files touched than this (by all the commits together): each tree is
# indexed whole instead.
MAX_SCOPED = 400
# Shown each index the user's command is about (the CLI prints its warnings).
Report = Callable[[TreeIndex], None]


class ScopedFiles(TreeFiles):
    """The worktree read as one commit (an overlay), whose search for sets and
    registrations (discovery's only search of .c files that is neither by word nor
    by regex) looks at `scope` only; its other searches cover the whole worktree,
    shared through `memo` by every view of the range."""

    def __init__(self, root: Path, overlay: dict[str, bytes | None], views: Views | None,
                 scope: Scope) -> None:
        super().__init__(root, overlay)
        self.views = views
        self.scope = scope
        self.memo = scope.memo  # shared by every view of the run, as the scans are

    def gitlinks(self) -> list[str]:
        # The worktree's submodules, as every view of the run has them: listed once.
        if self.views is None:
            return super().gitlinks()
        if self.views.gitlinks is None:
            self.views.gitlinks = super().gitlinks()
        return self.views.gitlinks

    def sparse_skipped(self) -> list[str]:
        # A view exists only for a worktree without skip-worktree entries.
        return [] if self.views is not None else super().sparse_skipped()

    def kind(self, rel: str) -> str | None:
        # An untracked file is in no commit (views None: the worktree as it is).
        if self.views is not None and rel not in self.overlay \
                and not self.views.is_tracked(rel):
            return None
        return super().kind(rel)

    def grep_start(self, pattern: str | Sequence[str], files: str = "all",
                   whole_words: bool = False) -> Callable[[], list[str]]:
        regex = re.compile(_as_regex(pattern, whole_words).encode(), re.M)
        wanted = FILE_SETS[files]
        if files == "c" and not whole_words and not isinstance(pattern, str):
            # The search for sets and registrations: the scope's files, as this view has them.
            found = sorted(f for f in self.scope.files(pattern) if in_scope(f) and wanted(f)
                           and self._has(f, regex))
            return lambda: found
        # The worktree's answer holds for every file this view does not replace.
        worktree = _grep(self.root, self.memo, pattern, files, whole_words,
                         self.scope.worktree)
        found = sorted({*(f for f in worktree if f not in self.overlay),
                        *(f for f, data in self.overlay.items() if data is not None
                          and in_scope(f) and wanted(f) and regex.search(data))})
        return lambda: found

    def _has(self, rel: str, regex: re.Pattern[bytes]) -> bool:
        try:
            return self.exists(rel) and regex.search(self.read(rel)) is not None
        except OSError:
            return False


def scoped_plans(tree: Path, rule_names: tuple[str, ...], commits: list[Commit],
                 report: Report | None = None, cache: bool = True) -> Callable[[str], Planned]:
    """Plans of the trees of `commits` and their parents, indexed within their scope
    (see the module docstring); a tree the worktree cannot stand in for is read at
    its revision, whole.  `report` is shown the index of each commit (not of the
    parents: their problems are not the commits'); `cache` False: no index or
    search cache (--no-cache)."""
    root = tree.resolve()
    mine = {c.sha for c in commits}
    if sum(1 for c in commits for p in c.paths if in_scope(p)) > MAX_SCOPED:
        # A tree-wide change: scanning each version of each file it touches would
        # cost more than indexing each tree whole.
        def whole(sha: str) -> Planned:
            run = run_plan(Request(tree, rule_names, rev=sha, lint=True), _whole_index(cache))
            if report is not None and sha in mine:
                report(run.index)
            return run

        return whole
    views = Views(root)
    memo: GrepMemo = {}
    scans: ScanMemo = {}
    scope = _scope(root, views, commits, memo, scans, cache)

    def plan_at(sha: str) -> Planned:
        overlay = views.overlay(sha)
        if overlay is None:
            run = run_plan(Request(tree, rule_names, rev=sha, lint=True), _whole_index(cache))
        else:
            run = _scoped_plan(tree, rule_names,
                               ScopedFiles(root, overlay, views, scope))
        if report is not None and sha in mine:
            run.index.warnings.extend(scope.take_warnings())
            report(run.index)
        return run

    return plan_at


def _scoped_plan(tree: Path, rule_names: tuple[str, ...], files: ScopedFiles) -> Planned:
    def index(snapshot: Snapshot, conventions: Conventions) -> TreeIndex:
        return discover_in(snapshot.files, conventions.tags, conventions.wrappers,
                           conventions.macros, files.scope.scans, files.scope.prototypes,
                           files.scope.store is not None)

    return run_plan(Request(tree, rule_names, overlay=files.overlay, lint=True), index,
                    Snapshot(files.root, None, files.overlay, files=files))


def _scope(root: Path, views: Views, commits: list[Commit], memo: GrepMemo,
           scans: ScanMemo, cache: bool) -> Scope:
    """The scope of the commits: their files at each commit and each parent."""
    # A commit the worktree cannot stand in for: its files asked of git, once.
    unviewed: dict[str, set[str]] = {}
    for c in commits:
        for sha in (c.sha, *c.parents):
            if views.overlay(sha) is None:
                unviewed.setdefault(sha, set()).update(p for p in c.paths if in_scope(p))
    committed = {sha: read_at(root, sha, sorted(paths)) for sha, paths in unviewed.items()}

    def version(sha: str, rel: str) -> bytes | None:
        overlay = views.overlay(sha)
        if overlay is None:
            return committed[sha].get(rel)
        return overlay[rel] if rel in overlay else _worktree(root, rel, views)

    pairs = [(rel, version(parent, rel) if parent else None, version(c.sha, rel))
             for c in commits for rel in c.paths if in_scope(rel)
             for parent in c.parents or ("",)]
    overlays = [views.overlay(s) or {} for s in {s for c in commits for s in (c.sha, *c.parents)}]
    return Scope(root, views, pairs, overlays, memo, scans, cache)


class Scope:
    """The files a view searches for sets and registrations: the touched files (each
    as (path, before, after)), and the .c files that name a function whose
    definitions differ between before and after, in the worktree or in any of the
    `overlays` laid over it.

    The names are looked for in one of two ways, whichever costs less.  Few of
    them: one git grep of every .c file, which also looks for the names the
    touched files' set entries register and do not define (resolution asks for
    their definitions, and answering from this search's files saves it a second
    pass over every .c file).  Many (a file renamed changes all its definitions),
    or whenever the search cache holds it: the search discovery makes for the
    files with sets, registrations and tags (the only files the scope matters
    for), then the names in those files alone, read in Python; the files among
    them naming a registered name join the scope, so that resolution finds its
    definitions there, as reading the tree whole does."""

    def __init__(self, root: Path, views: Views | None,
                 pairs: list[tuple[str, bytes | None, bytes | None]],
                 overlays: list[dict[str, bytes | None]], memo: GrepMemo,
                 scans: ScanMemo, cache: bool = True) -> None:
        self.root = root
        self.views = views
        self.overlays = overlays
        self.memo = memo
        self.scans = scans
        self.touched = frozenset(rel for rel, _, _ in pairs)
        self.warnings: list[str] = []  # the index cache's, shown with the first index
        self.prototypes: PrototypeMemo = {}  # parsed once for every view of the run
        # The index and search caches (None: --no-cache, KFUNCFIX_NO_CACHE, or unusable).
        store = Store(default_dir(), self.warnings.append) if cache and not disabled_by_env() \
            else None
        self.store = store if store is not None and store.enabled else None
        # Scans of the touched files' versions, by blob id (a warm run scans none).
        self.cache = IndexCache(self.store) if self.store is not None else None
        self._worktree: TreeFiles | None = None
        self._headers: dict[tuple[str, bytes], dict[str, list[bytes]]] = {}
        self.names: set[str] = set()
        for rel, before, after in pairs:
            old, new = self._defined(rel, before), self._defined(rel, after)
            self.names.update(n for n in old.keys() | new.keys()
                              if sorted(old.get(n, [])) != sorted(new.get(n, [])))
        # Those defined in the touched files themselves are found there, without a search.
        versions = [(rel, data) for rel, *both in pairs for data in both if data is not None]
        self.registered = {m.group(1).decode() for _, data in versions
                           for m in ENTRY_NAME_RE.finditer(data)}
        self.registered -= {n for rel, data in versions for n in self._defined(rel, data)}
        if self.cache is not None:
            self.cache.flush()
        self._files: dict[tuple[str, ...], frozenset[str]] = {}

    def files(self, pattern: Sequence[str]) -> frozenset[str]:
        """The scope for discovery's search for `pattern` (its words for sets,
        registrations and the conventions' tags)."""
        key = tuple(pattern)
        if key not in self._files:
            self._files[key] = self._find(key) if self.names else self.touched
        return self._files[key]

    def worktree(self) -> TreeFiles:
        """The worktree as every view's searches of it see it, through the search
        cache when there is one (its state is read once per run)."""
        if self._worktree is None:
            self._worktree = TreeFiles(self.root)
            if self.store is not None:
                self._worktree.searches = Searches(self.store, self._worktree)
        return self._worktree

    def take_warnings(self) -> list[str]:
        """The caches' warnings (a damaged entry), once."""
        taken, self.warnings = self.warnings, []
        return taken

    def _defined(self, rel: str, data: bytes | None) -> dict[str, list[bytes]]:
        """Name -> the header texts of its definitions in this version of rel."""
        if data is None:
            return {}
        if (rel, data) not in self._headers:
            found: dict[str, list[bytes]] = {}
            if (rel, data) not in self.scans:
                self.scans[rel, data] = (self.cache.scan(rel, data) if self.cache is not None
                                         else scan(rel, data))
            for f in self.scans[rel, data].functions:
                found.setdefault(f.name, []).append(data[f.start:f.brace])
            self._headers[rel, data] = found
        return self._headers[rel, data]

    def _find(self, pattern: tuple[str, ...]) -> frozenset[str]:
        words = self.names | self.registered
        worktree = self.worktree()
        stored = worktree.grep_stored(pattern, "c")
        if stored is None and len(words) <= FEW_WORDS:
            _grep(self.root, self.memo, sorted(words), "c", True, self.worktree)
            naming = set(_grep(self.root, self.memo, sorted(self.names), "c", True,
                               self.worktree))
            naming |= self._in_overlays(self.names)
            return self.touched | naming
        candidates = set(stored() if stored is not None else worktree.grep(pattern, "c"))
        regex = re.compile(_as_regex(pattern, False).encode(), re.M)
        candidates |= {rel for overlay in self.overlays for rel, data in overlay.items()
                       if data is not None and in_scope(rel) and FILE_SETS["c"](rel)
                       and regex.search(data)}
        return self.touched | self._naming(candidates, words)

    def _in_overlays(self, names: set[str]) -> set[str]:
        """The .c files an overlay replaces that name one of `names` in a version."""
        word = re.compile(_as_regex(sorted(names), True).encode(), re.M)
        return {rel for overlay in self.overlays for rel, data in overlay.items()
                if data is not None and in_scope(rel) and rel.endswith(".c")
                and word.search(data)}

    def _naming(self, candidates: set[str], words: set[str]) -> set[str]:
        """Those of `candidates` naming one of `words` in any version of them (the
        worktree's, or an overlay's); a file that cannot be read as a regular file
        stays in (the reader reports it)."""
        raw = [w.encode() for w in words]
        word = re.compile(_as_regex(sorted(words), True).encode(), re.M)

        def names_one(data: bytes) -> bool:
            # `in` first: a substring test is many times faster than the alternation.
            return any(w in data for w in raw) and word.search(data) is not None

        found = set()
        for rel in candidates:
            data = _worktree(self.root, rel, self.views)
            if (data is None and not any(rel in o for o in self.overlays)) \
                    or (data is not None and names_one(data)) \
                    or any(names_one(o[rel] or b"") for o in self.overlays if rel in o):
                found.add(rel)
        return found


def scoped_patch_plans(tree: Path, rule_names: tuple[str, ...],
                       before: dict[str, bytes | None], after: dict[str, bytes | None],
                       report: Report | None = None,
                       cache: bool = True) -> tuple[Planned, Planned]:
    """`check --patch`: the plans of the tree before and after the patch (each an
    overlay on the worktree as it is), indexed within the patch's scope."""
    root = tree.resolve()
    memo: GrepMemo = {}
    scans: ScanMemo = {}
    touched = sorted(rel for rel in before.keys() | after.keys() if in_scope(rel))

    def version(overlay: dict[str, bytes | None], rel: str) -> bytes | None:
        return overlay[rel] if rel in overlay else _worktree(root, rel, None)

    pairs = [(rel, version(before, rel), version(after, rel)) for rel in touched]
    scope = Scope(root, None, pairs, [before, after], memo, scans, cache)

    after_run = _scoped_plan(tree, rule_names,
                             ScopedFiles(root, after, None, scope))
    if report is not None:
        after_run.index.warnings.extend(scope.take_warnings())
        report(after_run.index)
    before_run = _scoped_plan(tree, rule_names,
                              ScopedFiles(root, before, None, scope))
    return after_run, before_run


def _whole_index(cache: bool) -> IndexLoader | None:
    """The pipeline's own discovery of a whole tree, without the cache if asked."""
    return None if cache else partial(discover_index, cache=False)


def _grep(root: Path, memo: GrepMemo, pattern: str | Sequence[str], files: str,
          whole_words: bool, worktree: Callable[[], TreeFiles] | None = None) -> list[str]:
    """The files of the worktree that match, searched once per run (through
    `worktree()`, a search cache's, when given: made only when git grep runs).
    Many words are searched as one PCRE alternation: git grep -F with a hundred
    words takes 20 times the CPU."""
    key = (pattern if isinstance(pattern, str) else tuple(pattern), files, whole_words)
    if key in memo:
        return memo[key]
    wider = None if isinstance(pattern, str) else _wider(memo, set(pattern), files, whole_words)
    if wider is not None:
        # A search for more words has run: its files are the only candidates.
        regex = re.compile(_as_regex(pattern, whole_words).encode(), re.M)
        memo[key] = [f for f in wider if _matches(root, f, regex)]
    else:
        memo[key] = (worktree() if worktree else TreeFiles(root)).grep(
            pattern if isinstance(pattern, str) else _as_regex(pattern, whole_words), files)
    return memo[key]


def _wider(memo: GrepMemo, words: set[str], files: str, whole_words: bool) -> list[str] | None:
    """The result of a search already run for a superset of `words`, if any."""
    for (pattern, where, whole), found in memo.items():
        if (where, whole) == (files, whole_words) and isinstance(pattern, tuple) \
                and words <= set(pattern):
            return found
    return None


def _matches(root: Path, rel: str, regex: re.Pattern[bytes]) -> bool:
    """Does the worktree's rel match?  A file that cannot be read as a regular file
    stays a candidate: the wider search named it, and the reader reports it."""
    data = _worktree(root, rel, None)
    return data is None or regex.search(data) is not None


def _worktree(root: Path, rel: str, views: Views | None) -> bytes | None:
    """The worktree's rel if it is a regular file (as `TreeFiles.kind` has it): a
    link may lead out of the tree, and opening a FIFO waits for a writer."""
    if views is not None and not views.is_tracked(rel):
        return None
    path = root / rel
    try:
        return path.read_bytes() if stat.S_ISREG(os.lstat(path).st_mode) else None
    except OSError:
        return None
