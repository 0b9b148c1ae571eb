"""Where a rule may change a file, and a check of a plan's edits against it.

Shared by the whole-tree tests.  The spans a rule may touch come from its
actions' own declarations (`Action.spans`), worked out on the tree as
discovery saw it before the rule ran, so that any action -- built in or new
-- is checked without this helper knowing its class.  Each declared span
carries its action's check of the text an edit may put there (the header
keeps its tokens in order but for the rule's words; an include is exactly
one `#include` line; ...).  The plan's definition and documentation changes
are the rule's own `[definition]` text, inserted whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from kfuncfix.engine import Edit, FileChange, Rule
from kfuncfix.engine.actions import AllowedSpan
from kfuncfix.engine.plan import DOCUMENTATION
from kfuncfix.model import TreeIndex


def allowed_spans(index: TreeIndex, rule: Rule, path: str) -> list[AllowedSpan]:
    """Every span of `path` that `rule`'s actions declare they may change."""
    return [span for action in rule.actions for span in action.spans(index, path)]


def unchanged_outside(old: bytes, new: bytes, edits: Iterable[Edit]) -> bool:
    """Old and new bytes agree everywhere but in the edits (walked here, not applied)."""
    pos = shift = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if old[pos:edit.start] != new[pos + shift:edit.start + shift]:
            return False
        if new[edit.start + shift:edit.start + shift + len(edit.text)] != edit.text:
            return False
        shift += len(edit.text) - (edit.end - edit.start)
        pos = edit.end
    return old[pos:] == new[pos + shift:]


def stray_edits(index: TreeIndex, rule: Rule, change: FileChange) -> list[str]:
    """The change's edits that are not what the rule may do where they are."""
    old = change.old
    if change.role == DOCUMENTATION:
        # Examples tagged and the rule's note placed in its section: what
        # tests/test_docpatch.py checks (docutils outline, checkpatch).
        return []
    spans = allowed_spans(index, rule, change.path)
    stray = []
    for edit in change.edits:
        where = f"{change.path}@{edit.start}: {edit.why}"
        definition = rule.definition
        text = edit.text.replace(b"\r\n", b"\n")
        if (definition is not None and change.path == definition.header
                and edit.start == edit.end and definition.text.strip().encode() in text):
            continue
        inside = [s for s in spans if s.start <= edit.start <= edit.end <= s.end]
        if not inside:
            stray.append(f"{where}: outside every span the rule may change")
            continue
        before = old[edit.start:edit.end]
        problems = [s.check(before, edit.text) for s in inside]
        if all(problems):
            stray.append(f"{where}: {problems[0]}")
    return stray
