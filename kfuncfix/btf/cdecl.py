"""BTF types as C declarations, and FUNC records as source-style Prototypes.

Spelling follows what pycparser's generator gives the source side
(`const char *`, `int (*)(void *, int)`, `u32 [4]`) so both can be compared.
Type tags (`__rcu`, `__user`) are dropped, as the source parser drops them.
"""

from __future__ import annotations

from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.reader import BTF
from kfuncfix.btf.types import Kind
from kfuncfix.source.prototype import Param, Prototype

# Deeper than any real declarator; stops reference cycles in malformed BTF.
MAX_DEPTH = 64
QUALIFIERS = {Kind.CONST: "const", Kind.VOLATILE: "volatile", Kind.RESTRICT: "restrict"}
TAG_WORDS = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ENUM: "enum", Kind.ENUM64: "enum"}


def _join(base: str, decl: str) -> str:
    return f"{base} {decl}" if decl else base


def type_name(btf: BTF, type_id: int) -> str:
    """A type as C spells it without a declared name: `struct task_struct *`."""
    return _render(btf, type_id, "", 0)


def _render(btf: BTF, type_id: int, decl: str, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise BTFError(f"BTF: type {type_id} is part of a reference cycle or nests too deeply")
    if type_id == 0:
        return _join("void", decl)
    t = btf.type(type_id)
    kind = t.kind
    if kind in (Kind.INT, Kind.FLOAT, Kind.TYPEDEF):
        return _join(t.name, decl)
    if kind in TAG_WORDS:
        return _join(f"{TAG_WORDS[kind]} {t.name or '{...}'}", decl)
    if kind == Kind.FWD:
        return _join(f"{'union' if t.kind_flag else 'struct'} {t.name}", decl)
    if kind == Kind.PTR:
        target = _skip_tags(btf, t.ref)
        inner = f"(*{decl})" if btf.kind(target) in (Kind.ARRAY, Kind.FUNC_PROTO) else f"*{decl}"
        return _render(btf, target, inner, depth + 1)
    if kind in QUALIFIERS:
        word = QUALIFIERS[kind]
        if btf.kind(_skip_tags(btf, t.ref)) == Kind.PTR:
            # A qualified pointer: the qualifier follows the star (`char * const`).
            return _render(btf, t.ref, _join(word, decl), depth + 1)
        return f"{word} {_render(btf, t.ref, decl, depth + 1)}"
    if kind == Kind.TYPE_TAG:
        return _render(btf, t.ref, decl, depth + 1)
    if kind == Kind.ARRAY:
        return _render(btf, t.ref, f"{decl}[{t.array_nelems}]", depth + 1)
    if kind == Kind.FUNC_PROTO:
        params = [
            "..." if p.type_id == 0 and not p.name else _render(btf, p.type_id, "", depth + 1)
            for p in t.members
        ]
        return _render(btf, t.ref, f"{decl}({', '.join(params) or 'void'})", depth + 1)
    if kind == Kind.FUNC:
        return _render(btf, t.ref, t.name, depth + 1)
    raise BTFError(f"BTF: type {type_id} ({kind.name}) is not a C type")


def _skip_tags(btf: BTF, type_id: int) -> int:
    for _ in range(MAX_DEPTH):
        if btf.kind(type_id) != Kind.TYPE_TAG:
            return type_id
        type_id = btf.type(type_id).ref
    raise BTFError(f"BTF: type tag chain at type {type_id} does not end")


def func_prototype(btf: BTF, func_id: int) -> Prototype:
    """The prototype of a FUNC record, with the parameter names BTF kept."""
    func = btf.type(func_id)
    if func.kind != Kind.FUNC:
        raise BTFError(f"BTF: type {func_id} is a {func.kind.name}, not a FUNC")
    proto = btf.type(func.ref)
    if proto.kind != Kind.FUNC_PROTO:
        raise BTFError(f"BTF: FUNC {func.name} (id {func_id}) points at a {proto.kind.name}")
    params: list[Param] = []
    variadic = False
    for p in proto.members:
        if p.type_id == 0 and not p.name:  # the `...` of a variadic function
            variadic = True
            continue
        params.append(Param(p.name or None, type_name(btf, p.type_id)))
    return Prototype(func.name, type_name(btf, proto.ref), tuple(params), variadic)
