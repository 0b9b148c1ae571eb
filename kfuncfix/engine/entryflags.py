"""The flags of one `BTF_ID_FLAGS(func, name, A | B)` entry, and its text after a change.

A rule removes, renames or adds flags; the entry keeps its layout: `A | B | C`
minus `B` is `A | C` (each kept flag keeps the separator written after it), an
entry left without flags is `BTF_ID_FLAGS(func, name)`, and a multi-line entry
is joined onto one line when that fits the line limit (else its continuation
lines stay where they were).  Works on the call's exact bytes and a copy with
comments blanked at the same offsets; an entry with a comment among its
arguments, or flags that are not a plain `A | B` list, is refused with the
reason rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kfuncfix.engine.edits import CannotRewrite
from kfuncfix.engine.layout import line_end, line_start, width
from kfuncfix.source import ctokens

ENTRY_MACRO = b"BTF_ID_FLAGS"
CALL_RE = re.compile(rb"\bBTF_ID_FLAGS\s*\(")
IDENT_RE = re.compile(rb"[A-Za-z_]\w*\Z")
# Comments and literals (blanked), and a backslash ending a macro line (a blank
# between tokens inside a #define).
MASK_RE = re.compile(
    f"{ctokens.COMMENT}|{ctokens.STRING}|{ctokens.CHAR}".encode("ascii") + rb"|\\(?=\r?\n)", re.S)
BACKSLASH_RE = re.compile(rb"\\(?=\r?\n)")
# A line break inside a call, with the blanks around it (and a macro's backslash).
BREAK_RE = re.compile(rb"[ \t]*\\?\r?\n[ \t]*")


@dataclass(frozen=True)
class FlagChange:
    """What a rule does to an entry's flags, in this order: rename, remove, add."""

    remove: tuple[str, ...] = ()
    add: tuple[str, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()  # (old, new) pairs

    @property
    def rename(self) -> Mapping[str, str]:
        return dict(self.renames)

    def apply(self, flags: tuple[str, ...]) -> tuple[str, ...]:
        """The flags after the change (a rename onto a flag already there merges)."""
        rename = self.rename
        out: list[str] = []
        for flag in (rename.get(f, f) for f in flags):
            if flag not in out and flag not in self.remove:
                out.append(flag)
        out += [f for f in self.add if f not in out]
        return tuple(out)

    def describe(self, flags: tuple[str, ...], plural: bool = False) -> str:
        """What is wrong with entries carrying `flags`: `carries KF_X`, `lacks KF_Y`."""
        rename = self.rename
        carry, lack = ("carry", "lack") if plural else ("carries", "lacks")
        wrong = [f for f in flags if f in self.remove]
        wrong += [f"{f} (now {rename[f]})" for f in flags if f in rename]
        missing = [f for f in self.add if f not in flags]
        parts = [f"{carry} {' and '.join(wrong)}"] if wrong else []
        parts += [f"{lack} {' and '.join(missing)}"] if missing else []
        return " and ".join(parts)


@dataclass(frozen=True)
class Call:
    """A `BTF_ID_FLAGS(...)` call: where it is and what its arguments are."""

    start: int  # the macro name
    end: int  # just past the closing parenthesis
    args: tuple[tuple[int, int], ...]  # each argument's bytes, blanks trimmed
    flags: tuple[tuple[int, int], ...]  # each flag's bytes, in order

    def flag_names(self, data: bytes) -> tuple[str, ...]:
        return tuple(data[s:e].decode("latin-1") for s, e in self.flags)


def mask(data: bytes) -> bytes:
    """`data` with comments and literals blanked (newlines kept): for text a scan did
    not mask, such as the body of a #define."""
    def blank(m: re.Match[bytes]) -> bytes:
        return re.sub(rb"[^\n]", b" ", m.group())

    return MASK_RE.sub(blank, data)


def parse_call(data: bytes, masked: bytes, start: int, end: int) -> Call:
    """The call written at data[start:end] (`end` just past its `)`); `masked` is
    data[start:end] with comments and literals blanked."""
    def chunk(a: int, b: int) -> bytes:
        return masked[a - start:b - start]

    open_at = masked.find(b"(") + start
    if open_at < start or chunk(end - 1, end) != b")":
        raise CannotRewrite("not a complete BTF_ID_FLAGS(...) call")
    macro = chunk(start, open_at).strip()
    if macro != ENTRY_MACRO:
        raise CannotRewrite(f"a {macro.decode('latin-1')}() entry takes no flags")
    close = ctokens.closing(masked, open_at - start, end - start)
    if 0 <= close != end - 1 - start:
        raise CannotRewrite("unbalanced parentheses in the entry")
    commas, _ = ctokens.separators(masked, open_at - start, end - start)
    bounds = [open_at, *(c + start for c in commas), end - 1]
    args = tuple(_trimmed(masked, start, a + 1, b)
                 for a, b in zip(bounds, bounds[1:], strict=False))
    if len(args) < 2:
        raise CannotRewrite("the entry has no name")
    if len(args) > 3:
        raise CannotRewrite("flags given in more than one argument")
    if BACKSLASH_RE.sub(b" ", data[args[1][1]:end]) != chunk(args[1][1], end):
        raise CannotRewrite("a comment or literal among the entry's flags; change it by hand")
    flags: list[tuple[int, int]] = []
    if len(args) == 3:
        s, e = args[2]
        expect_flag = True
        for m in ctokens.BYTES_TOKEN_RE.finditer(masked, s - start, e - start):
            token = m.group()
            if not (IDENT_RE.match(token) if expect_flag else token == b"|"):
                raise CannotRewrite(f"flags {data[s:e].decode('latin-1')!r} are not a plain "
                                    "A | B list; change them by hand")
            if expect_flag:
                flags.append((m.start() + start, m.end() + start))
            expect_flag = not expect_flag
        if expect_flag:
            raise CannotRewrite("the entry's flags end in '|' or are empty")
    return Call(start, end, args, tuple(flags))


def _trimmed(masked: bytes, base: int, start: int, end: int) -> tuple[int, int]:
    """[start, end) without the blanks (and macro backslashes) at either side."""
    while start < end and masked[start - base] in b" \t\r\n\\":
        start += 1
    while end > start and masked[end - 1 - base] in b" \t\r\n\\":
        end -= 1
    return start, end


def rewritten(data: bytes, call: Call, change: FlagChange, line_limit: int) -> bytes | None:
    """The call's new text, or None when the change leaves its flags as they are."""
    names = call.flag_names(data)
    new = change.apply(names)
    if new == names:
        return None
    rename = change.rename or {}
    # Each kept flag with the separator written after it (to the next flag).
    kept: list[tuple[bytes, bytes]] = []
    done: set[str] = set()
    for i, (_, e) in enumerate(call.flags):
        name = rename.get(names[i], names[i])
        if name not in new or name in done:
            continue
        done.add(name)
        sep = data[e:call.flags[i + 1][0]] if i + 1 < len(call.flags) else b" | "
        kept.append((name.encode(), sep))
    added = [f.encode() for f in new if f not in done]
    if not kept and not added:
        # No flag left: `BTF_ID_FLAGS(func, name)`, whatever stood after the name.
        text = data[call.start:call.args[1][1]] + b")"
        return _joined(data, call, text, line_limit)
    if not call.flags:
        return data[call.start:call.args[1][1]] + b", " + b" | ".join(added) + b")"
    parts = [f for pair in kept for f in pair][:-1] if kept else []
    if added:
        parts = [*parts, *([b" | "] if parts else []), b" | ".join(added)]
    first, last = call.flags[0][0], call.flags[-1][1]
    text = data[call.start:first] + b"".join(parts) + data[last:call.end]
    return _joined(data, call, text, line_limit)


def _joined(data: bytes, call: Call, text: bytes, line_limit: int) -> bytes:
    """`text` on one line when it spans several and one line fits the limit."""
    if b"\n" not in text:
        return text
    one = BREAK_RE.sub(b" ", text).replace(b"( ", b"(").replace(b" )", b")")
    line = data[line_start(data, call.start):call.start] + one + \
        data[call.end:line_end(data, call.end)]
    return one if width(line) <= line_limit else text


def too_long(data: bytes, start: int, end: int, text: bytes, line_limit: int) -> bool:
    """Whether a line of the result of replacing data[start:end] with text passes the limit."""
    lines = (data[line_start(data, start):start] + text + data[end:line_end(data, end)])
    return any(width(line.rstrip(b"\r")) > line_limit for line in lines.split(b"\n"))


def same_call(before: bytes, after: bytes, change: FlagChange) -> str | None:
    """A span check: `after` is the call `before` with exactly the change to its flags
    (blanks and line breaks aside); None when it is, else what differs."""
    try:
        old = parse_call(before, mask(before), 0, len(before))
        new = parse_call(after, mask(after), 0, len(after))
    except CannotRewrite as exc:
        return f"not a BTF_ID_FLAGS call after the edit: {exc}"

    def plain(data: bytes, span: tuple[int, int]) -> bytes:
        return BREAK_RE.sub(b" ", data[span[0]:span[1]]).replace(b" ", b"")

    head_old = [plain(before, (0, old.args[0][0]))] + [plain(before, a) for a in old.args[:2]]
    head_new = [plain(after, (0, new.args[0][0]))] + [plain(after, a) for a in new.args[:2]]
    if head_old != head_new:
        return f"the entry's macro, func or name changed: {before!r} -> {after!r}"
    want = change.apply(old.flag_names(before))
    got = new.flag_names(after)
    return None if got == want else f"flags {got} where the rule makes {want}"
