"""`check --git`: the findings each commit brings, merges included.

A commit's findings are those on lines it adds (see `lint.findings`), and
those its tree has and none of its parents had, for the rules linted on both
sides: a registration that makes an untagged function a kfunc, two branches
that only together register and define one, a merge that adds a line of
its own.  A rule the commit itself adopts (it defines the rule's macro)
reports only what the commit touches, so that patch 1 of a series may
introduce a convention that later patches apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.commitview import overlay_at
from kfuncfix.commitwalk import Commit, commits
from kfuncfix.lint import Finding, findings
from kfuncfix.patchcheck import apply_in_memory
from kfuncfix.pipeline import IndexLoader, Planned, Request, run_plan

# sha -> the plan of the tree at that commit
PlanAt = Callable[[str], Planned]


@dataclass(frozen=True)
class Linted:
    commit: Commit | None  # None: a patch
    findings: list[Finding]
    run: Planned

    @property
    def title(self) -> str:
        if self.commit is None:
            return "the patch"
        return f"{self.commit.sha[:12]} (\"{self.commit.subject}\")"


def lint_range(root: Path, rev: str, plan_at: PlanAt, with_fix: bool = False) -> list[Linted]:
    """Each commit of `rev` (REV or A..B) with its findings; plans are made once per
    commit (a commit's plan serves as its children's parent plan)."""
    plans: dict[str, Planned] = {}

    def at(sha: str) -> Planned:
        if sha not in plans:
            plans[sha] = plan_at(sha)
        return plans[sha]

    out = []
    for c in commits(root, rev):
        run = at(c.sha)
        out.append(Linted(c, commit_findings(c, run, [at(p) for p in c.parents], with_fix),
                          run))
    return out


def commit_findings(c: Commit, run: Planned, parents: list[Planned],
                    with_fix: bool = False) -> list[Finding]:
    """What commit c brings (see the module docstring), given the plans of its tree
    and of its parents' trees."""
    return brought(c.added, run, parents, with_fix)


def brought(added: dict[str, set[int]], run: Planned, parents: list[Planned],
            with_fix: bool = False) -> list[Finding]:
    """The findings of `run` on the `added` lines, and those no plan of `parents` has
    (for the rules linted on every side): what a commit or a patch brings."""
    touched = findings(run.index, run.plan, added, with_fix)
    rules = {r.name for r in run.plan.rules}
    for p in parents:
        rules &= {r.name for r in p.plan.rules}
    before = {key(f) for p in parents for f in findings(p.index, p.plan, None)}
    chosen = {(f.file, f.line, f.rule, f.message): f for f in touched}
    for f in findings(run.index, run.plan, None, with_fix):
        if f.rule in rules and key(f) not in before:
            chosen.setdefault((f.file, f.line, f.rule, f.message), f)
    return sorted(chosen.values(), key=lambda f: (f.file, f.line, f.rule))


def lint_patch(tree: Path, rule_names: tuple[str, ...], patch_text: bytes,
               load: IndexLoader | None = None, with_fix: bool = False) -> Linted:
    """`check --patch`: what the patch brings to the tree, applied already or not."""
    patched = apply_in_memory(tree, patch_text)
    run = run_plan(Request(tree, rule_names, overlay=patched.overlay, lint=True), load)
    before = run_plan(Request(tree, rule_names, overlay=patched.before, lint=True))
    return Linted(None, brought(patched.added_lines, run, [before], with_fix), run)


def key(f: Finding) -> tuple[str, str, str | None, str]:
    """A finding without its line: the same finding when lines above it move."""
    return (f.rule, f.file, f.kfunc, f.message)


def full_plans(tree: Path, rule_names: tuple[str, ...],
               load: IndexLoader | None = None) -> PlanAt:
    """Plans read at each revision itself: the reference the faster paths must equal."""
    return lambda sha: run_plan(Request(tree, rule_names, rev=sha, lint=True), load)


def worktree_plans(tree: Path, rule_names: tuple[str, ...],
                   load: IndexLoader | None = None) -> PlanAt:
    """Plans of the worktree with each commit's differing files laid over it
    (`kfuncfix.commitview`), or of the revision where that cannot be exact."""
    root = tree.resolve()

    def plan_at(sha: str) -> Planned:
        overlay = overlay_at(root, sha)
        if overlay is None:
            return run_plan(Request(tree, rule_names, rev=sha, lint=True), load)
        return run_plan(Request(tree, rule_names, overlay=overlay, lint=True), load)

    return plan_at
