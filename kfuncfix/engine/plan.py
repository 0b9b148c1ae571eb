"""What a rule would change in a tree: per-file new bytes, and what it could not do.

A `Plan` is pure data computed from a TreeIndex; nothing is written.  The
diff and apply commands print or write it, and the patch series splits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.targets import Target, Unresolved, kfunc_targets
from kfuncfix.model import TreeIndex

if TYPE_CHECKING:
    from kfuncfix.engine.rule import Rule


@dataclass(frozen=True)
class Skip:
    """Something the rule should change but did not (or a remark, in `Plan.notes`)."""

    name: str  # a kfunc, a set, or `__diag_push` for a block
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.name}: {self.reason}"


@dataclass
class FileChange:
    """The old and new bytes of one file, and what changed in it."""

    path: str
    old: bytes
    new: bytes
    kfuncs: list[str]  # kfuncs whose definition (or whose diag block) changed
    edits: list[Edit]
    sets: list[str] = field(default_factory=list)  # sets whose macros changed


@dataclass
class Plan:
    rule: Rule
    files: dict[str, FileChange]  # relative path -> change, in path order
    skipped: list[Skip]  # the rule should have changed these: exit status 1
    notes: list[Skip]  # left alone on purpose, or changed with a caveat
    already_done: list[str]  # kfuncs whose definitions already have the rule's form
    needs_definition: str | None  # macro the tree lacks and the rule's output needs

    @property
    def kfuncs(self) -> list[str]:
        """Every kfunc touched, in file order, once."""
        return list(dict.fromkeys(n for c in self.files.values() for n in c.kfuncs))

    @property
    def sets(self) -> list[str]:
        return list(dict.fromkeys(n for c in self.files.values() for n in c.sets))


def normalize_paths(paths: list[str] | None) -> list[str] | None:
    """Tree-relative POSIX paths without `./` or a trailing slash."""
    if paths is None:
        return None
    out = []
    for path in paths:
        path = path.replace("\\", "/").strip("/")
        while path.startswith("./"):
            path = path[2:]
        out.append("" if path == "." else path)
    return out


class PlanContext:
    """The state the actions of one rule share while planning."""

    def __init__(self, index: TreeIndex, rule: Rule, paths: list[str] | None) -> None:
        self.index = index
        self.rule = rule
        self.paths = normalize_paths(paths)
        targets, unresolved = kfunc_targets(index)
        self.targets: list[Target] = targets
        self.unresolved: list[Unresolved] = unresolved
        self.edits: dict[str, list[Edit]] = {}
        self.kfuncs: dict[str, list[str]] = {}
        self.sets: dict[str, list[str]] = {}
        self.rewritten: set[tuple[str, int]] = set()  # (file, func.start) given the new form
        self.skipped: list[Skip] = []
        self.notes: list[Skip] = []
        self.already_done: list[str] = []

    def in_scope(self, path: str) -> bool:
        if self.paths is None:
            return True
        return any(p == "" or path == p or path.startswith(p + "/") for p in self.paths)

    def add(self, path: str, edit: Edit, kfuncs: Sequence[str] = (),
            sets: Sequence[str] = ()) -> None:
        self.edits.setdefault(path, []).append(edit)
        names = self.kfuncs.setdefault(path, [])
        names.extend(n for n in kfuncs if n not in names)
        set_names = self.sets.setdefault(path, [])
        set_names.extend(n for n in sets if n not in set_names)

    def changed_files(self) -> list[str]:
        return sorted(p for p, edits in self.edits.items() if edits)

    def finish(self, needs_definition: str | None) -> Plan:
        files: dict[str, FileChange] = {}
        for path in self.changed_files():
            old = self.index.sources[path].data
            new = apply_edits(old, self.edits[path], path)
            if new != old:
                files[path] = FileChange(path, old, new, self.kfuncs.get(path, []),
                                         sorted(self.edits[path], key=lambda e: e.start),
                                         self.sets.get(path, []))
        return Plan(self.rule, files, self.skipped, self.notes,
                    list(dict.fromkeys(self.already_done)),
                    needs_definition if files else None)
