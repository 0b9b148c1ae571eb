"""What rules would change in a tree: one `Plan`, the only product of planning.

A `Plan` is pure data computed from a TreeIndex; nothing is written.  It
holds every file change -- the rewrite of the code and, where the tree lacks
the macro a rule uses, the definition and documentation changes -- and one
`Result` per target: changed, already done, skipped (with the reason) or a
note.  Every command renders it: `check` as findings, `diff` as a diff,
`apply` as writes, `series` and `apply --branch` as commits.

Actions speak to the planner through a `Recorder` (edit, skip, note), in the
spirit of LibCST's codemod `warn()`; they read only the frozen `ActionInputs`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.targets import Target, Unresolved
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex

if TYPE_CHECKING:
    from kfuncfix.engine.rule import Rule



class Status(str, Enum):
    """A result's status, one per target and rule (a str: JSON and text show the value)."""

    CHANGED = "changed"
    ALREADY = "already-done"
    SKIPPED = "skipped"  # the rule should have changed it and could not: exit 1
    NOTE = "note"  # left alone on purpose, or changed with a caveat

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


CHANGED, ALREADY, SKIPPED, NOTE = Status.CHANGED, Status.ALREADY, Status.SKIPPED, Status.NOTE

# What a file change is for, so that outputs can tell them apart.
REWRITE = "rewrite"
DEFINITION = "definition"  # adds the macro a rule's output uses to its header
DOCUMENTATION = "documentation"  # documents that macro


@dataclass(frozen=True)
class Skip:
    """Something a rule should change but did not (or a remark, in `Plan.notes`)."""

    name: str  # a kfunc, a set, or `__diag_push` for a block
    file: str
    line: int  # 0: about the file as a whole (a rule's own TOML)
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.name}: {self.reason}"


@dataclass(frozen=True)
class Result:
    """What one rule did about one target (a definition, a set, a block, a file)."""

    rule: str
    status: Status
    name: str
    file: str
    line: int
    message: str  # for CHANGED: the finding `check` prints; otherwise the reason
    severity: str = "warning"  # "error" or "warning", for CHANGED findings
    kfunc: str | None = None
    edits: tuple[Edit, ...] = field(default=(), compare=False)  # the fix, for CHANGED
    lint: bool = True  # `check` shows it (False: a detail of the fix, such as an include)

    def skip(self) -> Skip:
        return Skip(self.name, self.file, self.line, self.message)


@dataclass
class FileChange:
    """The old and new bytes of one file, and what changed in it."""

    path: str
    old: bytes
    new: bytes
    kfuncs: list[str]  # kfuncs whose definition (or whose diag block) changed
    edits: list[Edit]
    sets: list[str] = field(default_factory=list)  # sets whose macros changed
    role: str = REWRITE


@dataclass(frozen=True)
class ActionInputs:
    """What an action may read: frozen, the same for every action of a run."""

    index: TreeIndex
    rule: Rule
    targets: tuple[Target, ...]  # kfunc definitions of the kinds the rule rewrites
    paths: tuple[str, ...] | None  # tree-relative scope; None: the whole tree
    pending: Mapping[str, tuple[Edit, ...]]  # edits planned by earlier actions and rules
    # Reads other files of the tree at the index's revision (a header no rule
    # changes); None where nobody gave one.
    read: Callable[[str], bytes | None] | None = None

    def in_scope(self, path: str) -> bool:
        if self.paths is None:
            return True
        return any(p == "" or path == p or path.startswith(p + "/") for p in self.paths)

    def changed_files(self) -> list[str]:
        return sorted(p for p, edits in self.pending.items() if edits)

    def edited_at(self, path: str, offset: int) -> bool:
        """An earlier action's edit covers this offset of the file."""
        edits = self.pending.get(path, ())  # ordered by position, not overlapping
        at = bisect.bisect_right(self._starts(path), offset)
        return any(e.start <= offset <= e.end for e in edits[max(at - 1, 0):at + 1])

    def _starts(self, path: str) -> list[int]:
        cache = self.__dict__.setdefault("_start_cache", {})
        if path not in cache:
            cache[path] = [e.start for e in self.pending.get(path, ())]
        return cache[path]  # type: ignore[no-any-return]


@dataclass
class _Unit:
    """Edits recorded together: they are kept or dropped as one."""

    path: str
    edits: list[Edit]
    kfuncs: list[str]
    sets: list[str]
    result: Result | None


class Recorder:
    """What one action of one rule reports; the planner decides what is kept."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.units: list[_Unit] = []
        self.results: list[Result] = []

    def edit(self, path: str, edits: Sequence[Edit], *, kfuncs: Sequence[str] = (),
             sets: Sequence[str] = (), finding: str | None = None, name: str = "",
             line: int = 0, severity: str = "warning") -> None:
        """Planned edits of one target; `finding` is what `check` says about it."""
        result = None
        if finding is not None:
            label = name or ", ".join(kfuncs) or ", ".join(sets)
            result = Result(self.rule.name, CHANGED, label, path, line, finding, severity,
                            kfuncs[0] if kfuncs else None, tuple(edits))
        self.units.append(_Unit(path, list(edits), list(kfuncs), list(sets), result))

    def skip(self, name: str, file: str, line: int, reason: str, *, kfunc: str | None = None,
             severity: str = "warning", lint: bool = True) -> None:
        """The rule should change this and cannot: the run exits 1 (`check` shows it)."""
        self.results.append(Result(self.rule.name, SKIPPED, name, file, line, reason,
                                   severity, kfunc, lint=lint))

    def note(self, name: str, file: str, line: int, reason: str) -> None:
        self.results.append(Result(self.rule.name, NOTE, name, file, line, reason))

    def done(self, name: str, file: str, line: int) -> None:
        self.results.append(Result(self.rule.name, ALREADY, name, file, line, "already done"))


@dataclass(frozen=True)
class Plan:
    rules: tuple[Rule, ...]
    files: dict[str, FileChange]  # the rewrite: relative path -> change, in path order
    results: list[Result]
    # Where the tree lacks a macro the changes use: adding it (and documenting
    # it), as ordinary file changes; `changes(True)` merges them in.
    definition: list[FileChange] = field(default_factory=list)
    needs_definition: str | None = None  # that macro's name
    # Rules whose output the tree holds already (ALREADY results) while it lacks
    # their macro: rule name -> the macro.  Such a tree does not compile.
    undefined_in_use: dict[str, str] = field(default_factory=dict)
    definition_error: str | None = None  # why the definition change cannot be made
    # Kfuncs of the tree registered only as a kind the rule leaves out (fmodret
    # targets, unless its form action's `kinds` adds them): kind -> names.
    left_out: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rule(self) -> Rule:
        return self.rules[0]

    @property
    def skipped(self) -> list[Skip]:
        return [r.skip() for r in self.results if r.status == SKIPPED]

    @property
    def notes(self) -> list[Skip]:
        return [r.skip() for r in self.results if r.status == NOTE]

    @property
    def findings(self) -> list[Result]:
        return [r for r in self.results if r.status == CHANGED]

    @property
    def already_done(self) -> list[str]:
        return list(dict.fromkeys(r.name for r in self.results if r.status == ALREADY))

    @property
    def kfuncs(self) -> list[str]:
        """Every kfunc touched, in file order, once."""
        return list(dict.fromkeys(n for c in self.files.values() for n in c.kfuncs))

    @property
    def sets(self) -> list[str]:
        return list(dict.fromkeys(n for c in self.files.values() for n in c.sets))

    def changes(self, with_definition: bool) -> list[FileChange]:
        """The rewrite, and with `with_definition` the definition patch merged in.

        The documentation note comes first: when an apply stops between the
        two, the next run still lacks the macro and adds it, and does not
        repeat the note (which names the macro).  When the header is one of
        the rewritten files, its edits are merged into one change.
        """
        changes = list(self.files.values())
        if with_definition and self.definition_error:
            raise KfuncfixError(self.definition_error)
        if not with_definition or not self.definition:
            return changes
        first = [c for c in self.definition if c.role == DOCUMENTATION
                 and c.path not in self.files]
        merged: list[FileChange] = []
        for added in (c for c in self.definition if c.role == DEFINITION):
            same = self.files.get(added.path)
            if same is None:
                merged.append(added)
                continue
            edits = sorted([*same.edits, *added.edits], key=lambda e: e.start)
            merged.append(FileChange(same.path, same.old,
                                     apply_edits(same.old, edits, same.path),
                                     same.kfuncs, edits, same.sets))
        done = {c.path for c in merged}
        return [*first, *merged, *(c for c in changes if c.path not in done)]


def normalize_paths(paths: Sequence[str] | None) -> tuple[str, ...] | None:
    """Tree-relative POSIX paths without `./` or a trailing slash."""
    if paths is None:
        return None
    out = []
    for path in paths:
        path = path.replace("\\", "/").strip("/")
        while path.startswith("./"):
            path = path[2:]
        out.append("" if path == "." else path)
    return tuple(out)


__all__ = ["ActionInputs", "FileChange", "Plan", "Recorder", "Result", "Skip", "Unresolved"]
