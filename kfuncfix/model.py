"""The values discovery produces: BTF id sets, kfuncs and their definitions.

These are plain dataclasses so that every later stage (rules, series, audit,
reports) reads the same picture of a tree.  Paths are relative to the tree
root, POSIX style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kfuncfix.source.header import FunctionDef
from kfuncfix.source.prototype import Prototype
from kfuncfix.source.scan import SourceFile

if TYPE_CHECKING:
    from kfuncfix.snapshot import Snapshot

# How a set is registered, which decides whether its entries are kfuncs.
KFUNC = "kfunc"
DTOR = "dtor"
FMODRET = "fmodret"
UNREGISTERED = "unregistered"

TAGGED = "tagged"
UNTAGGED = "untagged"
# The tag is on an earlier declaration in the same file, not on the definition:
# the compiler merges the attributes, but grep does not find the kfunc.
TAGGED_AT_DECLARATION = "tagged-at-declaration"
UNRESOLVED = "unresolved"

# Risk signals recorded per definition.
RISK_STATIC_NO_NOINLINE = "static-without-noinline"
RISK_GLOBAL_NO_USED = "global-without-__used"
RISK_STATIC_INLINE = "static-inline"
RISK_UNUSED_PARAMS = "unused-parameters"
RISK_MACRO_DEFINITION = "macro-generated-definition"
RISK_NO_PROTOTYPE = "prototype-not-parsed"


@dataclass(frozen=True)
class Span:
    """A byte range in one file."""

    file: str
    start: int
    end: int
    line: int


@dataclass
class SetEntry:
    """One `BTF_ID_FLAGS(func, name, ...)` or `BTF_ID(func, name)` line of a set."""

    name: str
    flags: tuple[str, ...]
    condition: tuple[str, ...]
    span: Span
    via_macro: str | None = None  # the macro whose expansion produced this entry


@dataclass
class Unresolved:
    """An entry or macro that could not be turned into kfunc names."""

    text: str
    reason: str
    span: Span


@dataclass
class IdSet:
    """A `BTF_SET8_START(x)` ... `BTF_SET8_END(x)` block (or KFUNCS/SET variant)."""

    name: str
    macro: str  # "BTF_SET8", "BTF_KFUNCS", "BTF_SET" or "BTF_ID_LIST"
    start_span: Span  # the whole START line macro call
    end_span: Span | None  # the whole END line macro call
    entries: list[SetEntry] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    kind: str = UNREGISTERED
    registered_by: list[str] = field(default_factory=list)  # e.g. "register_btf_kfunc_id_set"
    # BTF_ID_LIST only: every slot in order (None for struct/unused entries),
    # because dtor arrays refer to entries by index.
    slots: list[SetEntry | None] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.start_span.file


@dataclass
class Definition:
    """One definition of a kfunc: where it is, what its header says, its risks.

    `words`, `wrapper` and `declared_words` are facts read from the source;
    `tagged` and `tagged_at_declaration` interpret them with the tag words and
    wrapper macros discovery was given (the rules' conventions).
    """

    file: str
    source: SourceFile
    func: FunctionDef
    prototype: Prototype | None
    tagged: bool
    risks: list[str] = field(default_factory=list)
    unused_params: list[str] = field(default_factory=list)
    # Attribute and specifier words of the definition's own header
    # (`__bpf_kfunc`, `static`, `__printf(2, 0)`, type words).
    words: frozenset[str] = frozenset()
    # The macro that produces the definition (`BPF_KFUNC(int f(void)) {`), if any.
    wrapper: str | None = None
    # Words that earlier declarations of the function in the same file carry
    # and the definition does not (`__bpf_kfunc int f(void);` ... `int f(void) {`).
    declared_words: frozenset[str] = frozenset()
    tagged_at_declaration: bool = False

    @property
    def line(self) -> int:
        return self.func.line

    @property
    def status(self) -> str:
        if self.tagged:
            return TAGGED
        return TAGGED_AT_DECLARATION if self.tagged_at_declaration else UNTAGGED


@dataclass
class Kfunc:
    """A name listed in a registered set, with every definition found for it."""

    name: str
    kind: str  # KFUNC, DTOR or FMODRET
    set: IdSet
    entry: SetEntry
    definitions: list[Definition] = field(default_factory=list)
    reason: str = ""  # why it is unresolved, when it is

    @property
    def flags(self) -> tuple[str, ...]:
        return self.entry.flags

    @property
    def condition(self) -> tuple[str, ...]:
        return self.entry.condition

    @property
    def status(self) -> str:
        if not self.definitions:
            return UNRESOLVED
        statuses = {d.status for d in self.definitions}
        for status in (UNTAGGED, TAGGED_AT_DECLARATION):
            if status in statuses:
                return status
        return TAGGED


@dataclass
class TreeIndex:
    """Everything discovery learned about one tree."""

    root: str
    sources: dict[str, SourceFile]  # every candidate file that was scanned
    sets: list[IdSet]
    kfuncs: list[Kfunc]  # one per (set, entry) of kfunc, dtor and fmodret sets
    unresolved: list[Unresolved]
    warnings: list[str]
    is_git: bool
    # Files discovery needed but could not read (the result is then incomplete).
    unreadable: list[str] = field(default_factory=list)
    rev: str | None = None  # the commit the tree was read at (None: the worktree)
    # The tree at that revision, as the pipeline read it (kfuncfix.snapshot).
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)

    @property
    def defines_bpf_kfunc(self) -> bool:
        """A file discovery read defines the `__bpf_kfunc` macro."""
        return any(src.defines("__bpf_kfunc") for src in self.sources.values())
