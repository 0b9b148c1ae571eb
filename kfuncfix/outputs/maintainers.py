"""Who gets each patch, which MAINTAINERS section owns a file, and a subsystem's prefix.

The tree's own scripts/get_maintainer.pl is the reference and is used when it
and perl are there.  Trees without it (test trees, trimmed copies) get a
reader of MAINTAINERS that follows the same rules: X: before F:, F: globs
where a trailing slash means "and below" and a pattern without one matches
at its own depth only, N: regexes on the path, K: regexes on patch text,
most specific section first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.gitseries import open_repo, run_git

SCRIPT = "scripts/get_maintainer.pl"
_ENTRY = re.compile(r"^([A-Z]):\s*(.*?)\s*$")
# Lines of a patch that name the files it touches: `diff --git a/x b/y`, where git
# C-quotes a name with non-ASCII or control bytes and leaves spaces as they are.
_DIFF_GIT = "diff --git "
_NAME = r'"(?:[^"\\]|\\.)*"|\S+'
_DIFF_GIT_NAMES = re.compile(rf"({_NAME}) ({_NAME})")
_C_ESCAPE = re.compile(r'\\([0-7]{3}|.)')
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
# `bpf:`, `selftests/bpf:`, `bpf, sockmap:` but not a sentence that has a colon.
_PREFIX = re.compile(r"^([\w./+-]+(?:, ?[\w./+-]+)*):\s")


@dataclass(frozen=True)
class Recipients:
    """Addresses for a mail's To: and Cc: headers."""

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()

    def merge(self, *others: Recipients) -> Recipients:
        """All addresses once each, To before Cc: someone in any To is not also Cc'd."""
        to = _unique([self.to, *(o.to for o in others)], set())
        cc = _unique([self.cc, *(o.cc for o in others)], {_key(a) for a in to})
        return Recipients(to, cc)


def _key(address: str) -> str:
    return (parseaddr(address)[1] or address).strip().lower()


def _unique(groups: Iterable[Iterable[str]], seen: set[str]) -> tuple[str, ...]:
    out = []
    for group in groups:
        for address in group:
            if address.strip() and _key(address) not in seen:
                seen.add(_key(address))
                out.append(address.strip())
    return tuple(out)


@dataclass
class Section:
    """One MAINTAINERS section with the entries kfuncfix uses."""

    name: str
    entries: list[tuple[str, str]] = field(default_factory=list)

    def values(self, kind: str) -> list[str]:
        return [value for k, value in self.entries if k == kind]

    @property
    def catch_all(self) -> bool:
        """THE REST: its maintainer is the chief penguin, whom get_maintainer leaves out."""
        return "*" in self.values("F")

    @property
    def lists(self) -> list[str]:
        out = []
        for value in self.values("L"):
            if "subscribers-only" in value:
                continue  # get_maintainer skips these unless asked
            out.append(value.split(" (", 1)[0].strip())
        return out


@dataclass(frozen=True)
class _Glob:
    """An F: or X: pattern as get_maintainer.pl reads it."""

    regex: re.Pattern[str]
    below: bool  # a trailing slash: the directory and everything under it
    slashes: int
    depth: int  # get_maintainer's ranking: deeper patterns are more specific
    length: int

    @classmethod
    def compile(cls, pattern: str, tree: Path) -> _Glob:
        if not pattern.endswith("/") and (tree / pattern).is_dir():
            pattern += "/"  # a directory named without its slash still means "and below"
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        below = pattern.endswith("/")
        depth = -1 if pattern.startswith("*") else pattern.count("/") + (0 if below else 1)
        return cls(re.compile(regex), below, pattern.count("/"), depth, len(pattern))

    def matches(self, path: str) -> bool:
        # Without a trailing slash a pattern matches files at its own depth only.
        return bool(self.regex.match(path)) and (self.below or path.count("/") == self.slashes)


class Maintainers:
    """The MAINTAINERS file of a tree, read once."""

    def __init__(self, tree: Path | str) -> None:
        self.tree = Path(tree)
        path = self.tree / "MAINTAINERS"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise KfuncfixError(f"cannot read {path}: {exc.strerror}") from exc
        self.sections = _parse(text)
        self._globs = [
            (
                [_Glob.compile(v, self.tree) for v in s.values("F")],
                [_Glob.compile(v, self.tree) for v in s.values("X")],
            )
            for s in self.sections
        ]

    def sections_for(self, path: str) -> list[Section]:
        """Sections that cover `path`, most specific (deepest, longest F:) first."""
        ranked = []
        pairs = zip(self.sections, self._globs, strict=True)
        for order, (section, (files, excludes)) in enumerate(pairs):
            if any(x.matches(path) for x in excludes):
                continue
            scores = [(g.depth, g.length) for g in files if g.matches(path)]
            if any(_search(rx, path) for rx in section.values("N")):
                scores.append((0, 0))
            if scores:
                depth, length = max(scores)
                ranked.append((-depth, -length, order, section))
        return [entry[-1] for entry in sorted(ranked, key=lambda e: e[:3])]

    def section_of(self, path: str) -> Section | None:
        found = self.sections_for(path)
        return found[0] if found else None

    def split(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """Paths grouped by their most specific section, in first-seen order."""
        groups: dict[str, list[str]] = {}
        for path in paths:
            section = self.section_of(path)
            groups.setdefault(section.name if section else "", []).append(path)
        return groups

    def keyword_sections(self, lines: Iterable[str]) -> list[Section]:
        """Sections whose K: regex matches one of `lines`."""
        lines = list(lines)
        return [
            s for s in self.sections
            if any(_search(k, line) for k in s.values("K") for line in lines)
        ]

    def recipients(self, paths: Iterable[str], keyword_lines: Iterable[str] = ()) -> Recipients:
        sections: list[Section] = []
        for path in paths:
            sections.extend(s for s in self.sections_for(path) if s not in sections)
        sections.extend(s for s in self.keyword_sections(keyword_lines) if s not in sections)
        return Recipients(
            to=_unique([s.values("M") for s in sections if not s.catch_all], set()),
            cc=_unique([s.values("R") + s.lists for s in sections], set()),
        ).merge()


def _parse(text: str) -> list[Section]:
    sections: list[Section] = []
    current: Section | None = None
    title = ""
    for line in text.splitlines():
        entry = _ENTRY.match(line)
        if entry:
            if current is None:
                current = Section(title)
                sections.append(current)
            current.entries.append((entry[1], entry[2]))
        elif line.strip():
            current, title = None, line.strip()
        else:
            current = None
    return sections


def _search(pattern: str, text: str) -> bool:
    # get_maintainer applies N: and K: as perl /x regexes; skip what Python cannot read.
    try:
        return re.search(pattern, text, re.VERBOSE) is not None
    except re.error:
        return False


def patch_paths_and_keyword_lines(patch_text: str) -> tuple[list[str], list[str]]:
    """Files a patch touches, and the lines K: applies to (header, then +/- lines)."""
    paths: list[str] = []
    lines: list[str] = []
    in_diff = False
    for line in patch_text.splitlines():
        names = _diff_git_names(line)
        if names:
            in_diff = True
            paths.extend(n for n in names if n not in paths)
        elif not in_diff or (line[:1] in "+-" and not line.startswith(("+++", "---"))):
            lines.append(line)
    return paths, lines


def _diff_git_names(line: str) -> list[str]:
    """The two paths of a `diff --git` line (without a/ and b/), or [] for other lines."""
    if not line.startswith(_DIFF_GIT):
        return []
    rest = line[len(_DIFF_GIT):].rstrip("\r\n")
    # Unquoted, a name may hold spaces: git writes the same name twice unless renamed.
    half = (len(rest) - 1) // 2
    if (rest[:2], rest[half:half + 3]) == ("a/", " b/") and rest[2:half] == rest[half + 3:]:
        return [rest[2:half]] * 2
    pair = _DIFF_GIT_NAMES.fullmatch(rest)
    if pair is None:
        return []
    names = [_unquote(n) for n in pair.groups()]
    if not (names[0].startswith("a/") and names[1].startswith("b/")):
        return []
    return [names[0][2:], names[1][2:]]


def _unquote(name: str) -> str:
    """A name as git C-quotes it ("caf\\303\\251.c"), back to the path it stands for."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    raw = bytearray()
    pos = 1
    for escape in _C_ESCAPE.finditer(name, 1, len(name) - 1):
        raw += os.fsencode(name[pos:escape.start()])
        code = escape.group(1)
        raw.append(int(code, 8) if len(code) == 3 else _C_ESCAPES.get(code, ord(code)))
        pos = escape.end()
    raw += os.fsencode(name[pos:len(name) - 1])
    return os.fsdecode(bytes(raw))


def has_get_maintainer(tree: Path | str) -> bool:
    return shutil.which("perl") is not None and (Path(tree) / SCRIPT).is_file()


def recipients_for_paths(tree: Path | str, paths: Sequence[str]) -> Recipients:
    """To (M:) and Cc (R:, L:) for files of the tree, like `get_maintainer.pl -f`."""
    tree = Path(tree)
    if not has_get_maintainer(tree):
        return Maintainers(tree).recipients(paths)
    missing = [p for p in paths if not (tree / p).is_file()]
    if missing:
        # get_maintainer.pl -f stops at a missing file; patch mode handles new ones.
        raise KfuncfixError(
            f"not in {tree}: {', '.join(missing)}; use the patch files to find recipients"
        )
    # `--` ends the options: a file named `--foo.c` is a file, not an option.
    return _run_script(tree, ["-f", "--", *paths])


def recipients_for_patch(tree: Path | str, patch_file: Path | str) -> Recipients:
    """To and Cc for one patch file, like `get_maintainer.pl PATCH`."""
    tree, patch_file = Path(tree), Path(patch_file).resolve()
    if has_get_maintainer(tree):
        return _run_script(tree, ["--", str(patch_file)])
    try:
        # surrogateescape: a name git left unquoted keeps its exact bytes.
        text = patch_file.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise KfuncfixError(f"cannot read {patch_file}: {exc.strerror}") from exc
    paths, lines = patch_paths_and_keyword_lines(text)
    if not paths:
        raise KfuncfixError(f"{patch_file} has no diff")
    return Maintainers(tree).recipients(paths, lines)


def _run_script(tree: Path, inputs: list[str]) -> Recipients:
    """Run get_maintainer.pl once per role, since one plain listing does not say who is who."""
    script = tree / SCRIPT
    source = script.read_text(encoding="utf-8", errors="replace")
    common = ["--no-git", "--no-git-fallback", "--no-rolestats"]
    # Options that older trees lack; passing an unknown one makes the script stop.
    common += [f"--no-{o}" for o in ("substatus", "fixes") if f"'{o}!'" in source]
    runs = {"m": ["--m", "--no-r", "--no-l"], "r": ["--no-m", "--r", "--no-l"],
            "l": ["--no-m", "--no-r", "--l"]}
    # The three runs are independent and each takes about a second on a kernel
    # tree (it reads all of MAINTAINERS): run them side by side.
    running = {
        role: subprocess.Popen(["perl", str(script), *common, *flags, *inputs], cwd=tree,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for role, flags in runs.items()
    }
    found: dict[str, list[str]] = {}
    failures = []
    for role, process in running.items():
        out, err = process.communicate()
        if process.returncode != 0:
            failures.append(err.strip())
        found[role] = [line.strip() for line in out.splitlines() if line.strip()]
    if failures:
        raise KfuncfixError(f"{SCRIPT} failed: {failures[0]}")
    return Recipients(tuple(found["m"]), tuple(found["r"] + found["l"])).merge()


def subject_prefix(
    repo_path: Path | str, paths: Sequence[str], default: str, *, limit: int = 200,
    revision: str = "HEAD",
) -> str:
    """The most common `prefix:` of recent commits touching `paths` (without the colon).

    Ties go to the prefix used most recently; `default` when history has none.
    """
    repo = open_repo(repo_path)
    # Literal pathspecs: a file named `*.c` is that file, not every .c file.
    log = run_git(repo, ["log", f"-n{limit}", "--no-merges", "--format=%s", revision, "--",
                         *(f":(literal){p}" for p in paths)])
    prefixes = [m[1] for m in map(_PREFIX.match, log.splitlines()) if m]
    if not prefixes:
        return default
    counts = Counter(prefixes)
    return max(counts, key=lambda p: (counts[p], -prefixes.index(p)))
