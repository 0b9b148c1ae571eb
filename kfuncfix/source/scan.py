"""Top-level scan of unpreprocessed kernel C, over raw bytes.

Kernel sources cannot be preprocessed for a refactoring tool: rewrites must
land in the text as written.  This scanner is written by hand because no
maintained Python library models *unpreprocessed* C with byte positions
(pycparser needs preprocessed input; it is used later, per prototype).

One regular expression finds everything that matters (comments, literals,
preprocessor lines, brackets and semicolons); the rest of the text is never
looked at byte by byte in Python, which keeps a whole-tree scan fast.
"""

from __future__ import annotations

import bisect
import gc
import re
from dataclasses import dataclass, field

from kfuncfix.source import ctokens
from kfuncfix.source.header import FunctionDef, analyze_header
from kfuncfix.words import plural

# The bytes that can start something that matters: comments, literals,
# preprocessor lines, brackets and semicolons.  A plain character class lets
# the regex engine skip everything else in C; each kind is then matched at its
# start.  Inside a function body only braces matter (and what must be masked):
# its parentheses and semicolons, most of a file's punctuation, are skipped.
START_RE = re.compile(rb"[/\"'#{}()\[\];]")
BODY_START_RE = re.compile(rb"[/\"'#{}]")
COMMENT_RE = re.compile(ctokens.COMMENT.encode("ascii"), re.S)
STRING_RE = re.compile(ctokens.STRING.encode("ascii"), re.S)
CHAR_RE = re.compile(ctokens.CHAR.encode("ascii"), re.S)
PP_RE = re.compile(rb"\#(?:\\\r?\n|/\*.*?\*/|[^\n])*", re.S)
HSPACE = b" \t"
DIRECTIVE_RE = re.compile(rb"^[ \t]*#[ \t]*(\w*)[ \t]*(.*)", re.S)
CONTINUATION_RE = re.compile(rb"\\\r?\n")
# Every byte but the newline becomes a space: masked text keeps offsets and lines.
BLANK = bytes(10 if b == 10 else 32 for b in range(256))
CONDITIONALS = frozenset({"if", "ifdef", "ifndef", "elif", "else", "endif", "elifdef", "elifndef"})
CLOSER_OF = {ord("}"): ord("{"), ord(")"): ord("("), ord("]"): ord("[")}


@dataclass(frozen=True)
class Directive:
    """A preprocessor line (continuations included) with its byte span."""

    kind: str  # "define", "include", "if", "ifdef", "endif", ...
    rest: str  # text after the directive name, continuations folded
    start: int
    end: int


@dataclass
class _Cond:
    text: str  # condition of the current branch, as the kernel wrote it
    negated: list[str]  # conditions of earlier branches, now false
    dead: bool  # this branch is `#if 0`-dead
    live_done: bool  # an earlier branch was `#if 1`: later ones are dead
    stack_at_if: list[tuple[int, int, FunctionDef | None]]
    first_branch_end: list[tuple[int, int, FunctionDef | None]] | None = None
    guard: str | None = None  # `#ifndef X` that may turn out to be a guard
    start: int = 0
    is_guard: bool = False

    def describe(self, negated: int, text: str) -> str:
        """The branch's condition when the first `negated` branches were false."""
        parts = [f"!({n})" if " " in n else f"!{n}" for n in self.negated[:negated]]
        if text:
            parts.append(text)
        return " && ".join(parts)


class _Branch:
    """The `#if` branches in force at a point: one branch, linked to those around it.

    Enclosing branches are shared, never copied, so that each directive costs
    the same however deep the nesting (a copy per directive made 10,000 nested
    `#if` take a minute and 800 MB); the tuple a caller asks for is built on
    demand and kept.
    """

    __slots__ = ("outer", "cond", "negated", "text", "guard", "_value")

    def __init__(self, outer: _Branch | None, cond: _Cond) -> None:
        self.outer = outer
        self.cond = cond
        self.negated = len(cond.negated)  # cond.negated only grows: a prefix is stable
        self.text = cond.text
        self.guard = cond.is_guard
        self._value: tuple[str, ...] | None = None

    def value(self) -> tuple[str, ...]:
        """Conditions, outermost first (guards and empty ones left out)."""
        if self._value is None:
            parts: list[str] = []
            node: _Branch | None = self
            while node is not None and node._value is None:
                if not node.guard:
                    part = node.cond.describe(node.negated, node.text)
                    if part:
                        parts.append(part)
                node = node.outer
            outer: tuple[str, ...] = () if node is None or node._value is None else node._value
            self._value = outer + tuple(reversed(parts))
        return self._value


@dataclass
class SourceFile:
    """One C file: its exact bytes, a masked copy, and what the scan found."""

    path: str
    data: bytes
    masked: bytes = b""
    functions: list[FunctionDef] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Bracket structure: offset of an opening bracket -> just past its closer,
    # for every brace and every bracket outside function bodies (set bodies,
    # macro calls, initializers, prototypes).  Parentheses inside bodies are
    # most of a file's brackets and no consumer needs them.
    closer: dict[int, int] = field(default_factory=dict)
    blocks: list[tuple[int, int]] = field(default_factory=list)  # top-level `{...}`
    statement_starts: list[int] = field(default_factory=list)  # top-level, ascending
    _cond_offsets: list[int] = field(default_factory=list)
    _cond_values: list[tuple[_Branch | None, bool]] = field(default_factory=list)
    _newlines: list[int] | None = None

    def line_of(self, offset: int) -> int:
        """1-based line number of a byte offset."""
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer(b"\n", self.data)]
        return bisect.bisect_left(self._newlines, offset) + 1

    def condition_at(self, offset: int) -> tuple[str, ...]:
        """The `#if` conditions (outermost first) in force at a byte offset."""
        i = bisect.bisect_right(self._cond_offsets, offset) - 1
        branch = self._cond_values[i][0] if i >= 0 else None
        return branch.value() if branch is not None else ()

    def is_dead(self, offset: int) -> bool:
        """True inside a region the preprocessor never compiles (`#if 0`)."""
        i = bisect.bisect_right(self._cond_offsets, offset) - 1
        return self._cond_values[i][1] if i >= 0 else False

    def in_block(self, offset: int) -> bool:
        """True inside a top-level `{...}`: a function body or an initializer."""
        i = bisect.bisect_right(self.blocks, (offset, len(self.data) + 1)) - 1
        return i >= 0 and self.blocks[i][0] < offset < self.blocks[i][1]

    def statement_start(self, offset: int) -> int:
        """Where the top-level statement holding `offset` starts."""
        i = bisect.bisect_right(self.statement_starts, offset) - 1
        return self.statement_starts[i] if i >= 0 else 0

    def defines(self, macro: str) -> bool:
        """True if a `#define` of this file names `macro`."""
        return any(d.kind == "define" and d.rest.split("(", 1)[0].split()[:1] == [macro]
                   for d in self.directives)

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8", "surrogateescape")


def scan(path: str, data: bytes) -> SourceFile:
    """Scan one file: comments, literals, conditionals, top-level definitions."""
    # The scan makes no reference cycles, only many small objects (several per
    # directive): Python's cycle collector would walk them again and again and
    # make 64,000 nested `#if` cost 2.5x what 32,000 do.  Reference counting
    # frees them all the same.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(path, data)
    finally:
        if enabled:
            gc.enable()


def _scan(path: str, data: bytes) -> SourceFile:
    src = SourceFile(path=path, data=data)
    masked = bytearray(data)
    conds: list[_Cond] = []
    branches: list[_Branch] = []  # per open #if: its branch in force, linked outward
    deads: list[bool] = []  # per open #if: is it or an enclosing one dead
    stack: list[tuple[int, int, FunctionDef | None]] = []  # (char, offset, pending def)
    open_count = _count_openers(stack)  # per opener byte: how many are on the stack
    stmt_start = 0
    starts = src.statement_starts
    starts.append(0)
    blocks = src.blocks
    dead = False

    def record_conditions(offset: int) -> None:
        src._cond_offsets.append(offset)
        src._cond_values.append((branches[-1] if branches else None, dead))

    def enter_branch(cond: _Cond) -> None:
        """The innermost #if is in a new branch (or became a guard): link it."""
        outer = branches[-2] if len(branches) > 1 else None
        branches[-1] = _Branch(outer, cond)
        deads[-1] = (deads[-2] if len(deads) > 1 else False) or cond.dead

    record_conditions(0)
    pos = 0
    while True:
        in_body = bool(stack) and stack[0][2] is not None
        m = (BODY_START_RE if in_body else START_RE).search(data, pos)
        if m is None:
            break
        start = pos = m.start()
        kind, end = _token_at(data, start)
        if kind == "":  # a division, or an unterminated literal: not a token
            pos = start + 1
            continue
        if kind == "pp":  # the directive starts at its line's start
            while start and data[start - 1] in HSPACE:
                start -= 1
        pos = end
        if kind == "punct":
            if dead:
                masked[start:end] = b" "
                continue
            ch = data[start]
            if ch in (0x7B, 0x28, 0x5B):  # { ( [
                pending = None
                if ch == 0x7B and not stack:
                    pending = analyze_header(src, masked, stmt_start, start)
                stack.append((ch, start, pending))
                open_count[ch] += 1
            elif ch == 0x3B:  # ;
                if not stack:
                    stmt_start = end
                    starts.append(end)
            else:
                opener = CLOSER_OF[ch]
                if stack and stack[-1][0] == opener:
                    depth: int | None = len(stack) - 1
                elif open_count[opener]:
                    # The count says at once when no such opener is open: searching
                    # the whole stack for each stray closer was quadratic.
                    depth = next(
                        (i for i in range(len(stack) - 1, -1, -1) if stack[i][0] == opener),
                        None,
                    )
                else:
                    depth = None
                if depth is None:
                    src.warnings.append(
                        f"{path}:{src.line_of(start)}: unbalanced '{chr(ch)}' ignored"
                    )
                    continue
                if depth != len(stack) - 1:
                    _, where, _ = stack[-1]
                    src.warnings.append(
                        f"{path}:{src.line_of(where)}: unclosed '{chr(stack[-1][0])}'"
                    )
                _, open_at, pending = stack[depth]
                for closed, _, _ in stack[depth:]:
                    open_count[closed] -= 1
                if ch == 0x7D or stack[0][2] is None:  # braces, and all outside bodies
                    src.closer[open_at] = end
                del stack[depth:]
                if not stack:
                    if pending is not None and ch == 0x7D:
                        pending.body_end = end
                        src.functions.append(pending)
                    if ch == 0x7D:
                        stmt_start = end
                        starts.append(end)
                        blocks.append((open_at, end))
            continue

        masked[start:end] = data[start:end].translate(BLANK)
        if kind == "string" and end - start >= 2:
            masked[start] = masked[end - 1] = 0x22
        if kind != "pp":
            continue
        directive = _directive(data, start, end)
        src.directives.append(directive)
        name = directive.kind
        if name in ("if", "ifdef", "ifndef"):
            text = directive.rest.strip()
            if name == "ifndef":
                cond = _Cond(f"!{text}", [], False, False, stack[:], guard=text, start=end)
            else:
                is_zero = name == "if" and text in ("0", "(0)")
                is_one = name == "if" and text in ("1", "(1)")
                cond = _Cond(text, [], is_zero, is_one, stack[:], start=end)
            conds.append(cond)
            branches.append(_Branch(None, cond))  # linked by enter_branch below
            deads.append(False)
        elif name in ("elif", "else", "elifdef", "elifndef") and conds:
            cond = conds[-1]
            # Brackets after #endif follow the first *live* branch (`#if 0` has none).
            if cond.first_branch_end is None and not cond.dead:
                cond.first_branch_end = stack[:]
            stack = cond.stack_at_if[:]
            open_count = _count_openers(stack)
            if cond.text:
                cond.negated.append(cond.text)
            text = directive.rest.strip() if name != "else" else ""
            if name == "elifdef":
                text = text
            elif name == "elifndef":
                text = f"!{text}"
            if cond.dead and text == "":
                cond.dead = cond.live_done  # `#else` of `#if 0` is live
            elif text in ("0", "(0)"):
                cond.dead = True
            else:
                cond.dead = cond.live_done
            if text in ("1", "(1)"):
                cond.live_done = True
            cond.text = text
            cond.is_guard = False
        elif name == "endif" and conds:
            cond = conds.pop()
            branches.pop()
            deads.pop()
            if cond.first_branch_end is not None:
                stack = cond.first_branch_end
                open_count = _count_openers(stack)
        elif name == "define" and conds and conds[-1].guard:
            cond = conds[-1]
            macro = directive.rest.split(None, 1)[0] if directive.rest.strip() else ""
            between = masked[cond.start : start]
            if macro == cond.guard and not between.strip() and not cond.negated:
                cond.is_guard = True
                enter_branch(cond)
                record_conditions(end)
            cond.guard = None  # only the first #define can make a guard: stop looking
        if name in CONDITIONALS:
            if conds and name != "endif":
                enter_branch(conds[-1])
            dead = deads[-1] if deads else False
            record_conditions(end)
        if not stack:
            stmt_start = end
            starts.append(end)

    if conds:
        src.warnings.append(f"{path}: {plural(len(conds), 'unterminated #if block')}")
    if stack:
        ch, where, _ = stack[0]
        src.warnings.append(f"{path}:{src.line_of(where)}: unclosed '{chr(ch)}' at end of file")
    src.masked = bytes(masked)
    # `#else` branches rewind the bracket stack: keep the lists sorted for bisect.
    if any(a > b for a, b in zip(starts, starts[1:], strict=False)):
        starts.sort()
    if any(a > b for a, b in zip(blocks, blocks[1:], strict=False)):
        blocks.sort()
    return src


def _count_openers(stack: list[tuple[int, int, FunctionDef | None]]) -> dict[int, int]:
    counts = dict.fromkeys(CLOSER_OF.values(), 0)
    for ch, _, _ in stack:
        counts[ch] += 1
    return counts


def _token_at(data: bytes, at: int) -> tuple[str, int]:
    """The kind and end of the token starting at `at` ("" when none starts there)."""
    ch = data[at]
    if ch == 0x2F:  # /
        m = COMMENT_RE.match(data, at)
        return ("comment", m.end()) if m else ("", at)
    if ch == 0x22:  # "
        m = STRING_RE.match(data, at)
        return ("string", m.end()) if m else ("", at)
    if ch == 0x27:  # '
        m = CHAR_RE.match(data, at)
        return ("char", m.end()) if m else ("", at)
    if ch == 0x23:  # #: a directive only when nothing but blanks precede it on its line
        line = at
        while line and data[line - 1] in HSPACE:
            line -= 1
        if line and data[line - 1] != 0x0A:
            return ("", at)
        return ("pp", PP_RE.match(data, at).end())  # type: ignore[union-attr]
    return ("punct", at + 1)


def _directive(data: bytes, start: int, end: int) -> Directive:
    raw = CONTINUATION_RE.sub(b" ", data[start:end])
    m = DIRECTIVE_RE.match(raw)
    kind = m.group(1).decode("ascii", "replace") if m else ""
    rest = m.group(2).decode("utf-8", "surrogateescape") if m else ""
    # Comments inside the directive are not part of its value.
    rest = re.sub(r"/\*.*?\*/|//.*", " ", rest, flags=re.S).strip()
    return Directive(kind, rest, start, end)


# --- a scan as plain data (the index cache keeps it under the file's blob id) ----------

# Bump when what freeze() returns, or what scan() finds, changes meaning.
SCAN_FORMAT = 1


def freeze(src: SourceFile) -> dict[str, object]:
    """What the scan found, without the file's bytes, as values pickle can write.

    The `#if` branches are linked outward (see `_Branch`): written as a table,
    outer ones first, so that no chain is written recursively (10,000 nested
    `#if` would exceed pickle's recursion limit).
    """
    state = {k: v for k, v in vars(src).items() if k not in ("data", "_newlines")}
    node_ids: dict[int, int] = {}
    cond_ids: dict[int, int] = {}
    conds: list[list[str]] = []
    nodes: list[tuple[int, int, int, str, bool]] = []  # outer, cond, negated, text, guard
    values: list[tuple[int, bool]] = []
    for branch, dead in src._cond_values:
        chain = []
        node = branch
        while node is not None and id(node) not in node_ids:
            chain.append(node)
            node = node.outer
        for n in reversed(chain):
            if id(n.cond) not in cond_ids:
                cond_ids[id(n.cond)] = len(conds)
                conds.append(n.cond.negated)
            outer = node_ids[id(n.outer)] if n.outer is not None else -1
            node_ids[id(n)] = len(nodes)
            nodes.append((outer, cond_ids[id(n.cond)], n.negated, n.text, n.guard))
        values.append((node_ids[id(branch)] if branch is not None else -1, dead))
    state["_cond_values"] = (conds, nodes, values)
    return state


def thaw(state: dict[str, object], path: str, data: bytes) -> SourceFile:
    """The SourceFile `freeze()` wrote, for these bytes (those it was scanned from)."""
    conds_table: list[list[str]]
    nodes: list[tuple[int, int, int, str, bool]]
    values: list[tuple[int, bool]]
    conds_table, nodes, values = state["_cond_values"]  # type: ignore[misc]
    conds = [_Cond("", negated, False, False, []) for negated in conds_table]
    branches: list[_Branch] = []
    for outer, cond, negated, text, guard in nodes:
        branch = _Branch.__new__(_Branch)
        branch.outer = branches[outer] if outer >= 0 else None
        branch.cond = conds[cond]
        branch.negated, branch.text, branch.guard, branch._value = negated, text, guard, None
        branches.append(branch)
    src = SourceFile.__new__(SourceFile)
    vars(src).update(state)
    src.path, src.data, src._newlines = path, data, None
    src._cond_values = [(branches[b] if b >= 0 else None, dead) for b, dead in values]
    return src
