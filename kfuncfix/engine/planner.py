"""Run a rule over a tree index: definition actions first, then file actions in order."""

from __future__ import annotations

from kfuncfix.engine.actions import FileAction, rewrite_definitions
from kfuncfix.engine.macrodef import missing_definition
from kfuncfix.engine.plan import Plan, PlanContext
from kfuncfix.engine.rule import Rule
from kfuncfix.model import TreeIndex


def plan(index: TreeIndex, rule: Rule, paths: list[str] | None = None) -> Plan:
    """What `rule` would change in the indexed tree; only files under `paths` change.

    `paths` are tree-relative files or directories; discovery still saw the
    whole tree, so a kfunc listed in one directory and defined in another is
    found either way.
    """
    ctx = PlanContext(index, rule, paths)
    if rule.style is not None:
        rewrite_definitions(ctx, rule.style)
    for action in rule.actions:
        if isinstance(action, FileAction):
            action.run(ctx, rule.style)
    return ctx.finish(missing_definition(index, rule))
