"""Property: the diff built from a change's edit spans is the one `git diff --no-index` prints.

Files are C-like lines where `{`, `}`, blank lines and `return 0;` repeat, so
that added and removed groups can often sit in several places and git's
sliding rules (indent heuristic included) decide where.  The edits are the
kinds rules make: new lines inserted anywhere, and insertions, deletions and
replacements at any byte of a line the file holds once (a definition's
header, a set's macro line), writing new text.

Where an edit rewrites lines that also occur around it (`return 0;` turned
into `__bpf_kfunc return 0;` next to another `return 0;`), two different
minimal diffs can exist that are not one slide apart; git picks one by the
order of its Myers search, we pick the one the edit spans say.  Both apply
to the same result, which the second property checks for any edits at all.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfuncfix.engine import FileChange
from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.outputs.diff import diffstat, unified_diff

COMMON = ["", "{", "}", "\t}", "\treturn 0;", "#endif", " *", "\t\tbreak;"]
UNIQUE = st.integers(0, 10**6).map(lambda n: f"int f{n}(int a,")
LINE = st.one_of(st.sampled_from(COMMON), UNIQUE,
                 st.integers(0, 99).map(lambda n: f"\tx{n} = {n};"))
# What an edit writes: a prefix, new lines or nothing, never a copy of lines
# the file has (see the module docstring for why).
FRESH = st.integers(0, 10**6).map(lambda n: f"\tnew_{n}();")
ANY_TEXT = st.one_of(
    st.lists(LINE, max_size=4).map(lambda lines: "".join(line + "\n" for line in lines)),
    st.lists(LINE, min_size=1, max_size=3).map("\n".join),
)
TEXT = st.one_of(
    st.just(""),
    st.just("__bpf_kfunc "),
    st.just("#include <linux/btf.h>\n"),
    st.lists(FRESH, min_size=1, max_size=4).map(lambda lines: "".join(x + "\n" for x in lines)),
    st.lists(FRESH, min_size=1, max_size=3).map("\n".join),
)


def _file(draw: st.DrawFn) -> tuple[list[str], bytes]:
    lines = draw(st.lists(LINE, max_size=40))
    old = "".join(line + "\n" for line in lines)
    if old and draw(st.booleans()):
        old = old[:-1]  # no newline at end of file
    return lines, old.encode()


@st.composite
def rule_like_changes(draw: st.DrawFn) -> tuple[bytes, list[Edit]]:
    """Edits as rules make them: new lines inserted anywhere, and changes inside lines
    the file holds once (a definition's header, a set's macro line)."""
    lines, data = _file(draw)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    once = [i for i, line in enumerate(lines) if lines.count(line) == 1]
    edits: list[Edit] = []
    for _ in range(draw(st.integers(0, 6))):
        if once and draw(st.booleans()):
            i = draw(st.sampled_from(once))
            start = starts[i] + draw(st.integers(0, len(lines[i])))
            # Inside the line: a rule rewrites a header or a macro name, never
            # the line break (joining lines makes diffs git may align otherwise).
            line_end = min(len(data), starts[i] + len(lines[i]))
            end = start + draw(st.integers(0, max(line_end - start, 0)))
        else:
            # New lines at a line start (an #include, an EXPORT_SYMBOL_KFUNC line).
            start = end = min(len(data), starts[draw(st.integers(0, len(lines)))])
            edits.append(Edit(start, end, draw(TEXT.filter(lambda t: t.endswith("\n")))
                              .encode()))
            continue
        edits.append(Edit(start, end, draw(TEXT).encode()))
    return data, _without_overlaps(edits)


@st.composite
def any_changes(draw: st.DrawFn) -> tuple[bytes, list[Edit]]:
    """Any spans replaced by any text, copies of the file's own lines included."""
    _, data = _file(draw)
    edits = [Edit(start, min(len(data), start + draw(st.integers(0, 400))), draw(ANY_TEXT).encode())
             for start in draw(st.lists(st.integers(0, len(data)), max_size=6))]
    return data, _without_overlaps(edits)


def _without_overlaps(edits: list[Edit]) -> list[Edit]:
    kept: list[Edit] = []
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if not kept or edit.start >= kept[-1].end and edit.start > kept[-1].start:
            kept.append(edit)
    return kept


def git_hunks(tmp_path: Path, old: bytes, new: bytes) -> tuple[bytes, bytes]:
    """git's hunks (from the first `@@`) and its --stat line for the same change."""
    (tmp_path / "a").write_bytes(old)
    (tmp_path / "b").write_bytes(new)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path))
    run = ["git", "diff", "--no-index", "--no-color"]
    out = subprocess.run([*run, "a", "b"], cwd=tmp_path, capture_output=True, env=env).stdout
    stat = subprocess.run([*run, "--stat=80", "a", "b"], cwd=tmp_path, capture_output=True,
                          env=env).stdout
    summary = stat.splitlines()[-1] if stat else b""
    return (out[out.find(b"\n@@") + 1:] if b"@@" in out else b""), summary


@settings(max_examples=int(os.environ.get("DIFF_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=rule_like_changes())
def test_hunks_are_gits(case: tuple[bytes, list[Edit]], tmp_path: Path) -> None:
    old, edits = case
    new = apply_edits(old, edits)
    change = FileChange("a", old, new, [], edits)
    ours = unified_diff([change])
    hunks, stat = git_hunks(tmp_path, old, new)
    assert (diffstat([change]).splitlines()[-1:] or [b""])[0] == stat
    mine = ours[ours.find(b"\n@@") + 1:] if ours else b""
    if mine != hunks:
        # Where a changed line equals its neighbour, two minimal diffs exist and
        # git may align the other one (linediff's docstring): the same counts
        # (above), and ours must still make the new file exactly.
        assert ambiguous(old, new) or realigned(mine, old, new), (mine, hunks)
        (tmp_path / "a").write_bytes(old)
        subprocess.run(["git", "apply", "-"], input=ours, cwd=tmp_path, check=True,
                       env=dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp_path)))
        assert (tmp_path / "a").read_bytes() == new


def realigned(hunks: bytes, old: bytes, new: bytes) -> bool:
    """A line our hunks add is also a line of the old file (or one they remove is a
    line of the new file): git may keep that line and move the change around it
    (an emptied line `\t\tbreak;` -> `` beside a blank one), at the same cost."""
    lines = hunks.split(b"\n")
    added = {ln[1:] for ln in lines if ln.startswith(b"+")}
    removed = {ln[1:] for ln in lines if ln.startswith(b"-")}
    return bool(added & set(old.split(b"\n")) or removed & set(new.split(b"\n")))


def ambiguous(old: bytes, new: bytes) -> bool:
    """Some line of either side equals the line next to it."""
    return any(a == b for data in (old, new)
               for a, b in zip(data.split(b"\n"), data.split(b"\n")[1:], strict=False))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=any_changes())
def test_git_apply_makes_the_new_file(case: tuple[bytes, list[Edit]], tmp_path: Path) -> None:
    """Whatever the edits write (copies of nearby lines too), the diff is exact."""
    old, edits = case
    new = apply_edits(old, edits)
    (tmp_path / "a").write_bytes(old)
    diff = unified_diff([FileChange("a", old, new, [], edits)])
    if not diff:
        assert old == new
        return
    subprocess.run(["git", "apply", "-"], input=diff, cwd=tmp_path, check=True,
                   env=dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp_path.parent)))
    assert (tmp_path / "a").read_bytes() == new
