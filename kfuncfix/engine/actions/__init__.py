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
below, and every `Action` subclass with a `kind` registers itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from kfuncfix.engine.edits import Edit
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.schema import IDENT_RE, Table
from kfuncfix.model import DTOR, KFUNC, TreeIndex
from kfuncfix.source.scan import SourceFile

if TYPE_CHECKING:
    from kfuncfix.engine.rule import Rule

# A span's check: the old and new bytes of an edit inside it -> a problem, or None.
DEFAULT_TARGET_KINDS: tuple[str, ...] = (KFUNC, DTOR)
TextCheck = Callable[[bytes, bytes], "str | None"]


@dataclass(frozen=True)
class AllowedSpan:
    """Bytes [start, end) of a file an action may change; an insertion at a point
    has start == end.  `check` says whether the edit's text is what the action does."""

    kind: str
    start: int
    end: int
    name: str
    check: TextCheck


class Action(ABC):
    """One step of a rule, built from its `[[actions]]` table."""

    kind: ClassVar[str]
    # Registration kinds of the kfuncs whose definitions the action works on;
    # empty for actions that do not look at definitions.  The planner reports
    # the unresolved ones for the rule.
    target_kinds: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            ACTIONS[cls.kind] = cls

    @classmethod
    @abstractmethod
    def parse(cls, table: Table) -> Action: ...

    @abstractmethod
    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        """Record the edits this action makes (and what it leaves alone, with why)."""

    def kinds(self) -> tuple[str, ...]:
        """The registration kinds this action's targets have (see `target_kinds`)."""
        return self.target_kinds

    def spans(self, index: TreeIndex, path: str) -> list[AllowedSpan]:
        """Where in `path` this action may change bytes, before any rule ran."""
        return []

    def example_edits(self, src: SourceFile, rewritten: Sequence[int],
                      rule: Rule) -> list[Edit]:
        """What this action does to a C example of the rule's documentation (a literal
        block, scanned), once the form rewrote the definitions starting at `rewritten`:
        the examples follow the rule as the code does.  Most actions leave them alone."""
        return []


ACTIONS: dict[str, type[Action]] = {}


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
        importlib.import_module(f"{__name__}.{module.name}")


_load_all()

__all__ = ["ACTIONS", "Action", "AllowedSpan", "parse_action"]
