"""Typed prototypes of definitions, parsed with pycparser.

pycparser wants preprocessed C, so the prototype text is cleaned first: kernel
annotations (`__user`, `__rcu`, `noinline`, `__attribute__((...))`, ...) are
dropped and every type name the prototype uses without defining is declared as
a typedef, which is all pycparser needs to parse a declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kfuncfix.source import ctokens
from kfuncfix.source.header import FunctionDef
from kfuncfix.source.scan import SourceFile

KEEP_DUNDER_RE = re.compile(
    r"__(?:[us]\d+|be\d+|le\d+|wsum|sum16|poll_t|kernel_\w+|int128\w*|[us]128)\Z"
)
DROP_WORDS = frozenset(
    {"noinline", "notrace", "asmlinkage", "static", "extern", "inline", "register"}
)
C_KEYWORDS = frozenset(
    """
    void char short int long float double signed unsigned _Bool struct union enum const volatile
    restrict static extern inline register auto typedef _Complex
    """.split()
)
TAG_WORDS = frozenset({"struct", "union", "enum"})
MAX_TOKENS = 4096


class PrototypeError(ValueError):
    """The prototype text could not be understood."""


@dataclass(frozen=True)
class Param:
    name: str | None
    type: str


@dataclass(frozen=True)
class Prototype:
    name: str
    return_type: str
    params: tuple[Param, ...]
    variadic: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "return": self.return_type,
            "params": [{"name": p.name, "type": p.type} for p in self.params],
            "variadic": self.variadic,
        }

    def __str__(self) -> str:
        params = [_join(p.type, p.name) if p.name else p.type for p in self.params]
        if self.variadic:
            params.append("...")
        return f"{_join(self.return_type, self.name)}({', '.join(params) or 'void'})"


def _join(ctype: str, name: str) -> str:
    return f"{ctype}{name}" if ctype.endswith("*") else f"{ctype} {name}"


def _is_annotation(word: str) -> bool:
    if word in DROP_WORDS:
        return True
    return word.startswith("__") and not KEEP_DUNDER_RE.match(word)


def clean_tokens(text: str, name: str = "") -> list[str]:
    """Tokens of a prototype with kernel annotations and their arguments removed.

    `name`, the function's own, is kept even when it looks like one (`__bpf_trap`).
    """
    raw = ctokens.tokens(text)
    out: list[str] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        if tok != name and _is_annotation(tok) and not (out and out[-1] in TAG_WORDS):
            i += 1
            if i < len(raw) and raw[i] == "(":
                close = ctokens.token_closing(raw, i)  # unbalanced: the rest is its argument
                i = close + 1 if close >= 0 else len(raw)
            continue
        out.append(tok)
        i += 1
    return out


def _split_params(toks: list[str]) -> list[list[str]]:
    return [p for p in ctokens.split_tokens(toks, brackets=ctokens.ROUND_AND_SQUARE) if p]


def _param_name(tokens: list[str]) -> str | None:
    """The declared name in one parameter's tokens, if it has one."""
    for i in range(len(tokens) - 2):
        if tokens[i] == "(" and tokens[i + 1] == "*" and re.match(r"[A-Za-z_]", tokens[i + 2]):
            return tokens[i + 2]  # function pointer: int (*cb)(void)
    end = len(tokens)
    while end and tokens[end - 1] == "]":  # drop array suffixes: `a[4][2]` names `a`
        end -= 1
        while end and tokens[end - 1] != "[":
            end -= 1
        if not end:
            return None  # a `]` without its `[`: not a declaration we can name
        end -= 1
    tokens = tokens[:end]
    idents = [t for t in tokens if re.match(r"[A-Za-z_]", t)]
    if len(idents) < 2 or not re.match(r"[A-Za-z_]", tokens[-1]):
        return None
    if tokens[-1] in C_KEYWORDS or (len(tokens) >= 2 and tokens[-2] in TAG_WORDS):
        return None
    return tokens[-1]


@lru_cache(maxsize=1)
def _parser() -> Any:
    """pycparser's parser, imported on first use: a run whose prototypes all come
    from the index cache does without it (a tenth of Python's start)."""
    from pycparser import c_parser

    return c_parser.CParser()


def parse_prototype_text(name: str, text: str) -> Prototype:
    """Parse `<specifiers> name(<params>)` as the kernel wrote it."""
    tokens = clean_tokens(text, name)
    if len(tokens) > MAX_TOKENS:
        # pycparser's cost grows faster than the parameter list: bound what one
        # definition may cost (C promises 127 parameters; the kernel uses a dozen).
        raise PrototypeError(f"prototype of {len(tokens)} tokens is too long to parse")
    try:
        at = tokens.index(name)
    except ValueError as exc:
        raise PrototypeError(f"name {name} not found in prototype") from exc
    ret, params = tokens[:at], tokens[at + 2 : -1]
    if not ret or tokens[at + 1 : at + 2] != ["("] or tokens[-1] != ")":
        raise PrototypeError("no return type or parameter list")
    names = {n for n in (_param_name(p) for p in _split_params(params)) if n}
    typedefs = set()
    for i, tok in enumerate(tokens):
        if not re.match(r"[A-Za-z_]", tok) or tok in C_KEYWORDS or tok == name or tok in names:
            continue
        if i and tokens[i - 1] in TAG_WORDS:
            continue
        typedefs.add(tok)
    source = "".join(f"typedef int {t};\n" for t in sorted(typedefs))
    source += " ".join(tokens) + ";\n"
    try:
        ast = _parser().parse(source, filename="<prototype>")
    except Exception as exc:  # pycparser raises its own ParseError and a few others
        raise PrototypeError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    from pycparser import c_generator

    decl = ast.ext[-1]
    gen = c_generator.CGenerator()
    functype = decl.type
    # _generate_type is how CGenerator prints a type without its name; it
    # has been there since pycparser 2.x and has no public twin.
    return_type = gen._generate_type(functype.type, emit_declname=False).strip()
    out: list[Param] = []
    variadic = False
    for p in functype.args.params if functype.args else []:
        if type(p).__name__ == "EllipsisParam":
            variadic = True
            continue
        ptype = gen._generate_type(p.type, emit_declname=False).strip()
        if ptype == "void" and not getattr(p, "name", None):
            continue
        out.append(Param(getattr(p, "name", None), ptype))
    return Prototype(name, return_type, tuple(out), variadic)


def prototype_key(src: SourceFile, func: FunctionDef) -> tuple[str, str]:
    """What `prototype_of` depends on: the name and the prototype's text (a memory of
    parsed prototypes is keyed by it, whatever the file)."""
    return func.name, src.masked[func.start : func.params_end].decode("utf-8",
                                                                        "surrogateescape")


def prototype_of(src: SourceFile, func: FunctionDef) -> Prototype:
    """The typed prototype of a definition found by the scan."""
    return parse_prototype_text(*prototype_key(src, func))
