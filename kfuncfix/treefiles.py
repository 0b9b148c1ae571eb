"""Which files of a tree to read: one fast byte search, never a Python walk of the tree.

In a git tree the search is `git grep -l -P` (threaded, reads the index's file
list); elsewhere GNU `grep -rlP`; only when neither is available does Python walk
the tree itself.  Patterns are written so that PCRE and Python's `re` agree.

Scope, as a kernel developer expects: `.c` and `.h` files, without
`Documentation/` and without `tools/` except the BPF selftests (whose
`bpf_testmod` is an out-of-tree-style kernel module), and without the BPF
programs under `tools/testing/selftests/bpf/progs/` (they call kfuncs, they
never define them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from kfuncfix.errors import KfuncfixError

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
        self.is_git = _is_git_toplevel(self.root)
        self.rev = rev
        self._catfile: subprocess.Popen | None = None
        if rev is not None:
            if not self.is_git:
                raise KfuncfixError(f"{root}: not a git repository (needed to read {rev})")
            proc = subprocess.run(["git", "-C", str(self.root), "rev-parse", "--verify", "-q",
                                   f"{rev}^{{commit}}"], capture_output=True, text=True)
            if proc.returncode:
                raise KfuncfixError(f"{root}: unknown revision {rev}")
            self.rev = proc.stdout.strip()

    def read(self, rel: str) -> bytes:
        if rel in self.overlay:
            data = self.overlay[rel]
            if data is None:
                raise FileNotFoundError(2, "No such file (deleted by the patch)", rel)
            return data
        if self.rev is not None:
            return self._read_committed(rel)
        return (self.root / rel).read_bytes()

    def exists(self, rel: str) -> bool:
        if rel in self.overlay:
            return self.overlay[rel] is not None
        if self.rev is not None:
            proc = subprocess.run(["git", "-C", str(self.root), "cat-file", "-e",
                                   f"{self.rev}:{rel}"], capture_output=True)
            return proc.returncode == 0
        return (self.root / rel).is_file()

    def _read_committed(self, rel: str) -> bytes:
        # One `git cat-file --batch` process serves every read.
        if self._catfile is None:
            self._catfile = subprocess.Popen(
                ["git", "-C", str(self.root), "cat-file", "--batch"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        proc = self._catfile
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{self.rev}:{rel}\n".encode("utf-8", "surrogateescape"))
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            raise FileNotFoundError(2, f"No such file at {self.rev[:12]}", rel)
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)  # the newline after the contents
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
        wanted = FILE_SETS[files]
        options = _options(pattern, whole_words)
        regex_text = _as_regex(pattern, whole_words)
        if self.is_git:
            wait = self._git_grep(options, files)
        else:
            found = self._gnu_grep(options, files) if shutil.which("grep") else None
            if found is None:
                found = self._python_grep(regex_text, (f for f in self._walk() if wanted(f)))
            wait = lambda: found  # noqa: E731

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
        base = ["git", "-C", str(self.root), "grep", "-l", "-z", "-I", *options,
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
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for cmd in commands]

        def wait() -> set[str]:
            found: set[str] = set()
            for proc in procs:
                out, err = proc.communicate()
                if proc.returncode not in (0, 1):
                    raise KfuncfixError(f"git grep failed in {self.root}: {_first_line(err)}")
                found.update(os.fsdecode(name).removeprefix(prefix)
                             for name in out.split(b"\0") if name)
            return found

        return wait

    def _gnu_grep(self, options: list[str], files: str) -> set[str] | None:
        includes = {"all": ["--include=*.c", "--include=*.h"], "c": ["--include=*.c"],
                    "include": ["--include=*.h"]}[files]
        # -r (not -R) never follows a symbolic link; -Z ends each name with NUL.
        cmd = ["grep", "-r", "-l", "-Z", "-I", *options, *includes,
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


def _is_git_toplevel(root: Path) -> bool:
    if not (root / ".git").exists():
        return False
    proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"],
                          capture_output=True, text=True)
    return proc.returncode == 0 and Path(proc.stdout.strip()).resolve() == root


def _first_line(err: bytes) -> str:
    text = err.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "unknown error"
