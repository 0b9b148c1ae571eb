"""The actions a rule file combines, one protocol for all of them.

An action is built from one `[[actions]]` table (`parse`), and plans its
edits in one method, `plan(inputs, rec)`: it reads the frozen
`ActionInputs` (index, targets, scope, the edits planned before it) and
reports through the `Recorder` (`edit`, `skip`, `note`, `done`).  The planner
owns everything else: unresolved kfuncs, overlaps between rules, the final
bytes.  Each action also declares the spans it may change (`spans`), each
with a check of the text it may put there, so that the whole-tree span
tests check any action without knowing its class.  What an action does to the C
examples of the rule's documentation (`example_edits`) is asked of every action
too: the documentation patch knows no action by its class.

A new action is one module in this package: every module here is imported
below, and every `Action` subclass with a `kind` registers itself (the
protocol is in `base`, which the action modules import: no import circle).
"""

from __future__ import annotations

import importlib
import pkgutil

from kfuncfix.engine.actions.base import (
    ACTIONS,
    DEFAULT_TARGET_KINDS,
    Action,
    AllowedSpan,
    TextCheck,
)
from kfuncfix.engine.schema import IDENT_RE, Table


def parse_action(table: Table) -> Action:
    kind = table.string("type", IDENT_RE, "an action name")
    cls = ACTIONS.get(kind)
    if cls is None:
        raise table.fail("type", f"unknown action {kind!r} (known: {', '.join(sorted(ACTIONS))})")
    action = cls.parse(table)
    table.done()
    return action


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")


_load_all()

__all__ = ["ACTIONS", "DEFAULT_TARGET_KINDS", "Action", "AllowedSpan", "TextCheck",
           "parse_action"]
