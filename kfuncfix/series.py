"""From a rule's plan to the patches of a series: split, order, messages, cover letter.

Pure planning: the commits are made by `outputs.gitseries` and the mail
files by `outputs.formatpatch`.  The first patch adds the macro the rule
needs when the tree lacks it; the rewrite patches follow, split as asked.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.config import SPLITS
from kfuncfix.engine import (
    FileChange,
    Plan,
    Rule,
    commit_message,
    cover_letter,
    definition_message,
)
from kfuncfix.engine.messages import display_path
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex
from kfuncfix.outputs.checkseries import ExpectedFinding
from kfuncfix.outputs.formatpatch import CoverLetter
from kfuncfix.outputs.gitseries import PlannedPatch
from kfuncfix.outputs.listrules import split_by_list
from kfuncfix.outputs.maintainers import Maintainers, has_maintainers, subject_prefix

# MAINTAINERS section names whose first word says nothing about the code.
GENERIC_FIRST_WORDS = frozenset({"NETWORKING", "NET", "DRIVERS", "GENERIC", "THE"})
# checkpatch wants a macro's value in parentheses or in do { } while (0); an
# attribute list or a declaration cannot be, and the definition patch says so.
MACRO_SHAPE_FINDINGS = ("COMPLEX_MACRO", "MULTISTATEMENT_MACRO_USE_DO_WHILE")


@dataclass
class SeriesPlan:
    patches: list[PlannedPatch]
    groups: list[list[FileChange]]  # the rewrite changes of each patch (no definition)
    cover: CoverLetter


def plan_series(
    index: TreeIndex,
    result: Plan,
    split: str,
    base: str,
    history: bool = True,
) -> SeriesPlan:
    """The patches for this plan; `base` is the revision the plan was computed from."""
    if split not in SPLITS:
        raise KfuncfixError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")
    if len(result.rules) != 1:
        names = ", ".join(r.name for r in result.rules)
        raise KfuncfixError(f"a series carries one rule; run it once per rule ({names})")
    rule = result.rule
    root = Path(index.root)
    # Read once: on a kernel tree parsing MAINTAINERS takes over a second.
    maintainers = read_maintainers(root, index.rev)
    if split in ("subsystem", "list") and maintainers is None:
        raise KfuncfixError(f"--split {split} needs a MAINTAINERS file; {root} has none")
    # The plan's own definition changes: patch 1, and the header's final bytes
    # when the rewrite touches it too.
    final = {c.path: c for c in result.changes(with_definition=True)}
    changes = [final[path] for path in result.files]
    patches: list[PlannedPatch] = []
    if result.definition:
        patches.append(_definition_patch(rule, result.definition))
    # A tree tagged earlier may need only the definition: no empty rewrite patch.
    groups = [g for g in _split(maintainers, changes, split) if g]
    for group in groups:
        prefix = _prefix(root, maintainers, rule, [c.path for c in group], split, base,
                         history)
        subject, body = commit_message(rule, group, prefix)
        patches.append(PlannedPatch(subject, body, {c.path: c.new for c in group}))
    return SeriesPlan(patches, groups, series_cover(result, len(patches)))


def series_cover(result: Plan, patches: int) -> CoverLetter:
    """The cover letter of a series of `patches` patches carrying this plan."""
    subject, body = cover_letter(result.rule, result, patches)
    return CoverLetter(subject, _cover_body(body, result))


def read_maintainers(root: Path, revision: str | None = None) -> Maintainers | None:
    """The tree's MAINTAINERS (as committed at `revision`, when given), or None when
    it has none (a small or trimmed tree)."""
    if not has_maintainers(root, revision):
        return None
    return Maintainers(root, revision)


def expected_findings(rule: Rule) -> list[ExpectedFinding]:
    """The checkpatch findings the definition patch explains: the shape of its macros."""
    if rule.definition is None:
        return []
    names = re.findall(r"^#define[ \t]+(\w+)", rule.definition.text, re.MULTILINE)
    return [ExpectedFinding(kind, re.compile(rf"^\+#define[ \t]+{re.escape(name)}\b"))
            for name in names for kind in MACRO_SHAPE_FINDINGS]


def _definition_patch(rule: Rule, changes: list[FileChange]) -> PlannedPatch:
    message = definition_message(rule)
    if message is None:
        raise KfuncfixError(f"rule {rule.name} has no definition_subject/definition_body")
    files: dict[str, bytes | None] = {c.path: c.new for c in changes}
    return PlannedPatch(message[0], message[1], files)

def _split(maintainers: Maintainers | None, changes: list[FileChange],
           split: str) -> list[list[FileChange]]:
    if split == "none":
        return [changes]
    if split == "file" or maintainers is None:
        return [[c] for c in changes]
    by_path = {c.path: c for c in changes}
    groups = split_by_list(maintainers, by_path) if split == "list" else maintainers.split(by_path)
    return [[by_path[p] for p in paths] for paths in groups.values()]


def _prefix(root: Path, maintainers: Maintainers | None, rule: Rule, paths: Sequence[str],
            split: str, base: str, history: bool) -> str:
    """`bpf:` for the whole tree; per group, what the history of those files uses."""
    default = rule.series.commit_prefix
    if split == "none":
        return default
    section = maintainers.section_of(paths[0]) if maintainers and paths else None
    fallback = (section_prefix(section.name) if section else None) or default.rstrip(":")
    if not history:
        return fallback + ":"
    return subject_prefix(root, list(paths), fallback, revision=base) + ":"


def section_prefix(name: str) -> str | None:
    """A subject prefix from a MAINTAINERS section name, for trees without history.

    `NETFILTER` -> `netfilter`, `CONTROL GROUP (CGROUP)` -> `cgroup` (the short
    name in parentheses is what subjects use), `NETWORKING [TCP]` -> `tcp`.
    """
    short = re.search(r"\(([A-Za-z0-9]+)\)", name)
    if short:
        return short.group(1).lower()
    words = re.findall(r"[A-Za-z0-9]+", name)
    bracket = re.search(r"\[([A-Za-z0-9 /]+)\]", name)
    if words and words[0].upper() in GENERIC_FIRST_WORDS:
        # `THE REST` says nothing: the caller falls back to the rule's prefix.
        return re.split(r"[ /]", bracket.group(1))[0].lower() if bracket else None
    return words[0].lower() if words else None


def _cover_body(body: str, result: Plan) -> str:
    lines = [body.rstrip("\n"), "", "Kfuncs changed, by file:", ""]
    for change in result.files.values():
        names = ", ".join(f"{n}()" for n in change.kfuncs) or ", ".join(change.sets) or "-"
        lines += textwrap.wrap(f"{display_path(change.path)}: {names}", 72, initial_indent="  ",
                               subsequent_indent="    ", break_long_words=False,
                               break_on_hyphens=False)
    left = [*result.skipped, *result.notes]
    if left:
        lines += ["", "Left alone, with the reason:", ""]
        lines += [f"  {s}" for s in left]
    return "\n".join(lines) + "\n"
