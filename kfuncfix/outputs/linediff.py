"""Which lines a planned change touches, placed where `git diff` places them.

A plan knows exactly what changes: its edits are byte spans of the old file.
So the changed lines are found region by region around the edits, and the
cost follows the size of the file and of the edits, never their product
(a whole-file LCS with difflib is quadratic and worse on C, where `{`, `}`
and blank lines repeat everywhere).

Where a group of added or removed lines could sit in several places (a blank
line added next to a blank line), git slides it to one canonical place: up
and down as far as it goes, then aligned with a change on the other side, or
else where its indent heuristic scores best (on by default since git 2.14).
`compact` does the same, following the rules of git's xdiff/xdiffi.c
(`xdl_change_compact`, `measure_split`, `score_add_split`) so that our hunks
are git's byte for byte (checked against `git diff --no-index` on random
edits and on every rule's diff of real kernel trees).  One case differs:
when an edit rewrites a line that also occurs right around it, two minimal
diffs can exist that are not one slide apart, and git's Myers search may
pick the other; both apply to the same bytes.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
from dataclasses import dataclass

from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.plan import FileChange
from kfuncfix.errors import KfuncfixError

# A region whose middle has more lines than this is not searched for common lines
# (difflib's cost grows with their product on repeated lines): every line of
# it is shown as changed, which is still a correct diff.
MIDDLE_LIMIT = 20_000


def changed_lines(change: FileChange, old: list[bytes],
                  new: list[bytes]) -> tuple[list[bool], list[bool]]:
    """Per line of old and of new: is it removed / added?  From the change's edits."""
    old_changed, new_changed = [False] * len(old), [False] * len(new)
    edits = sorted(change.edits, key=lambda e: (e.start, e.end))
    if not _describes(change, edits):
        # Edits that do not say what changed (a change built by hand): one region.
        edits = [Edit(0, len(change.old), change.new)]
    old_starts, new_starts = _starts(old), _starts(new)
    shift = 0  # bytes the edits before the current region added
    for region in _regions(edits, old_starts, len(change.old)):
        a, b = region.first, region.last
        old_begin = old_starts[a] if a < len(old) else len(change.old)
        old_end = old_starts[b] if b < len(old) else len(change.old)
        grown = sum(len(e.text) - (e.end - e.start) for e in region.edits)
        c = bisect.bisect_left(new_starts, old_begin + shift)
        d = bisect.bisect_left(new_starts, old_end + shift + grown)
        shift += grown
        _mark_region(old, a, b, new, c, d, old_changed, new_changed)
    return old_changed, new_changed


def _describes(change: FileChange, edits: list[Edit]) -> bool:
    """True if applying the edits to old gives new."""
    try:
        return bool(edits) and apply_edits(change.old, edits, change.path) == change.new
    except KfuncfixError:  # overlapping edits
        return False


@dataclass
class _Region:
    first: int  # old lines [first, last) hold every byte the edits touch
    last: int
    edits: list[Edit]


def _starts(lines: list[bytes]) -> list[int]:
    return [0, *itertools.accumulate(len(line) for line in lines)][:len(lines)]


def _regions(edits: list[Edit], starts: list[int], size: int) -> list[_Region]:
    """Edits grouped by the old lines they touch; groups sharing or touching a line merge."""
    regions: list[_Region] = []
    lines = len(starts)
    for edit in edits:
        first = max(0, bisect.bisect_right(starts, edit.start) - 1)
        # The line holding the byte at `end` changes too when the edit ends
        # inside it or its text joins it; an unchanged one is trimmed later.
        last = lines if edit.end >= size else bisect.bisect_right(starts, edit.end)
        # Regions with no line between them are one: a line one adds may be
        # the line the other removes (`{` + insertion, then `\n` + insertion).
        if regions and first <= regions[-1].last:
            regions[-1].last = max(regions[-1].last, last)
            regions[-1].edits.append(edit)
        else:
            regions.append(_Region(first, last, [edit]))
    return regions


def _mark_region(old: list[bytes], a: int, b: int, new: list[bytes], c: int, d: int,
                 old_changed: list[bool], new_changed: list[bool]) -> None:
    """Mark the lines that differ between old[a:b] and new[c:d]."""
    while a < b and c < d and old[a] == new[c]:
        a, c = a + 1, c + 1
    while a < b and c < d and old[b - 1] == new[d - 1]:
        b, d = b - 1, d - 1
    if a == b or c == d or (b - a) + (d - c) > MIDDLE_LIMIT or not set(old[a:b]) & set(new[c:d]):
        old_changed[a:b] = [True] * (b - a)
        new_changed[c:d] = [True] * (d - c)
        return
    matcher = difflib.SequenceMatcher(None, old[a:b], new[c:d], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            old_changed[a + i1:a + i2] = [True] * (i2 - i1)
            new_changed[c + j1:c + j2] = [True] * (j2 - j1)


# The indent heuristic's weights, as git has them (xdiff/xdiffi.c).
MAX_INDENT = 200
MAX_BLANKS = 20
START_OF_FILE_PENALTY = 1
END_OF_FILE_PENALTY = 21
TOTAL_BLANK_WEIGHT = -30
POST_BLANK_WEIGHT = 6
RELATIVE_INDENT_PENALTY = -4
RELATIVE_INDENT_WITH_BLANK_PENALTY = 10
RELATIVE_OUTDENT_PENALTY = 24
RELATIVE_OUTDENT_WITH_BLANK_PENALTY = 17
RELATIVE_DEDENT_PENALTY = 23
RELATIVE_DEDENT_WITH_BLANK_PENALTY = 17
INDENT_WEIGHT = 60
INDENT_HEURISTIC_MAX_SLIDING = 100
SPACE = frozenset(b" \t\n\v\f\r")


class _Groups:
    """Walks the groups of changed lines of one side: [start, end), possibly empty.

    There is a group before every unchanged line and one at the end, so the
    groups of the two sides correspond one to one.
    """

    def __init__(self, lines: list[bytes], changed: list[bool]) -> None:
        self.lines = lines
        self.changed = changed
        self.start = self.end = 0
        while self._is_changed(self.end):
            self.end += 1

    def _is_changed(self, i: int) -> bool:
        return 0 <= i < len(self.changed) and self.changed[i]

    def next(self) -> bool:
        if self.end == len(self.changed):
            return False
        self.start = self.end = self.end + 1
        while self._is_changed(self.end):
            self.end += 1
        return True

    def previous(self) -> bool:
        if self.start == 0:
            return False
        self.start = self.end = self.start - 1
        while self._is_changed(self.start - 1):
            self.start -= 1
        return True

    def slide_down(self) -> bool:
        if self.end < len(self.changed) and self.lines[self.start] == self.lines[self.end]:
            self.changed[self.start] = False
            self.changed[self.end] = True
            self.start += 1
            self.end += 1
            while self._is_changed(self.end):
                self.end += 1
            return True
        return False

    def slide_up(self) -> bool:
        if self.start > 0 and self.lines[self.start - 1] == self.lines[self.end - 1]:
            self.start -= 1
            self.end -= 1
            self.changed[self.start] = True
            self.changed[self.end] = False
            while self._is_changed(self.start - 1):
                self.start -= 1
            return True
        return False


def compact(lines: list[bytes], changed: list[bool], other_changed: list[bool]) -> None:
    """Slide this side's groups of changed lines where git puts them (in place)."""
    if not any(changed):
        return
    g = _Groups(lines, changed)
    other = _Groups([], other_changed)  # only walked in step, never slid
    while True:
        if g.end != g.start:
            _place(g, other)
        if not g.next():
            break
        other.next()


def _place(g: _Groups, other: _Groups) -> None:
    while True:  # slide up, then down, as far as possible; merged groups start over
        size = g.end - g.start
        end_matching_other = -1
        while g.slide_up():
            other.previous()
        earliest_end = g.end
        if other.end > other.start:
            end_matching_other = g.end
        while g.slide_down():
            other.next()
            if other.end > other.start:
                end_matching_other = g.end
        if size == g.end - g.start:
            break
    if g.end == earliest_end:
        return
    if end_matching_other != -1:
        # Line up with the last change of the other side it can reach.
        while other.end == other.start:
            g.slide_up()
            other.previous()
        return
    best_shift, best = -1, (0, 0)
    lowest = max(earliest_end, g.end - size - 1, g.end - INDENT_HEURISTIC_MAX_SLIDING)
    for shift in range(lowest, g.end + 1):
        score = _split_score(g.lines, shift, (0, 0))
        score = _split_score(g.lines, shift - size, score)
        if best_shift == -1 or _compare(score, best) <= 0:
            best_shift, best = shift, score
    while g.end > best_shift:
        g.slide_up()
        other.previous()


def _indent(line: bytes) -> int:
    """Columns of leading whitespace (tab stops of 8), -1 for a blank line."""
    columns = 0
    for byte in line:
        if byte not in SPACE:
            return columns
        if byte == 0x20:
            columns += 1
        elif byte == 0x09:
            columns += 8 - columns % 8
        if columns >= MAX_INDENT:
            return MAX_INDENT
    return -1


def _split_score(lines: list[bytes], split: int, score: tuple[int, int]) -> tuple[int, int]:
    """score + (effective indent, penalty) of splitting the lines above line `split`."""
    end_of_file = split >= len(lines)
    indent = -1 if end_of_file else _indent(lines[split])
    pre_blank, pre_indent = 0, -1
    for i in range(split - 1, -1, -1):
        pre_indent = _indent(lines[i])
        if pre_indent != -1:
            break
        pre_blank += 1
        if pre_blank == MAX_BLANKS:
            pre_indent = 0
            break
    post_blank, post_indent = 0, -1
    for i in range(split + 1, len(lines)):
        post_indent = _indent(lines[i])
        if post_indent != -1:
            break
        post_blank += 1
        if post_blank == MAX_BLANKS:
            post_indent = 0
            break

    penalty = 0
    if pre_indent == -1 and pre_blank == 0:
        penalty += START_OF_FILE_PENALTY
    if end_of_file:
        penalty += END_OF_FILE_PENALTY
    blank_after = 1 + post_blank if indent == -1 else 0
    total_blank = pre_blank + blank_after
    penalty += TOTAL_BLANK_WEIGHT * total_blank + POST_BLANK_WEIGHT * blank_after
    effective = indent if indent != -1 else post_indent
    blanks = total_blank != 0
    if effective != -1 and pre_indent != -1:
        if effective > pre_indent:
            penalty += RELATIVE_INDENT_WITH_BLANK_PENALTY if blanks else RELATIVE_INDENT_PENALTY
        elif effective < pre_indent:
            if post_indent != -1 and post_indent > effective:  # likely a block's start
                penalty += (RELATIVE_OUTDENT_WITH_BLANK_PENALTY if blanks
                            else RELATIVE_OUTDENT_PENALTY)
            else:  # likely a block's end
                penalty += (RELATIVE_DEDENT_WITH_BLANK_PENALTY if blanks
                            else RELATIVE_DEDENT_PENALTY)
    return score[0] + effective, score[1] + penalty


def _compare(a: tuple[int, int], b: tuple[int, int]) -> int:
    return INDENT_WEIGHT * ((a[0] > b[0]) - (a[0] < b[0])) + (a[1] - b[1])


Change = tuple[int, int, int, int]  # old start, old count, new start, new count


def change_script(old_changed: list[bool], new_changed: list[bool]) -> list[Change]:
    """The changes in file order: runs of removed and added lines at one place."""
    out: list[Change] = []
    i = j = 0
    n, m = len(old_changed), len(new_changed)
    while i < n or j < m:
        if (i < n and old_changed[i]) or (j < m and new_changed[j]):
            i0, j0 = i, j
            while i < n and old_changed[i]:
                i += 1
            while j < m and new_changed[j]:
                j += 1
            out.append((i0, i - i0, j0, j - j0))
        else:
            i, j = i + 1, j + 1
    return out


Opcode = tuple[str, int, int, int, int]  # as difflib's: tag, old [i1, i2), new [j1, j2)


def hunks(script: list[Change], n: int, m: int, context: int) -> list[list[Opcode]]:
    """Changes grouped into hunks as git groups them: at most 2 * context lines apart."""
    out: list[list[Opcode]] = []
    k = 0
    while k < len(script):
        e = k
        while (e + 1 < len(script)
               and script[e + 1][0] - (script[e][0] + script[e][1]) <= 2 * context):
            e += 1
        first, last = script[k], script[e]
        s1, s2 = max(first[0] - context, 0), max(first[2] - context, 0)
        tail = min(context, n - (last[0] + last[1]), m - (last[2] + last[3]))
        group: list[Opcode] = [("equal", s1, first[0], s2, first[2])]
        for index in range(k, e + 1):
            i, di, j, dj = script[index]
            if index > k:
                pi, pdi, pj, pdj = script[index - 1]
                group.append(("equal", pi + pdi, i, pj + pdj, j))
            group.append(("replace", i, i + di, j, j + dj))
        group.append(("equal", last[0] + last[1], last[0] + last[1] + tail,
                      last[2] + last[3], last[2] + last[3] + tail))
        out.append(group)
        k = e + 1
    return out
