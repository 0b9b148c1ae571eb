"""Git-style unified diffs and diffstats of planned changes, as bytes.

The output is what `git diff` would print for the same change: `diff --git`
headers with blob ids and mode (so `git apply` and `git am -3` accept it),
hunks with three lines of context and the enclosing function's line after
`@@`, and `\\ No newline at end of file` where it applies.  Lines are compared
as bytes, so files in any encoding and with any line endings come out
exactly as they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kfuncfix.engine.plan import FileChange
from kfuncfix.indexcache import blob_id
from kfuncfix.outputs.linediff import change_script, changed_lines, compact, hunks

CONTEXT = 3
ABBREV = 12
FUNCNAME_RE = re.compile(rb"[A-Za-z_$]")  # git's default hunk-header rule
LINE_RE = re.compile(rb"[^\n]*\n|[^\n]+\Z")
NO_EOL = b"\\ No newline at end of file\n"
RESET = b"\x1b[m"
META, FRAG, OLD, NEW = b"\x1b[1m", b"\x1b[36m", b"\x1b[31m", b"\x1b[32m"
STAT_WIDTH = 80
STAT_NAME_MAX = 50
NEEDS_QUOTE_RE = re.compile(rb'[\x00-\x1f\x7f"\\]')
C_ESCAPES = {0x07: b"\\a", 0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0B: b"\\v",
             0x0C: b"\\f", 0x0D: b"\\r", 0x22: b'\\"', 0x5C: b"\\\\"}

Painter = Callable[[bytes | None, bytes], bytes]
Opcodes = list[tuple[str, int, int, int, int]]




def split_lines(data: bytes) -> list[bytes]:
    """Lines with their `\\n` (a `\\r` stays part of the line, as git sees it)."""
    return LINE_RE.findall(data)


@dataclass(frozen=True)
class FileDiff:
    path: str
    hunks: list[Opcodes]  # difflib-style opcodes, one list per hunk
    old: list[bytes]
    new: list[bytes]

    @property
    def counts(self) -> tuple[int, int]:
        """(insertions, deletions)."""
        added = removed = 0
        for group in self.hunks:
            for tag, i1, i2, j1, j2 in group:
                if tag != "equal":
                    removed += i2 - i1
                    added += j2 - j1
        return added, removed


def file_diff(change: FileChange) -> FileDiff:
    """The hunks of one change, found from its edit spans (linear in the file's size)."""
    old, new = split_lines(change.old), split_lines(change.new)
    old_changed, new_changed = changed_lines(change, old, new)
    # git slides each group of changed lines to one canonical place (xdiff's
    # change compaction): do the same so that the hunks are git's.
    compact(old, old_changed, new_changed)
    compact(new, new_changed, old_changed)
    script = change_script(old_changed, new_changed)
    return FileDiff(change.path, hunks(script, len(old), len(new), CONTEXT), old, new)


def unified_diff(changes: Iterable[FileChange], modes: Mapping[str, int] | None = None,
                 color: bool = False) -> bytes:
    """The whole diff; `modes` maps paths to their st_mode (default 100644)."""
    out: list[bytes] = []
    paint = _painter(color)
    for change in changes:
        diff = file_diff(change)
        if not diff.hunks:
            continue
        old_name, new_name = git_path("a/", change.path), git_path("b/", change.path)
        # As git: a tab ends a name with spaces, so that patch(1) reads all of it.
        tab = b"\t" if " " in change.path else b""
        mode = f"{(modes or {}).get(change.path, 0o100644) & 0o777777:o}".encode()
        old_id, new_id = blob_id(change.old)[:ABBREV], blob_id(change.new)[:ABBREV]
        for line in (b"diff --git %s %s" % (old_name, new_name),
                     b"index %s..%s %s" % (old_id.encode(), new_id.encode(), mode),
                     b"--- " + old_name + tab, b"+++ " + new_name + tab):
            out.append(paint(META, line + b"\n"))
        function = _FunctionLine(diff.old)
        for group in diff.hunks:
            out.extend(_hunk(diff, group, function(group[0][1]), paint))
    return b"".join(out)


def git_path(prefix: str, path: str) -> bytes:
    """prefix + path as `git -c core.quotePath=false diff` writes it.

    The name's own bytes (any encoding: a path read from the tree carries
    undecodable bytes as surrogates), C-quoted only when it holds a control
    character, `"` or a backslash, which a diff line cannot hold as they are.
    """
    raw = os.fsencode(prefix + path)
    if not NEEDS_QUOTE_RE.search(raw):
        return raw
    return b'"' + NEEDS_QUOTE_RE.sub(lambda m: _quoted(m.group()[0]), raw) + b'"'


def _quoted(byte: int) -> bytes:
    return C_ESCAPES.get(byte) or b"\\%03o" % byte


def _hunk(diff: FileDiff, group: Opcodes, context: bytes, paint: Painter) -> list[bytes]:
    first, last = group[0], group[-1]
    i1, i2, j1, j2 = first[1], last[2], first[3], last[4]
    header = b"@@ -%s +%s @@" % (_range(i1, i2), _range(j1, j2))
    out = [paint(FRAG, header) + (b" " + context if context else b"") + b"\n"]
    for tag, a1, a2, b1, b2 in group:
        if tag == "equal":
            out.extend(_line(b" ", line, None, paint) for line in diff.old[a1:a2])
            continue
        out.extend(_line(b"-", line, OLD, paint) for line in diff.old[a1:a2])
        out.extend(_line(b"+", line, NEW, paint) for line in diff.new[b1:b2])
    return out


def _line(mark: bytes, line: bytes, color: bytes | None, paint: Painter) -> bytes:
    body = mark + line.rstrip(b"\n")
    text = paint(color, body) if color else body
    return text + b"\n" + (b"" if line.endswith(b"\n") else NO_EOL)


def _range(start: int, end: int) -> bytes:
    """Unified-diff range of lines [start, end) (0-based), as git writes it."""
    count = end - start
    if count == 1:
        return b"%d" % (start + 1)
    return b"%d,%d" % (start + 1 if count else start, count)


class _FunctionLine:
    """The line git shows after `@@`: the last one before the hunk starting like a name.

    Hunks come in file order, so each search stops where the previous one
    started (as git's xemit.c does): the whole file is read once, not once
    per hunk.
    """

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        self.searched = 0  # lines [0, searched) were looked at
        self.found = b""

    def __call__(self, before: int) -> bytes:
        for i in range(before - 1, self.searched - 1, -1):
            if FUNCNAME_RE.match(self.lines[i]):
                self.found = self.lines[i].rstrip()[:80].rstrip()
                break
        self.searched = max(self.searched, before)
        return self.found


def _painter(color: bool) -> Painter:
    def paint(code: bytes | None, text: bytes) -> bytes:
        if not color or code is None:
            return text
        body = text.rstrip(b"\n")
        return code + body + RESET + text[len(body):]
    return paint


def diffstat(changes: Iterable[FileChange]) -> bytes:
    """`git diff --stat` output: one line per file, then the totals."""
    rows = []
    for change in changes:
        added, removed = file_diff(change).counts
        if added or removed:
            rows.append((_short_name(change.path), added, removed))
    if not rows:
        return b""
    name_width = max(len(name) for name, _, _ in rows)
    count_width = len(str(max(a + r for _, a, r in rows)))
    graph_width = max(10, STAT_WIDTH - name_width - count_width - 6)
    biggest = max(a + r for _, a, r in rows)
    lines = []
    for name, added, removed in rows:
        plus, minus = _scaled(added, biggest, graph_width), _scaled(removed, biggest, graph_width)
        lines.append(f" {name:<{name_width}} | {added + removed:>{count_width}} "
                     f"{'+' * plus}{'-' * minus}".rstrip())
    total_added = sum(a for _, a, _ in rows)
    total_removed = sum(r for _, _, r in rows)
    summary = f" {len(rows)} file{'s' if len(rows) != 1 else ''} changed"
    if total_added:
        summary += f", {total_added} insertion{'s' if total_added != 1 else ''}(+)"
    if total_removed:
        summary += f", {total_removed} deletion{'s' if total_removed != 1 else ''}(-)"
    return ("\n".join([*lines, summary]) + "\n").encode("utf-8", "surrogateescape")


def _scaled(count: int, biggest: int, width: int) -> int:
    if biggest <= width or count == 0:
        return count
    return max(1, round(count * width / biggest))


def _short_name(path: str) -> str:
    return path if len(path) <= STAT_NAME_MAX else "..." + path[-(STAT_NAME_MAX - 3):]
