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
from kfuncfix.engine.messages import display_path, docs_message, natural_join
from kfuncfix.engine.plan import DOCUMENTATION
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import FMODRET, TreeIndex
from kfuncfix.outputs.checkseries import ExpectedFinding
from kfuncfix.outputs.formatpatch import CoverLetter
from kfuncfix.outputs.gitseries import PlannedPatch
from kfuncfix.outputs.listrules import split_by_list
from kfuncfix.outputs.maintainers import Maintainers, has_maintainers, subject_prefix
from kfuncfix.words import plural

# MAINTAINERS section names whose first word says nothing about the code.
GENERIC_FIRST_WORDS = frozenset({"NETWORKING", "NET", "DRIVERS", "GENERIC", "THE"})
# checkpatch wants a macro's value in parentheses or in do { } while (0); an
# attribute list or a declaration cannot be, and the definition patch says so.
# `MACRO_ARG_REUSE` (--strict): BPF_KFUNC(proto) declares and defines with one prototype.
MACRO_SHAPE_FINDINGS = ("COMPLEX_MACRO", "MULTISTATEMENT_MACRO_USE_DO_WHILE", "MACRO_ARG_REUSE")


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
    split_docs: bool = False,
) -> SeriesPlan:
    """The patches for this plan; `base` is the revision the plan was computed from.

    `split_docs`: the documentation of the macro in a patch of its own, right
    after the definition, so that the documentation maintainers can take it alone.
    """
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
        patches += _definition_patches(rule, result.definition, split_docs)
    # A tree tagged earlier may need only the definition: no empty rewrite patch.
    groups = [g for g in _split(maintainers, changes, split) if g]
    for group in groups:
        prefix = _prefix(root, maintainers, rule, [c.path for c in group], split, base,
                         history)
        subject, body = commit_message(rule, group, prefix, whole=len(groups) == 1)
        patches.append(PlannedPatch(subject, body, {c.path: c.new for c in group}))
    return SeriesPlan(patches, groups, series_cover(result, len(patches), split_docs))


def series_cover(result: Plan, patches: int, split_docs: bool = False) -> CoverLetter:
    """The cover letter of a series of `patches` patches carrying this plan."""
    subject, body = cover_letter(result.rule, result, patches)
    return CoverLetter(subject, _cover_body(body, result, split_docs))


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


def _definition_patches(rule: Rule, changes: list[FileChange],
                        split_docs: bool) -> list[PlannedPatch]:
    """The macro's definition, with its documentation or (split_docs) followed by it."""
    message = definition_message(rule)
    if message is None:
        raise KfuncfixError(f"rule {rule.name} has no definition_subject/definition_body")
    documentation = [c for c in changes if c.role == DOCUMENTATION]
    docs = documentation if split_docs else []
    code = [c for c in changes if c not in docs]
    files: dict[str, bytes | None] = {c.path: c.new for c in code}
    subject, body = message
    docs_text = docs_message(rule)
    if documentation and not split_docs and docs_text is not None:
        body = body.rstrip("\n") + "\n\n" + docs_text[1]  # what patch 1 also does
    patches = [PlannedPatch(subject, body, files)]
    if docs:
        if docs_text is None:
            raise KfuncfixError(f"--split-docs: rule {rule.name} has no "
                                "docs_subject/docs_body for the documentation's patch")
        patches.append(PlannedPatch(docs_text[0], docs_text[1], {c.path: c.new for c in docs}))
    return patches

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


def _cover_body(body: str, result: Plan, split_docs: bool = False) -> str:
    lines = [body.rstrip("\n")]
    docs = [c.path for c in result.definition if c.role == DOCUMENTATION]
    if docs:
        lines += ["", textwrap.fill(
            "The documentation of the macro is in a patch of its own, for the "
            "documentation maintainers." if split_docs else
            "The documentation of the macro comes with its definition in patch 1 "
            "(kfuncfix series --split-docs puts it in a patch of its own).", 72)]
    fmodret = result.left_out.get(FMODRET, [])
    if fmodret:
        names = natural_join([f"{n}()" for n in fmodret])
        lines += ["", textwrap.fill(
            f"Left out: {plural(len(fmodret), 'fmodret target')} ({names}), functions that "
            "BPF programs attach to rather than call. To include them, add \"fmodret\" "
            "to the kinds of the rule's form action (kinds = [\"kfunc\", \"dtor\", "
            "\"fmodret\"]).", 72, break_long_words=False, break_on_hyphens=False)]
    lines += ["", "Kfuncs changed, by file:", ""]
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
