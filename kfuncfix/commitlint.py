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

from kfuncfix.commitscope import Report, scoped_patch_plans
from kfuncfix.commitwalk import Commit, commits
from kfuncfix.lint import Finding, findings
from kfuncfix.patchcheck import apply_in_memory
from kfuncfix.pipeline import IndexLoader, Planned, Request, run_plan

# sha -> the plan of the tree at that commit
PlanAt = Callable[[str], Planned]
# The commits to lint -> how to plan the trees of them and their parents
Planner = Callable[[list[Commit]], PlanAt]


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


def lint_range(root: Path, rev: str, planner: Planner, with_fix: bool = False) -> list[Linted]:
    """Each commit of `rev` (REV or A..B) with its findings; plans are made once per
    commit (a commit's plan serves as its children's parent plan)."""
    plans: dict[str, Planned] = {}
    listed = commits(root, rev)
    plan_at = planner(listed)

    def at(sha: str) -> Planned:
        if sha not in plans:
            plans[sha] = plan_at(sha)
        return plans[sha]

    out = []
    for c in listed:
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
            with_fix: bool = False, undefined: bool = True) -> list[Finding]:
    """The findings of `run` on the `added` lines, and those no plan of `parents` has
    (for the rules linted on every side): what a commit or a patch brings.  A patch
    alone (`undefined` False) is not held to macros its series may define first;
    a commit is (its tree is what `git bisect` builds)."""
    touched = findings(run.index, run.plan, added, with_fix, undefined)
    rules = {r.name for r in run.plan.rules}
    for p in parents:
        rules &= {r.name for r in p.plan.rules}
    before = {key(f) for p in parents for f in findings(p.index, p.plan, None)}
    chosen = {(f.file, f.line, f.rule, f.message): f for f in touched}
    for f in findings(run.index, run.plan, None, with_fix, undefined):
        if f.rule in rules and key(f) not in before:
            chosen.setdefault((f.file, f.line, f.rule, f.message), f)
    return sorted(chosen.values(), key=lambda f: (f.file, f.line, f.rule))


def lint_patch(tree: Path, rule_names: tuple[str, ...], patch_text: bytes,
               report: Report | None = None, with_fix: bool = False,
               whole: bool = False, cache: bool = True) -> Linted:
    """`check --patch`: what the patch brings to the tree, applied already or not.
    The trees before and after are indexed within the patch's scope
    (`kfuncfix.commitscope`); `whole` indexes them whole (the reference); `cache`
    False: no index cache (--no-cache)."""
    patched = apply_in_memory(tree, patch_text)
    if whole:
        run = run_plan(Request(tree, rule_names, overlay=patched.overlay, lint=True))
        before = run_plan(Request(tree, rule_names, overlay=patched.before, lint=True))
    else:
        run, before = scoped_patch_plans(tree, rule_names, patched.before, patched.overlay,
                                         report, cache)
    return Linted(None, brought(patched.added_lines, run, [before], with_fix, undefined=False),
                  run)


def key(f: Finding) -> tuple[str, str, str | None, str]:
    """A finding without its line: the same finding when lines above it move."""
    return (f.rule, f.file, f.kfunc, f.message)


def full_plans(tree: Path, rule_names: tuple[str, ...],
               load: IndexLoader | None = None) -> Planner:
    """Plans read at each revision itself, whole: the reference the fast path
    (`kfuncfix.commitscope.scoped_plans`) must equal."""
    return lambda _commits: (
        lambda sha: run_plan(Request(tree, rule_names, rev=sha, lint=True), load))
