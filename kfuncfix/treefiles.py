"""Which files of a tree to read: one fast byte search, never a Python walk of the tree.

In a git tree the search is `git grep -l -P` (threaded, reads the index's file
list); elsewhere GNU `grep -rlP`; only when neither is available does Python walk
the tree itself.  Patterns are written so that PCRE and Python's `re` agree.

Scope, as a kernel developer expects: `.c` and `.h` files, without
`Documentation/` and without `tools/` except the BPF selftests (whose
`bpf_testmod` is an out-of-tree-style kernel module), and without the BPF
programs under `tools/testing/selftests/bpf/progs/` (they call kfuncs, they
never define them).

Only regular files are read.  A symbolic link (a committed mode 120000 blob, or
a link in the worktree) or a submodule is never read as a file of the tree:
reading one raises `NotRegularFile`, at a revision and in the worktree alike,
so no command can plan a change to a link's target text.  At a revision,
names and modes come from the tree object (`git ls-tree -r -z`) and contents
from `git cat-file --batch` by object id, each reply checked against the id
and size asked for: no file name ever travels newline-separated.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError
from kfuncfix.gitrun import work_tree

if TYPE_CHECKING:
    from kfuncfix.grepcache import Searches

SELFTESTS = "tools/testing/selftests/bpf/"
SELFTEST_PROGS = "tools/testing/selftests/bpf/progs/"
EXCLUDED_TOP = ("Documentation/", "tools/")


def in_scope(rel: str) -> bool:
    """True for the C files discovery looks at (see the module docstring)."""
    if not rel.endswith((".c", ".h")):
        return False
    if rel.startswith(SELFTEST_PROGS):
        return False
    if rel.startswith(SELFTESTS):
        return True
    return not rel.startswith(EXCLUDED_TOP)


def _is_include_header(rel: str) -> bool:
    return rel.endswith(".h") and (
        rel.startswith("include/") or (rel.startswith("arch/") and "/include/" in rel))


# What a git tree entry's mode is, in the words of our messages.
_KIND_OF_MODE = {"100644": "file", "100755": "file", "120000": "symbolic link",
                 "160000": "submodule", "040000": "directory"}


_ARCH_INCLUDE = re.compile(r"arch/[^/]+/include/")
_LS_TREE_ENTRY = re.compile(rb"(\d+) \w+ (\w+)\t([^\0]*)\0")
# Index entries no search of the worktree reaches: submodules, and files with the
# skip-worktree bit (tag S) of a sparse checkout.  Records follow a NUL.
_INDEX_GITLINK = re.compile(rb"\0\w 160000 \w+ \d\t([^\0]*)")
_INDEX_SKIP_WORKTREE = re.compile(rb"\0S \d+ \w+ \d\t([^\0]*)")
# A caller reading a file or two asks git for just those entries; discovery, which
# reads hundreds, gets one listing of the whole tree (0.1 s for a kernel).
_SINGLE_LOOKUPS = 8


class NotRegularFile(OSError):
    """A path of the tree that is not a regular file (a link, a submodule): never read."""

    def __init__(self, rel: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"is a {kind}; not read through", rel)
        self.kind = kind


FILE_SETS: dict[str, Callable[[str], bool]] = {
    "all": lambda rel: True,
    "c": lambda rel: rel.endswith(".c"),
    "include": _is_include_header,
}


class TreeFiles:
    """Read access to one tree, optionally with some files replaced in memory.

    `overlay` maps relative paths to new contents (None: the file is gone); it
    lets `check --patch` see a patched tree without writing one.  `rev` reads
    the tree as committed at that revision instead of the worktree (git trees
    only): what `series` builds on.
    """

    def __init__(
        self,
        root: Path,
        overlay: dict[str, bytes | None] | None = None,
        rev: str | None = None,
    ) -> None:
        if not root.exists():
            raise KfuncfixError(f"{root}: no such directory")
        if not root.is_dir():
            raise KfuncfixError(f"{root}: not a directory")
        self.root = root.resolve()
        self.overlay = dict(overlay or {})
        top = work_tree(self.root)
        self.is_git = top == self.root
        self.rev = rev
        self._catfile: gitrun.Process[bytes] | None = None
        # At rev: path -> (mode, object id), as git wrote them (bytes: 80,000 entries in a
        # kernel tree, decoded only when asked for).
        self._entries: dict[bytes, tuple[bytes, bytes]] | None = None
        self._lookups = 0  # paths asked of git one by one before the whole listing
        # Paths asked of git together (`listed`), before or instead of the whole listing:
        # path -> (mode, object id), None where the revision has no such path.
        self._listed: dict[bytes, tuple[bytes, bytes] | None] = {}
        self._index_listing: bytes | None = None
        # Set by discovery: answers a search from the index cache when it can
        # (kfuncfix.grepcache.Searches.start); None: every search runs git grep.
        self.searches: Searches | None = None
        if rev is not None:
            if top is not None and not self.is_git:
                raise KfuncfixError(f"{root}: not the top of a git work tree (that is {top}); "
                                    f"a commit is read from the top of its tree")
            if not self.is_git:
                raise KfuncfixError(f"{root}: not a git repository (needed to read {rev})")
            sha = gitrun.resolve_commit(self.root, rev)
            if sha is None:
                raise KfuncfixError(f"{root}: unknown revision {rev}")
            self.rev = sha

    def __getstate__(self) -> dict[str, object]:
        # A copy (a cached index's) never shares the running cat-file process.
        state = dict(self.__dict__)
        state["_catfile"] = None
        return state

    def read(self, rel: str) -> bytes:
        if rel in self.overlay:
            data = self.overlay[rel]
            if data is None:
                raise FileNotFoundError(2, "No such file (deleted by the patch)", rel)
            return data
        kind = self.kind(rel)
        if kind is None:
            where = f" at {self.rev[:12]}" if self.rev is not None else ""
            raise FileNotFoundError(errno.ENOENT, f"No such file{where}", rel)
        if kind != "file":
            raise NotRegularFile(rel, kind)
        if self.rev is not None:
            return self._read_committed(rel)
        return (self.root / rel).read_bytes()

    def exists(self, rel: str) -> bool:
        """True for a regular file of the tree (a link or a submodule is not one)."""
        if rel in self.overlay:
            return self.overlay[rel] is not None
        return self.kind(rel) == "file"

    def kind(self, rel: str) -> str | None:
        """"file", "symbolic link", "submodule", "directory" or "other"; None if absent.

        In the worktree a path is a link when any of its components is one, as
        `git grep` and `apply` see it: a link may lead out of the tree.
        """
        if rel in self.overlay:
            return "file" if self.overlay[rel] is not None else None
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return None  # not a path inside the tree
        if self.rev is not None:
            entry = self._entry(rel)
            return None if entry is None else _KIND_OF_MODE.get(entry[0], "other")
        current = self.root
        for part in parts:
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return None
            if stat.S_ISLNK(mode):
                return "symbolic link"
        if stat.S_ISREG(mode):
            return "file"
        return "directory" if stat.S_ISDIR(mode) else "other"

    def gitlinks(self) -> list[str]:
        """The submodules of the tree: git grep does not search them."""
        if self.rev is not None:
            if self._entries is None:
                self._entries = self._ls_tree(None)
            return sorted(os.fsdecode(p) for p, (mode, _) in self._entries.items()
                          if mode == b"160000")
        return sorted(os.fsdecode(p) for p in _INDEX_GITLINK.findall(self._index()))

    def sparse_skipped(self) -> list[str]:
        """In-scope files of the index left out of a sparse checkout (not in the worktree)."""
        if self.rev is not None:
            return []  # at a revision every file is read from the commit
        return sorted(p for p in map(os.fsdecode, _INDEX_SKIP_WORKTREE.findall(self._index()))
                      if in_scope(p))

    def index_listing(self) -> bytes:
        """The index as `git ls-files -s -t -z` lists it, after a NUL (see `_index`)."""
        return self._index()

    def _index(self) -> bytes:
        """`git ls-files -s -t -z` ("TAG MODE OID STAGE\tPATH" NUL ...); empty outside git."""
        if self._index_listing is None:
            self._index_listing = b""
            if self.is_git:
                listing = gitrun.out(self.root, "ls-files", "-s", "-t", "-z")
                self._index_listing = b"\0" + listing
        return self._index_listing

    def listed(self, paths: Sequence[str]) -> None:
        """Ask git for the entries of `paths` at rev in one call, for a caller about to
        read a known set of files (the few a commit changes): cheaper than the whole
        listing, and than asking path by path."""
        wanted = [p for p in paths if os.fsencode(p) not in self._listed]
        if self._entries is not None or not wanted:
            return
        found = self._ls_tree(wanted)
        for path in wanted:
            self._listed[os.fsencode(path)] = found.get(os.fsencode(path))

    def object_ids(self) -> dict[str, str]:
        """The object id of every entry at rev (a file's blob, a submodule's commit), by
        path: what `--build` keys its results on."""
        if self._entries is None:
            self._entries = self._ls_tree(None)
        return {os.fsdecode(path): oid.decode() for path, (_, oid) in self._entries.items()}

    def _entry(self, rel: str) -> tuple[str, str] | None:
        """(mode, object id) of `rel` at rev: from `listed` when asked there, else asked
        one by one for the first few paths (a caller reading one file), from one
        listing of the tree after that."""
        key = os.fsencode(rel)
        if self._entries is None and key in self._listed:
            listed = self._listed[key]
            return None if listed is None else (listed[0].decode(), listed[1].decode())
        if self._entries is None and self._lookups < _SINGLE_LOOKUPS:
            self._lookups += 1
            entry = self._ls_tree([rel]).get(os.fsencode(rel))
        else:
            if self._entries is None:
                self._entries = self._ls_tree(None)
            entry = self._entries.get(os.fsencode(rel))
        return None if entry is None else (entry[0].decode(), entry[1].decode())

    def _ls_tree(self, paths: list[str] | None) -> dict[bytes, tuple[bytes, bytes]]:
        """`git ls-tree -z` at rev: of `paths` (literally), or of the whole tree (-r)."""
        assert self.rev is not None
        where = ["-r", "--full-tree", self.rev] if paths is None else [self.rev, "--", *paths]
        listing = gitrun.out(self.root, "--literal-pathspecs", "ls-tree", "-z", *where)
        # "<mode> SP <type> SP <oid> TAB <path> NUL"; the path may hold any other byte.
        return {path: (mode, oid) for mode, oid, path in _LS_TREE_ENTRY.findall(listing)}

    def _read_committed(self, rel: str) -> bytes:
        # One `git cat-file --batch` process serves every read, asked by object id
        # (never by name), and every reply is checked against the id and size asked.
        entry = self._entry(rel)
        assert entry is not None  # read() asked kind() first
        oid = entry[1]
        if self._catfile is None:
            self._catfile = gitrun.start(self.root, "cat-file", "--batch", stdin=gitrun.PIPE)
        proc = self._catfile
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{oid}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        if len(header) != 3 or header[0].decode() != oid or header[1] != b"blob":
            raise KfuncfixError(f"git cat-file gave {b' '.join(header)!r} for {rel!r} "
                                f"(blob {oid}): cannot read {self.root} at {self.rev}")
        size = int(header[2])
        data = proc.stdout.read(size)
        if len(data) != size or proc.stdout.read(1) != b"\n":
            raise KfuncfixError(f"git cat-file ended early reading {rel!r} (blob {oid})")
        return data

    def close(self) -> None:
        if self._catfile is not None:
            if self._catfile.stdin:
                self._catfile.stdin.close()
            self._catfile.wait()
            self._catfile = None

    def grep(self, pattern: str | Sequence[str], files: str = "all") -> list[str]:
        """Relative paths of in-scope files with a line matching `pattern` (sorted).

        `files` is "all" (.c and .h), "c" (.c only: half the bytes of a kernel
        tree are headers, generated register maps above all) or "include"
        (the headers under include/ and arch/*/include/, where macros are defined).
        """
        return self.grep_start(pattern, files)()

    def grep_start(self, pattern: str | Sequence[str], files: str = "all",
                   whole_words: bool = False) -> Callable[[], list[str]]:
        """Start a search; the returned function waits for it and gives its result.

        Lets the caller do Python work while git grep reads the tree.  A list
        of strings is searched as fixed strings (grep -F: several times faster
        than a regex alternation), as whole words with `whole_words`.
        """
        options = _options(pattern, whole_words)
        regex_text = _as_regex(pattern, whole_words)
        if self.is_git and self.searches is not None:
            wait = self.searches.start(options, files, regex_text,
                                       lambda: self._git_grep(options, files))
        elif self.is_git:
            wait = self._git_grep(options, files)
        else:
            found = self._gnu_grep(options, files) if shutil.which("grep") else None
            if found is None:
                found = self._python_grep(regex_text,
                                          (f for f in self._walk() if FILE_SETS[files](f)))
            wait = lambda: found  # noqa: E731
        return self._result(wait, files, regex_text)

    def grep_stored(self, pattern: str | Sequence[str],
                    files: str = "all") -> Callable[[], list[str]] | None:
        """`grep_start`'s answer where the search cache holds it (for this tree's
        state, or one a few files away); None where only a pass over the tree can
        answer.  Lets a caller choose the cheaper of two searches."""
        if not (self.is_git and self.searches is not None):
            return None
        regex_text = _as_regex(pattern, False)
        wait = self.searches.stored(_options(pattern, False), files, regex_text)
        return None if wait is None else self._result(wait, files, regex_text)

    def _result(self, wait: Callable[[], set[str]], files: str,
                regex_text: str) -> Callable[[], list[str]]:
        """The search's files in scope and of the file set, the overlay laid over."""
        wanted = FILE_SETS[files]

        def result() -> list[str]:
            found = {f for f in wait() if in_scope(f) and wanted(f)}
            if self.overlay:
                regex = re.compile(regex_text.encode(), re.M)
                for rel, data in self.overlay.items():
                    found.discard(rel)
                    if (data is not None and in_scope(rel) and wanted(rel)
                            and regex.search(data)):
                        found.add(rel)
            return sorted(found)

        return result

    def _git_grep(self, options: list[str], files: str) -> Callable[[], set[str]]:
        # -z: names NUL-ended and unquoted; else git quotes non-ASCII ones ("caf\303\251.c").
        # No -I: a file with a NUL byte would be left out unseen; discovery reports it.
        base = ["grep", "-l", "-z", *options,
                *([self.rev] if self.rev else []), "--"]
        prefix = f"{self.rev}:" if self.rev else ""
        if files == "include":
            commands = [[*base, ":(glob)include/**/*.h", ":(glob)arch/*/include/**/*.h"]]
        else:
            glob = "*.[ch]" if files == "all" else "*.c"
            # Two searches at once: the tree without tools/ and Documentation/, and
            # the BPF selftests (pathspec exclusions cannot be re-included).
            commands = [[*base, f":(glob)**/{glob}", ":(exclude,glob)Documentation/**",
                         ":(exclude,glob)tools/**"],
                        [*base, f":(glob){SELFTESTS}**/{glob}"]]
        procs = [(gitrun.start(self.root, *cmd), cmd) for cmd in commands]

        def wait() -> set[str]:
            found: set[str] = set()
            for proc, cmd in procs:
                out = gitrun.finish(proc, cmd, ok=(0, 1))
                found.update(os.fsdecode(name).removeprefix(prefix)
                             for name in out.split(b"\0") if name)
            return found

        return wait

    @staticmethod
    def git_grep_reaches(rel: str, files: str) -> bool:
        """True if `_git_grep`'s pathspecs for `files` take in `rel` (the index
        cache searches a changed file again only where git grep would)."""
        if files == "include":
            return rel.endswith(".h") and (rel.startswith("include/") or bool(
                _ARCH_INCLUDE.match(rel)))
        if not rel.endswith(".c" if files == "c" else (".c", ".h")):
            return False
        return rel.startswith(SELFTESTS) or not rel.startswith(EXCLUDED_TOP)

    def _gnu_grep(self, options: list[str], files: str) -> set[str] | None:
        includes = {"all": ["--include=*.c", "--include=*.h"], "c": ["--include=*.c"],
                    "include": ["--include=*.h"]}[files]
        # -r (not -R) never follows a symbolic link; -Z ends each name with NUL.  No -I,
        # as for git grep: a binary file is reported by discovery, not left out unseen.
        cmd = ["grep", "-r", "-l", "-Z", *options, *includes,
               "--exclude-dir=Documentation", "."]
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True)
        if proc.returncode not in (0, 1) and not proc.stdout:
            return None  # a grep without -P support (busybox, BSD): do it ourselves
        return {os.fsdecode(name)[2:] for name in proc.stdout.split(b"\0") if name}

    def _walk(self) -> Iterable[str]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = os.path.relpath(dirpath, self.root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            dirnames[:] = [d for d in dirnames if d not in (".git", "Documentation")]
            for name in filenames:
                rel = rel_dir + name
                # As git and grep -r: a link is not a file of the tree (it may lead
                # out of it, or to a file already listed under its own name).
                if in_scope(rel) and not os.path.islink(os.path.join(dirpath, name)):
                    yield rel

    def _python_grep(self, pattern: str, files: Iterable[str]) -> set[str]:
        regex = re.compile(pattern.encode(), re.M)
        found = set()
        for rel in files:
            try:
                if regex.search((self.root / rel).read_bytes()):
                    found.add(rel)
            except OSError:
                continue
        return found


def _options(pattern: str | Sequence[str], whole_words: bool) -> list[str]:
    """grep options for a PCRE pattern, or for fixed strings given as a list."""
    if isinstance(pattern, str):
        return ["-P", "-e", pattern]
    return ["-F", *(["-w"] if whole_words else []), *(a for s in pattern for a in ("-e", s))]


def _as_regex(pattern: str | Sequence[str], whole_words: bool) -> str:
    """The same search as a Python regular expression (overlay files, no grep)."""
    if isinstance(pattern, str):
        return pattern
    words = "|".join(map(re.escape, pattern))
    return rf"(?<!\w)(?:{words})(?!\w)" if whole_words else f"(?:{words})"
