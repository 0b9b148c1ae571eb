"""Who gets each patch, which MAINTAINERS section owns a file, and a subsystem's prefix.

The tree's own scripts/get_maintainer.pl is the reference and is used when it
and perl are there.  Trees without it (test trees, trimmed copies) get a
reader of MAINTAINERS that follows the same rules: X: before F:, F: globs
where a trailing slash means "and below" and a pattern without one matches
at its own depth only, N: regexes on the path, K: regexes on patch text,
most specific section first.

`series` reads only the tree as committed at its base, and so does the
script it runs: with a revision, get_maintainer.pl and what it reads
(MAINTAINERS, .mailmap, .get_maintainer.conf/.ignore, the directory layout its
F: patterns are checked against) are taken from that commit into a scratch
directory and run there, so an untracked or modified script in the worktree
never runs.  Every address that comes back is checked as one mail address.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from kfuncfix.errors import KfuncfixError
from kfuncfix.gitpath import diff_git_names
from kfuncfix.mailheaders import check_address
from kfuncfix.outputs.gitseries import open_repo, run_git
from kfuncfix.safematch import PatternError, safe_pattern
from kfuncfix.snapshot import at_revision

SCRIPT = "scripts/get_maintainer.pl"
# What get_maintainer.pl reads besides the files named to it (which_conf looks
# in `.` and `.scripts`).  It also checks each F:/X: pattern with `-d` (after
# turning `.` into `\.`, `*` into `.*`, `?` into `.`) to add a missing trailing
# slash; the directories for which that can succeed are made in the scratch
# copy: some 200 on Linux 6.1, not its 5,000 (mkdir is not free).
_DIR_PATTERN = re.compile(r"^[FX]:[ \t]*([^.*?\s]*[^/.*?\s])[ \t]*$", re.M)
SCRIPT_INPUTS = (SCRIPT, "MAINTAINERS", ".mailmap", ".get_maintainer.conf",
                 ".get_maintainer.ignore", ".scripts/.get_maintainer.conf",
                 ".scripts/.get_maintainer.ignore")
_ENTRY = re.compile(r"^([A-Z]):\s*(.*?)\s*$")
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
    def compile(cls, pattern: str, is_dir: Callable[[str], bool]) -> _Glob:
        if not pattern.endswith("/") and is_dir(pattern):
            pattern += "/"  # a directory named without its slash still means "and below"
        # fnmatch's translation matches `*a*a*...*b` in linear time (atomic groups), where
        # `.*a.*a...` backtracks for ever; `[` is a literal to get_maintainer.pl, and the
        # trailing `*` keeps re.match's "the path starts so" (F: net/ covers net/x/y.c).
        regex = re.compile(fnmatch.translate(pattern.replace("[", "[[]") + "*"))
        below = pattern.endswith("/")
        depth = -1 if pattern.startswith("*") else pattern.count("/") + (0 if below else 1)
        return cls(regex, below, pattern.count("/"), depth, len(pattern))

    def matches(self, path: str) -> bool:
        # Without a trailing slash a pattern matches files at its own depth only.
        return bool(self.regex.match(path)) and (self.below or path.count("/") == self.slashes)


class Maintainers:
    """The MAINTAINERS file of a tree (of the worktree, or as committed at `revision`)."""

    def __init__(self, tree: Path | str, revision: str | None = None) -> None:
        self.tree = Path(tree)
        if revision is None:
            path = self.tree / "MAINTAINERS"
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise KfuncfixError(f"cannot read {path}: {exc.strerror}") from exc

            def is_dir(pattern: str) -> bool:
                return (self.tree / pattern).is_dir()
        else:
            data = committed_files(self.tree, revision, ["MAINTAINERS"]).get("MAINTAINERS")
            if data is None:
                raise KfuncfixError(f"{self.tree} has no MAINTAINERS at {revision}")
            text = data.decode("utf-8", "replace")
            dirs = set(committed_dirs(self.tree, revision))

            def is_dir(pattern: str) -> bool:
                return pattern.rstrip("/") in dirs
        self.sections = _parse(text)
        self._globs = [
            (
                [_Glob.compile(v, is_dir) for v in s.values("F")],
                [_Glob.compile(v, is_dir) for v in s.values("X")],
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
            to=_unique([map(format_email, s.values("M")) for s in sections if not s.catch_all],
                       set()),
            cc=_unique([map(format_email, s.values("R") + s.lists) for s in sections], set()),
        ).merge()


_NAME_ADDR = re.compile(r"(.*?)\s*<([^<>]*)>\s*\Z")


def format_email(value: str) -> str:
    """A MAINTAINERS entry as get_maintainer.pl prints it: a name with specials is quoted.

    `Pan, Xinhui <x@amd.com>` unquoted would be two addresses in a To: header.
    """
    found = _NAME_ADDR.match(value.strip())
    if found is None:
        return value.strip()
    name, address = found[1].strip().strip('"'), found[2].strip()
    if re.search(r"[^\w \-]", name, re.ASCII):
        name = '"' + re.sub(r'(?<!\\)"', r'\\"', name) + '"'
    return f"{name} <{address}>" if name else address


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
    # get_maintainer applies N: and K: as perl /x regexes; the tree wrote them, so they
    # run on the linear-time engine (`(a+)+b` must not hang a run); skip what it cannot read.
    try:
        return safe_pattern(pattern, verbose=True).search(text)
    except PatternError:
        return False


def patch_paths_and_keyword_lines(patch_text: str) -> tuple[list[str], list[str]]:
    """Files a patch touches, and the lines K: applies to (header, then +/- lines)."""
    paths: list[str] = []
    lines: list[str] = []
    in_diff = False
    for line in patch_text.splitlines():
        names = diff_git_names(line)
        if names:
            in_diff = True
            paths.extend(n for n in names if n not in paths)
        elif not in_diff or (line[:1] in "+-" and not line.startswith(("+++", "---"))):
            lines.append(line)
    return paths, lines


def has_get_maintainer(tree: Path | str, revision: str | None = None) -> bool:
    """perl is there and so is the script: in the worktree, or committed at `revision`."""
    if shutil.which("perl") is None:
        return False
    if revision is None:
        return (Path(tree) / SCRIPT).is_file()
    return _script_checkout(Path(tree), revision) is not None


def has_maintainers(tree: Path | str, revision: str | None = None) -> bool:
    """The tree has a MAINTAINERS file: in the worktree, or committed at `revision`."""
    if revision is None:
        return (Path(tree) / "MAINTAINERS").is_file()
    return "MAINTAINERS" in committed_files(Path(tree), revision, ["MAINTAINERS"])


def worktree_script_note(tree: Path | str, revision: str) -> str | None:
    """What to tell the user when the worktree's script is not the one committed at revision."""
    tree = Path(tree)
    here = tree / SCRIPT
    if not here.is_file():
        return None
    committed = committed_files(tree, revision, [SCRIPT]).get(SCRIPT)
    if committed == here.read_bytes():
        return None
    state = "untracked at" if committed is None else "modified since"
    ran = ("the built-in MAINTAINERS reader was used" if committed is None
           else f"the {SCRIPT} committed at {revision} ran")
    return f"{SCRIPT} in the worktree is {state} {revision}: it was not run; {ran}"


def recipients_for_paths(tree: Path | str, paths: Sequence[str],
                         revision: str | None = None) -> Recipients:
    """To (M:) and Cc (R:, L:) for files of the tree, like `get_maintainer.pl -f`.

    With `revision`, MAINTAINERS and the script are those committed there: the
    script runs in a scratch checkout of its blob (never the worktree's), else the
    built-in reader reads the committed MAINTAINERS.
    """
    tree = Path(tree)
    if revision is not None:
        checkout = _script_checkout(tree, revision) if shutil.which("perl") else None
        if checkout is None:
            return Maintainers(tree, revision).recipients(paths)
        for path in paths:
            # -f wants each file to exist; only the names matter to MAINTAINERS' F: lines.
            place = checkout / check_tree_name(path)
            if not place.exists():
                place.parent.mkdir(parents=True, exist_ok=True)
                place.touch()
        return _run_script(checkout, ["-f", "--", *paths], ["--no-tree"])
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


def recipients_for_patch(
    tree: Path | str, patch_file: Path | str, revision: str | None = None
) -> Recipients:
    """To and Cc for one patch file, like `get_maintainer.pl PATCH`.

    With `revision`, the script and MAINTAINERS are those committed there
    (the worktree is not read); without, those of the worktree.
    """
    tree, patch_file = Path(tree), Path(patch_file).resolve()
    if revision is not None and shutil.which("perl") is not None:
        checkout = _script_checkout(tree, revision)
        if checkout is not None:
            return _run_script(checkout, ["--", str(patch_file)], ["--no-tree"])
    elif has_get_maintainer(tree):
        return _run_script(tree, ["--", str(patch_file)])
    try:
        # surrogateescape: a name git left unquoted keeps its exact bytes.
        text = patch_file.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise KfuncfixError(f"cannot read {patch_file}: {exc.strerror}") from exc
    paths, lines = patch_paths_and_keyword_lines(text)
    if not paths:
        raise KfuncfixError(f"{patch_file} has no diff")
    return Maintainers(tree, revision).recipients(paths, lines)


def check_tree_name(path: str) -> str:
    """A plain relative path (no `..`, no `.git`, not absolute): safe to place in a scratch
    checkout."""
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        raise KfuncfixError(f"{path!r} is not a plain relative path inside the tree")
    return path


def _run_script(workdir: Path, inputs: list[str], extra: Sequence[str] = ()) -> Recipients:
    """Run get_maintainer.pl once per role, since one plain listing does not say who is who."""
    script = workdir / SCRIPT
    source = script.read_text(encoding="utf-8", errors="replace")
    common = ["--no-git", "--no-git-fallback", "--no-rolestats", *extra]
    # Options that older trees lack; passing an unknown one makes the script stop.
    common += [f"--no-{o}" for o in ("substatus", "fixes") if f"'{o}!'" in source]
    runs = {"m": ["--m", "--no-r", "--no-l"], "r": ["--no-m", "--r", "--no-l"],
            "l": ["--no-m", "--no-r", "--l"]}
    # The three runs are independent and each takes about a second on a kernel
    # tree (it reads all of MAINTAINERS): run them side by side.
    running = {
        role: subprocess.Popen(["perl", str(script), *common, *flags, *inputs], cwd=workdir,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               errors="replace")
        for role, flags in runs.items()
    }
    found: dict[str, list[str]] = {}
    failures = []
    for role, process in running.items():
        out, err = process.communicate()
        if process.returncode != 0:
            failures.append(err.strip())
        # What the script prints goes into To:/Cc: headers: one address per line, checked.
        found[role] = [check_address(line, f"{SCRIPT} output")
                       for line in out.splitlines() if line.strip()]
    if failures:
        raise KfuncfixError(f"{SCRIPT} failed: {failures[0]}")
    return Recipients(tuple(found["m"]), tuple(found["r"] + found["l"])).merge()


# (tree, commit) -> a scratch directory holding the committed script and its inputs,
# or None when that commit has no script.  Kept for the process: a series asks once
# per patch, and writing the directory layout of a kernel tree takes a moment.
_CHECKOUTS: dict[tuple[Path, str], tempfile.TemporaryDirectory[str] | None] = {}


def _script_checkout(tree: Path, revision: str) -> Path | None:
    """The committed get_maintainer.pl with what it reads, in a scratch directory."""
    snapshot = at_revision(tree, revision)
    sha = snapshot.rev
    assert sha is not None
    key = (tree.resolve(), sha)
    if key not in _CHECKOUTS:
        blobs = snapshot.committed(SCRIPT_INPUTS)
        scratch = None
        if SCRIPT in blobs:
            scratch = tempfile.TemporaryDirectory(prefix="kfuncfix-get-maintainer-")
            root = Path(scratch.name)
            dirs = set(snapshot.directories())
            named = set(_DIR_PATTERN.findall(
                blobs.get("MAINTAINERS", b"").decode("utf-8", "replace")))
            for directory in sorted(named & dirs):
                (root / directory).mkdir(parents=True, exist_ok=True)
            for path, data in blobs.items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(data)
        _CHECKOUTS[key] = scratch
    found = _CHECKOUTS[key]
    return None if found is None else Path(found.name)


def committed_files(tree: Path, revision: str, paths: Sequence[str]) -> dict[str, bytes]:
    """The blobs at `revision` of those of `paths` that are regular files there."""
    return at_revision(tree, revision).committed(paths)


def committed_dirs(tree: Path, revision: str) -> list[str]:
    """Every directory of the tree at `revision` (safe names only: no `..`, no `.git`)."""
    return at_revision(tree, revision).directories()


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
