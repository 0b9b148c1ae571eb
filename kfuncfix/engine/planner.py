"""Run rules over a tree index: every action of every rule, in order, into one Plan.

The planner owns what no single action can know: the targets of each rule
and the kfuncs that resolve to no definition (reported once per rule), which
edits are kept when two actions or two rules want the same bytes (the later
one skips that target, with the reason, and the run goes on), and the
definition and documentation changes a rule's output needs.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from kfuncfix.engine.docpatch import example_kfunc
from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.macrodef import Reader, definition_changes, missing_definition
from kfuncfix.engine.plan import (
    ALREADY,
    DEFINITION,
    SKIPPED,
    ActionInputs,
    FileChange,
    Plan,
    Recorder,
    Result,
    normalize_paths,
)
from kfuncfix.engine.rule import Rule
from kfuncfix.engine.targets import Target, kfunc_targets
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import FMODRET, TreeIndex


def plan(index: TreeIndex, rules: Rule | Sequence[Rule], paths: Sequence[str] | None = None,
         read: Reader | None = None) -> Plan:
    """What `rules` would change in the indexed tree; only files under `paths` change.

    `paths` are tree-relative files or directories; discovery still saw the
    whole tree, so a kfunc listed in one directory and defined in another is
    found either way.  `read` reads other files of the tree at the index's
    revision (the header and documentation a definition goes to).
    """
    chosen = (rules,) if isinstance(rules, Rule) else tuple(rules)
    if not chosen:
        raise KfuncfixError("no rule to plan")
    scope = normalize_paths(paths)
    read = read or tree_reader(index)
    state = _State()
    for rule in chosen:
        kinds = tuple(dict.fromkeys(k for a in rule.actions for k in a.kinds()))
        targets, unresolved = kfunc_targets(index, kinds) if kinds else ([], [])
        if kinds:
            _left_out(state.left_out, index, rule, kinds, targets, scope)
        for missing in unresolved:
            if scope is None or _in(scope, missing.file):
                state.results.append(Result(rule.name, SKIPPED, missing.name, missing.file,
                                            missing.line, missing.reason, kfunc=missing.name))
        for action in rule.actions:
            frozen = MappingProxyType({p: tuple(k.edits) for p, k in state.kept.items()})
            inputs = ActionInputs(index, rule, tuple(targets), scope, frozen, read)
            rec = Recorder(rule)
            action.plan(inputs, rec)
            state.take(rule, rec)
    files = state.files(index)
    # The plan is made whole here and never changed after (Plan is frozen).
    return _add_definitions(Plan(chosen, files, state.results, left_out=state.left_out),
                            index, read, state)


def _left_out(out: dict[str, list[str]], index: TreeIndex, rule: Rule, kinds: tuple[str, ...],
              targets: Sequence[Target], scope: tuple[str, ...] | None) -> None:
    """The fmodret targets a rule's kinds leave out and that are not in its form
    already, by name (the cover letter and README say how to take them in)."""
    if FMODRET in kinds:
        return
    taken = {n for t in targets for n in t.names}
    others, _ = kfunc_targets(index, (FMODRET,))
    names = out.setdefault(FMODRET, [])
    for target in others:
        done = rule.style is not None and rule.style.is_done(target.definition.func)
        if not done and (scope is None or _in(scope, target.file)):
            names += [n for n in target.names if n not in taken and n not in names]
    if not names:
        del out[FMODRET]


def tree_reader(index: TreeIndex) -> Reader:
    """Read files of the indexed tree at its revision: through the snapshot the index
    was made from (the pipeline's), else one snapshot of the same tree and revision."""
    from kfuncfix.snapshot import Snapshot

    snapshot = index.snapshot or Snapshot(Path(index.root), index.rev)
    return snapshot.read


def _in(scope: tuple[str, ...], path: str) -> bool:
    return any(p == "" or path == p or path.startswith(p + "/") for p in scope)


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return False  # two insertions at one point: both go in, in rule order
    return a.start < b.end and b.start < a.end or (
        a.start == a.end and b.start < a.start < b.end) or (
        b.start == b.end and a.start < b.start < a.end)


class _Kept:
    """The edits kept in one file, ordered by position: an overlap is found among
    the neighbours (bisect), so planning stays linear in the edits of a file."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.edits: list[Edit] = []
        self.seen: set[Edit] = set()

    def clash(self, edit: Edit) -> Edit | None:
        """A kept edit that wants some of the same bytes, if any."""
        at = bisect.bisect_left(self.keys, (edit.start, edit.end))
        # Neighbours on each side; a replaced range can only reach the next
        # kept edits if they start inside it, which the scan forward covers.
        for i in range(max(at - 1, 0), len(self.keys)):
            kept = self.edits[i]
            if kept.start > edit.end:
                break
            if _overlaps(kept, edit):
                return kept
        return None

    def add(self, edit: Edit) -> None:
        at = bisect.bisect_right(self.keys, (edit.start, edit.end))
        self.keys.insert(at, (edit.start, edit.end))
        self.edits.insert(at, edit)
        self.seen.add(edit)


class _State:
    """The edits kept so far, by file, and who made them."""

    def __init__(self) -> None:
        self.kept: dict[str, _Kept] = {}
        self.owner: dict[tuple[str, Edit], str] = {}
        self.kfuncs: dict[str, dict[str, None]] = {}
        self.sets: dict[str, dict[str, None]] = {}
        self.results: list[Result] = []
        self.left_out: dict[str, list[str]] = {}
        self.changed_by: dict[str, set[str]] = {}  # rule -> files it changed

    @property
    def edits(self) -> dict[str, list[Edit]]:
        return {path: kept.edits for path, kept in self.kept.items()}

    def take(self, rule: Rule, rec: Recorder) -> None:
        self.results.extend(rec.results)
        for unit in rec.units:
            kept = self.kept.setdefault(unit.path, _Kept())
            new = [e for e in unit.edits if e not in kept.seen]
            clash = next(((k, e) for e in new if (k := kept.clash(e)) is not None), None)
            if clash is not None:
                other = self.owner[(unit.path, clash[0])]
                name = (unit.result.name if unit.result else "") or ", ".join(unit.kfuncs)
                line = unit.result.line if unit.result else 0
                self.results.append(Result(
                    rule.name, SKIPPED, name or clash[1].why, unit.path, line,
                    f"the same bytes are changed by {clash[0].why or 'an edit'} "
                    f"(rule {other}); left to it"))
                continue
            for e in new:
                kept.add(e)
                self.owner[(unit.path, e)] = rule.name
            if new:
                self.changed_by.setdefault(rule.name, set()).add(unit.path)
            self.kfuncs.setdefault(unit.path, {}).update(dict.fromkeys(unit.kfuncs))
            self.sets.setdefault(unit.path, {}).update(dict.fromkeys(unit.sets))
            if unit.result is not None:
                self.results.append(unit.result)

    def files(self, index: TreeIndex) -> dict[str, FileChange]:
        files: dict[str, FileChange] = {}
        for path in sorted(p for p, k in self.kept.items() if k.edits):
            old = index.sources[path].data
            edits = list(self.kept[path].edits)
            new = apply_edits(old, edits, path)
            if new != old:
                files[path] = FileChange(path, old, new, list(self.kfuncs.get(path, {})),
                                         edits, list(self.sets.get(path, {})))
        return files


def _add_definitions(result: Plan, index: TreeIndex, read: Reader, state: _State) -> Plan:
    """The plan with the definition and documentation changes the kept changes need,
    merged by file."""
    by_path: dict[str, FileChange] = {}
    needs: str | None = None
    error: str | None = None
    undefined: dict[str, str] = {}
    # A rule's macro is needed where its output is in the tree: the kfuncs this
    # run changes, and those an earlier run already changed (a tree tagged by a
    # plain `apply` still lacks the definition and does not compile).
    in_use = {r.rule for r in result.results if r.status == ALREADY}
    for rule in result.rules:
        if not (state.changed_by.get(rule.name) and result.files) and rule.name not in in_use:
            continue
        macro = missing_definition(index, rule, read)
        if macro is None:
            continue
        needs = needs or macro
        if rule.name in in_use:
            undefined[rule.name] = macro
        try:
            changes = definition_changes(index, rule, read, example_kfunc(result.files.values()))
        except KfuncfixError as exc:
            error = str(exc)
            continue
        for change in changes:
            same = by_path.get(change.path)
            if same is None:
                by_path[change.path] = change
                continue
            edits = [*same.edits, *change.edits]
            by_path[change.path] = FileChange(
                same.path, same.old, apply_edits(same.old, edits, same.path), [],
                sorted(edits, key=lambda e: e.start), role=same.role)
    docs = [c for c in by_path.values() if c.role != DEFINITION]
    definition = [*docs, *(c for c in by_path.values() if c.role == DEFINITION)]
    return replace(result, definition=definition, needs_definition=needs,
                   definition_error=error, undefined_in_use=undefined)
