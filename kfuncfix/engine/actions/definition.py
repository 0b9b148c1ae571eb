"""Definition actions: together they give every kfunc definition header one new form.

`drop_specifiers` names words the new form implies (`noinline`, `__used`);
`insert_prefix` (`__bpf_kfunc`) or `wrap_prototype` (`BPF_KFUNC(...)`) is
the form.  A rule has exactly one form; the dropped words join it (see
`definition_style`), so `drop_specifiers` plans nothing by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from kfuncfix.engine.actions.base import DEFAULT_TARGET_KINDS, Action, AllowedSpan
from kfuncfix.engine.definitions import DefinitionStyle, rewrite_header
from kfuncfix.engine.edits import CannotRewrite
from kfuncfix.engine.layout import after_eol, line_start
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.schema import IDENT_RE, Table
from kfuncfix.model import DTOR, FMODRET, KFUNC, TreeIndex
from kfuncfix.source.ctokens import byte_tokens

KINDS = (KFUNC, DTOR, FMODRET)
# `/**` on its own line, then ` * name - what it does` (or `name()`, `DOC: ...`).
_KERNEL_DOC_OPENING = re.compile(rb"/\*\*[ \t]*\r?\n[ \t]*\*[ \t]*([A-Za-z_]\w*:?)")
KERNEL_DOC_RE = re.compile(r"(?:skip|wrap)\Z")
_NOT_FUNCTION_DOC = frozenset({b"struct", b"union", b"enum", b"typedef", b"DOC:"})


def _kinds(table: Table) -> tuple[str, ...]:
    """`kinds = ["kfunc", "dtor", "fmodret"]`: which registrations are rewritten."""
    names = table.identifiers("kinds", required=False) or DEFAULT_TARGET_KINDS
    for name in names:
        if name not in KINDS:
            raise table.fail("kinds", f"unknown kind {name!r} (one of {', '.join(KINDS)})")
    return tuple(names)


@dataclass(frozen=True)
class DropSpecifiers(Action):
    """Remove specifiers the new form implies (`noinline`, `__used`)."""

    kind: ClassVar[str] = "drop_specifiers"
    words: tuple[str, ...]

    @classmethod
    def parse(cls, table: Table) -> DropSpecifiers:
        return cls(table.identifiers("words"))

    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        """Nothing of its own: the form action drops these words as it rewrites."""


class _Form(Action):
    """The one action that gives definitions their new form."""

    target_kinds: ClassVar[tuple[str, ...]] = DEFAULT_TARGET_KINDS
    selected: tuple[str, ...]

    def kinds(self) -> tuple[str, ...]:
        return self.selected

    def verb(self) -> str:
        raise NotImplementedError

    def finding(self, name: str) -> str:
        raise NotImplementedError

    def refuse(self, data: bytes, header: int) -> str | None:
        """Why the definition whose header starts at `header` must stay as it is."""
        return None

    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        style = inputs.rule.style
        assert style is not None
        verb = self.verb()
        for target in inputs.targets:
            if not inputs.in_scope(target.file):
                continue
            d = target.definition
            label = ", ".join(target.names)
            if style.is_done(d.func):
                for name in target.names:
                    rec.done(name, d.file, d.line)
                continue
            refused = self.refuse(d.source.data, line_start(d.source.data, d.func.start))
            if refused is not None:
                rec.skip(label, d.file, d.line, refused, kfunc=target.names[0])
                continue
            try:
                result = rewrite_header(d.source, d.func, style, f"{verb}: {label}")
            except CannotRewrite as exc:
                rec.skip(label, d.file, d.line, str(exc), kfunc=target.names[0],
                         severity="error")
                continue
            at_declaration = d.tagged_at_declaration
            finding = self.finding(target.names[0] if len(target.names) == 1 else label)
            if at_declaration:
                finding += " (only its declaration is: tag the definition so that grep finds it)"
            rec.edit(d.file, [result.edit], kfuncs=target.names, finding=finding, name=label,
                     line=d.line, severity="warning" if at_declaration else "error")
            if result.over_limit:
                rec.note(label, d.file, d.line, f"a line stays past {style.line_limit} "
                         "columns: no parameter comma to break it at")

    def spans(self, index: TreeIndex, path: str) -> list[AllowedSpan]:
        src = index.sources.get(path)
        if src is None:
            return []
        kinds = set(self.kinds())
        check = self.check_header
        return [AllowedSpan("header", line_start(src.data, d.func.start),
                            after_eol(src.data, d.func.brace), k.name, check)
                for k in index.kfuncs if k.kind in kinds
                for d in k.definitions if d.file == path]

    def check_header(self, before: bytes, after: bytes) -> str | None:
        raise NotImplementedError


def kernel_doc_above(data: bytes, header: int) -> bool:
    """A kernel-doc comment for a function ends right above `header`: `/**`, then
    a name that is not `struct`, `union`, `enum`, `typedef` or `DOC:`."""
    end = header
    while end and data[end - 1:end] in (b" ", b"\t", b"\r", b"\n"):
        end -= 1
    if not data[:end].endswith(b"*/"):
        return False
    opening = data.rfind(b"/*", 0, end - 2)
    found = _KERNEL_DOC_OPENING.match(data, opening) if opening >= 0 else None
    return found is not None and found.group(1) not in _NOT_FUNCTION_DOC


def _tokens(data: bytes) -> list[bytes]:
    return byte_tokens(data)


@dataclass(frozen=True)
class InsertPrefix(_Form):
    """Put a word (`__bpf_kfunc`) before the first specifier of the definition."""

    kind: ClassVar[str] = "insert_prefix"
    text: str
    already: tuple[str, ...]
    selected: tuple[str, ...] = DEFAULT_TARGET_KINDS
    drop: tuple[str, ...] = ()  # filled in from drop_specifiers, for the span check

    @classmethod
    def parse(cls, table: Table) -> InsertPrefix:
        text = table.string("text", IDENT_RE, "a C identifier")
        return cls(text, table.identifiers("already", required=False) or (text,),
                   _kinds(table))

    def verb(self) -> str:
        return f"tag {self.text}"

    def finding(self, name: str) -> str:
        return f"kfunc {name} is not tagged {self.text}"

    def check_header(self, before: bytes, after: bytes) -> str | None:
        kept = [t for t in _tokens(before) if t.decode("latin-1") not in self.drop]
        new = [t for t in _tokens(after) if t != self.text.encode()]
        if len(_tokens(after)) - len(new) != 1:
            return f"{self.text} not added exactly once"
        return None if new == kept else "header tokens changed beyond the rule's words"


@dataclass(frozen=True)
class WrapPrototype(_Form):
    """Wrap the whole prototype in a macro: `BPF_KFUNC(int f(void))`."""

    kind: ClassVar[str] = "wrap_prototype"
    macro: str
    already: tuple[str, ...]
    selected: tuple[str, ...] = DEFAULT_TARGET_KINDS
    drop: tuple[str, ...] = ()
    # "skip": leave a definition with a kernel-doc comment alone; "wrap": wrap it
    # anyway (scripts/kernel-doc then warns; `series --check` shows it).
    kernel_doc: str = "skip"

    @classmethod
    def parse(cls, table: Table) -> WrapPrototype:
        macro = table.string("macro", IDENT_RE, "a C identifier")
        kernel_doc = table.string("kernel_doc", KERNEL_DOC_RE, '"skip" or "wrap"',
                                  default="skip")
        return cls(macro, table.identifiers("already", required=False) or (macro,),
                   _kinds(table), kernel_doc=kernel_doc)

    def verb(self) -> str:
        return f"wrap in {self.macro}()"

    def finding(self, name: str) -> str:
        return f"kfunc {name} is not wrapped in {self.macro}()"

    def refuse(self, data: bytes, header: int) -> str | None:
        # scripts/kernel-doc reads the prototype after a function's `/**` comment;
        # inside the wrapper it finds BPF_KFUNC() and warns "expecting prototype
        # for X(). Prototype was for BPF_KFUNC() instead".
        if self.kernel_doc == "skip" and kernel_doc_above(data, header):
            return (f"its kernel-doc comment would no longer match: scripts/kernel-doc "
                    f"reads {self.macro}() as the prototype; wrap it by hand")
        return None

    def check_header(self, before: bytes, after: bytes) -> str | None:
        kept = [t for t in _tokens(before) if t.decode("latin-1") not in self.drop]
        new = _tokens(after)
        macro = self.macro.encode()
        at = new.index(macro) if macro in new else -1
        if at < 0 or new[at + 1:at + 2] != [b"("] or b")" not in new:
            return f"not wrapped in {self.macro}()"
        close = len(new) - 1 - new[::-1].index(b")")
        new = new[:at] + new[at + 2:close] + new[close + 1:]
        return None if new == kept else "header tokens changed beyond the rule's words"


def definition_style(actions: tuple[Action, ...], line_limit: int,
                     table: Table) -> tuple[tuple[Action, ...], DefinitionStyle | None]:
    """The definition form the rule's definition actions describe, if it has any,
    and the actions with the dropped words handed to the form."""
    forms = [a for a in actions if isinstance(a, _Form)]
    drops = [a for a in actions if isinstance(a, DropSpecifiers)]
    if not forms and not drops:
        return actions, None
    if len(forms) != 1:
        raise table.fail("actions", "definition actions need exactly one insert_prefix or "
                         f"wrap_prototype (found {len(forms)})")
    form = forms[0]
    drop = frozenset(w for a in drops for w in a.words)
    if isinstance(form, InsertPrefix):
        style = DefinitionStyle(prefix=form.text, drop=drop, already=frozenset(form.already),
                                line_limit=line_limit)
        new_form: Action = InsertPrefix(form.text, form.already, form.selected,
                                        tuple(sorted(drop)))
    else:
        assert isinstance(form, WrapPrototype)
        style = DefinitionStyle(wrap=form.macro, drop=drop, already=frozenset(form.already),
                                line_limit=line_limit)
        new_form = WrapPrototype(form.macro, form.already, form.selected, tuple(sorted(drop)),
                                 form.kernel_doc)
    return tuple(new_form if a is form else a for a in actions), style
