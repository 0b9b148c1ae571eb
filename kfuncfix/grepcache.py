"""Searches of a git tree answered from the index cache: only changed files are searched.

A search's result (the files `git grep` matched) is stored with the state of the
tree it was run on, and is valid for any tree in that state.  The state of a
commit is its tree id.  The state of the worktree is the index's listing
(`git ls-files -s`: a blob id per path) plus the files git's own check says
differ from it (`git diff-files`: size, mtime, ctime and inode against the
index; git compares by content the entries its index cannot vouch for, the
racy-clean ones), each hashed as `git hash-object` would.  Nothing here decides
by stat information alone.

A later search in another state asks which files differ (two tree ids:
`git diff-tree`; two index listings: compared entry by entry; worktree files:
their hashes) and searches only those, in Python, line by line as git grep
does.  A search whose result cannot be vouched for (a file written while git
grep read the tree) is not stored.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kfuncfix import gitrun
from kfuncfix.indexcache import Store, blob_id
from kfuncfix.treefiles import TreeFiles

# More changed files than this: one git grep of the tree costs less than reading them.
MAX_CHANGED = 2000
# A worktree file changed this close to a search (or during it) may have been read
# before its last write: file times are coarse.
RACY_SECONDS = 2.0
# "TAG MODE OID STAGE\tPATH" after a NUL.  (No -v: an assume-unchanged entry is
# neither checked by diff-files nor read from the worktree by git grep, which
# takes its blob from the index; the listing's blob id is its state, as for git.)
_INDEX_ENTRY = re.compile(rb"\0(\w) (\d+) (\w+) (\d)\t([^\0]*)")
_C_FILES = ":(glob)**/*.[ch]"

Wait = Callable[[], "set[str]"]


@dataclass
class TreeState:
    """What the tree searched holds: a tree id, or the index plus changed worktree files."""

    kind: str  # "tree" (at a commit) or "index" (the worktree)
    digest: str  # the tree id, or the sha1 of the index listing
    dirty: dict[str, str | None] = field(default_factory=dict)  # path -> blob id (None: gone)
    usable: bool = True  # False: a worktree file that is not a regular file, or too many
    newest: float = 0.0  # latest ctime/mtime of a dirty file (seconds)
    # When the index was written: git's stat check compares ctime and mtime in whole
    # seconds, so an edit in the second an entry was recorded (keeping size and
    # mtime) escapes it.  A state is stored only when that second is long past.
    index_written: float = 0.0

    def settled(self, started: float) -> bool:
        """Can a search begun at `started` be stored under this state?"""
        return self.usable and self.index_written < started - RACY_SECONDS

    @property
    def ident(self) -> str:
        text = repr(sorted(self.dirty.items()))
        return f"{self.kind}:{self.digest}:{hashlib.sha1(text.encode()).hexdigest()}"


class StateReader:
    """The state of one TreeFiles, computed once, its git process started at once."""

    def __init__(self, files: TreeFiles) -> None:
        self.files = files
        self._state: TreeState | None = None
        self._diff: subprocess.Popen[bytes] | None = None
        self._args: tuple[str, ...] = ()
        if files.rev is None:
            # git's stat check, with ctime, whatever the user's core.trustctime says.
            self._args = ("-c", "core.trustctime=true", "-c", "core.checkStat=default",
                          "diff-files", "-z", "--name-only", "--", _C_FILES)
            self._diff = gitrun.start(files.root, *self._args)

    def state(self) -> TreeState:
        if self._state is None:
            self._state = self._read()
        return self._state

    def close(self) -> None:
        if self._diff is not None and self._diff.poll() is None:
            self._diff.kill()
            self._diff.communicate()

    def _read(self) -> TreeState:
        files = self.files
        if files.rev is not None:
            tree = gitrun.text(files.root, "rev-parse", "--verify", "--end-of-options",
                               f"{files.rev}^{{tree}}")
            return TreeState("tree", tree)
        listing = files.index_listing()
        assert self._diff is not None
        out = gitrun.finish(self._diff, self._args)
        self._diff = None
        names = {os.fsdecode(n) for n in out.split(b"\0") if n}
        state = TreeState("index", hashlib.sha1(listing).hexdigest())
        index = gitrun.out(files.root, "rev-parse", "--git-path", "index").decode().strip()
        try:
            state.index_written = os.stat(files.root / os.fsdecode(index)).st_mtime
        except OSError:
            state.index_written = time.time()  # unknown: never stored
        if len(names) > MAX_CHANGED:
            state.usable = False  # e.g. a copied tree: `git update-index --refresh` helps
            return state
        for rel in sorted(names):
            state.dirty[rel], when = _worktree_blob(files, rel)
            state.newest = max(state.newest, when)
            if when < 0:
                state.usable = False
        return state


def _worktree_blob(files: TreeFiles, rel: str) -> tuple[str | None, float]:
    """(blob id of the worktree file, its latest change time); (None, 0) if it is gone;
    time -1 if it is not a regular file (git grep's reading of it is not ours)."""
    try:
        info = os.lstat(files.root / rel)
    except OSError:
        return None, 0.0
    if not stat.S_ISREG(info.st_mode):
        return None, -1.0
    try:
        data = (files.root / rel).read_bytes()
    except OSError:
        return None, -1.0
    return blob_id(data), max(info.st_ctime, info.st_mtime)


class Searches:
    """`TreeFiles.searches`: each search from the store when the tree state allows."""

    def __init__(self, store: Store, files: TreeFiles) -> None:
        self.store = store
        self.files = files
        self.states = StateReader(files)
        self._untracked: set[str] = set()  # changed paths the index holds no regular file at

    def close(self) -> None:
        self.states.close()

    def start(self, options: Sequence[str], files: str, regex_text: str,
              run: Callable[[], Wait]) -> Wait:
        """A search's result: stored, brought up to date, or from `run` (git grep)."""
        started = time.time()
        found = self.stored(options, files, regex_text)
        return found if found is not None else self._search(self._key(options, files),
                                                            started, run)

    def stored(self, options: Sequence[str], files: str, regex_text: str) -> Wait | None:
        """A search's result from the store, brought up to date by searching the
        files changed since; None where only a search of the tree can answer (nothing
        stored, or the tree's state cannot be compared)."""
        key = self._key(options, files)
        started = time.time()
        stored = self.store.load("grep", key)
        if not isinstance(stored, dict):
            return None
        state = self.states.state()
        if not state.usable:
            return None
        if stored.get("ident") == state.ident:
            found = set(stored["matches"])
            return lambda: found
        changed = self._changed(stored, state)
        if changed is None:
            return None
        regex = re.compile(regex_text.encode(), re.M)
        found = {f for f in stored["matches"] if f not in changed}
        for rel in changed:
            if (TreeFiles.git_grep_reaches(rel, files) and rel not in self._untracked
                    and self._matches(rel, regex)):
                found.add(rel)
        # At a commit `_matches` reads through the overlay (check --patch): what it
        # found for a patched file is not the commit's, so it is not stored.
        at_commit_patched = self.files.rev is not None and bool(changed & self.files.overlay.keys())
        if state.settled(started) and not at_commit_patched:
            self._save(key, state, found)
        return lambda: found

    def _key(self, options: Sequence[str], files: str) -> tuple[object, ...]:
        return ("grep", str(self.files.root), self.files.rev is None, tuple(options), files)

    def _search(self, key: tuple[object, ...], started: float,
                run: Callable[[], Wait]) -> Wait:
        """git grep, its result stored with the state it was run on (read meanwhile)."""
        wait = run()

        def searched() -> set[str]:
            result = wait()
            state = self.states.state()
            # A worktree file written just before or while git grep ran may have
            # been read in its older form: such a result is not kept.
            if state.settled(started) and state.newest < started - RACY_SECONDS:
                self._save(key, state, result)
            return result

        return searched

    def _save(self, key: tuple[object, ...], state: TreeState, found: set[str]) -> None:
        value = {"ident": state.ident, "kind": state.kind, "digest": state.digest,
                 "dirty": state.dirty, "matches": sorted(found)}
        if state.kind == "index" and not self.store.exists("listing", (state.digest,)):
            self.store.save("listing", (state.digest,), self.files.index_listing())
        self.store.save("grep", key, value)

    def _changed(self, stored: dict[str, object], state: TreeState) -> set[str] | None:
        """Paths whose content may differ between the stored state and this one;
        None when that cannot be told (then the tree is searched again)."""
        if stored.get("kind") != state.kind or not isinstance(stored.get("matches"), list):
            return None
        if state.kind == "tree":
            try:
                out = gitrun.out(self.files.root, "diff-tree", "-r", "-z", "--no-renames",
                                 "--name-only", "--end-of-options", str(stored["digest"]),
                                 state.digest)
            except gitrun.GitError:
                return None  # the stored tree is gone (gc): search again
            changed = {os.fsdecode(n) for n in out.split(b"\0") if n}
        else:
            old_dirty = stored.get("dirty")
            if not isinstance(old_dirty, dict):
                return None
            changed = {p for p in old_dirty.keys() | state.dirty.keys()
                       if old_dirty.get(p, "") != state.dirty.get(p, "")}
            if stored["digest"] != state.digest:
                old = self.store.load("listing", (stored["digest"],))
                if not isinstance(old, bytes):
                    return None
                new = self.files.index_listing()
                listed = _listing_changes(old, new)
                changed |= listed
                # Paths the index no longer has as regular files: git grep does not read them.
                self._untracked = listed - _searched_paths(new, listed)
        return changed if len(changed) <= MAX_CHANGED else None

    def _matches(self, rel: str, regex: re.Pattern[bytes]) -> bool:
        """Would git grep match this file (as the tree holds it now)?"""
        try:
            if self.files.rev is None:
                if not stat.S_ISREG(os.lstat(self.files.root / rel).st_mode):
                    return False  # git grep reads regular files only
                data = (self.files.root / rel).read_bytes()
            else:
                data = self.files.read(rel)
        except OSError:
            return False
        if regex.search(data) is None:
            return False
        # git grep matches a line at a time: `\s` never reaches into the next line.
        return any(regex.search(line) for line in data.split(b"\n"))


def _searched_paths(listing: bytes, paths: set[str]) -> set[str]:
    """Those of `paths` that a worktree git grep reads: regular files of the index,
    not left out of a sparse checkout (skip-worktree, tag S)."""
    return {os.fsdecode(path) for tag, mode, _, _, path in _INDEX_ENTRY.findall(listing)
            if mode in (b"100644", b"100755") and tag not in (b"S", b"s")
            and os.fsdecode(path) in paths}


def _listing_changes(old: bytes, new: bytes) -> set[str]:
    """Paths whose index entries differ between two `ls-files -s -t -z` listings."""
    def entries(raw: bytes) -> set[tuple[bytes, ...]]:
        return {(path, mode, oid, stage, tag) for tag, mode, oid, stage, path
                in _INDEX_ENTRY.findall(raw) if path.endswith((b".c", b".h"))}

    return {os.fsdecode(e[0]) for e in entries(old) ^ entries(new)}
