"""The action protocol: what every action is, and the registry its subclasses join.

Kept apart from the package's `__init__`, which loads every action module:
an action module imports this one, and nothing here imports an action.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from kfuncfix.engine.edits import Edit
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.schema import Table
from kfuncfix.model import DTOR, KFUNC, TreeIndex
from kfuncfix.source.scan import SourceFile

if TYPE_CHECKING:
    from kfuncfix.engine.rule import Rule

# The registrations whose definitions an action rewrites unless its table says `kinds`.
DEFAULT_TARGET_KINDS: tuple[str, ...] = (KFUNC, DTOR)
# A span's check: the old and new bytes of an edit inside it -> a problem, or None.
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
