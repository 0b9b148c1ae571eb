"""The KF_TRUSTED_ARGS wave on Debian's 6.12, checked against what upstream did by 7.2.

6.12 still has the flag on 33 set entries in 13 files (git grep below finds
them independently of kfuncfix); 7.2 has none and no longer defines it.  An
entry is counted where its text is written: net/core/xdp.c's
`#define XDP_METADATA_KFUNC(...) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)`
is one entry (one line to change, one finding) although it makes the entries
of three kfuncs, exactly as a developer grepping for the flag counts it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import load_rule, plan
from kfuncfix.engine.entrysites import MacroSites, entry_site
from kfuncfix.model import KFUNC, TreeIndex
from kfuncfix.outputs.kbuild import Kbuild
from kfuncfix.series import plan_series
from kfuncfix.treefiles import in_scope
from tests.conftest import git_worktree
from tests.series_helper import git, header, patch_files

pytestmark = pytest.mark.realtree

RULE = "kf_trusted_args_default"
FLAG = "KF_TRUSTED_ARGS"
# Entries whose flags 7.2 changed for other reasons than this wave: for them the
# 6.12 entry without the flag is not 7.2's entry.
EXCEPTIONS = {
    # 7.x arena kfuncs no longer sleep and say which argument/return value is an
    # arena pointer (KF_ARENA_RET, KF_ARENA_ARG2).
    "bpf_arena_alloc_pages": ("KF_ARENA_RET", "KF_ARENA_ARG2"),
    "bpf_arena_free_pages": ("KF_ARENA_ARG2",),
    # 7.x sched_ext kfuncs get their scheduler from the verifier (KF_IMPLICIT_ARGS).
    "scx_bpf_exit_bstr": ("KF_IMPLICIT_ARGS",),
    "scx_bpf_error_bstr": ("KF_IMPLICIT_ARGS",),
    "scx_bpf_dump_bstr": ("KF_IMPLICIT_ARGS",),
}


def kfuncfix(*args: str):
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    return CliRunner(env=env).invoke(main, list(args))


def grep_entries(tree: Path) -> set[tuple[str, int]]:
    """(file, line) of each BTF_ID_FLAGS entry carrying the flag, by git grep: a line
    with the flag that starts an entry, or continues the entry on the line above."""
    out = subprocess.run(["git", "-C", str(tree), "grep", "-n", "-B1", "-w", FLAG],
                         capture_output=True, text=True, check=True).stdout
    found = set()
    previous: tuple[str, int, str] | None = None
    for line in out.splitlines():
        m = re.match(r"(.+?)([:-])(\d+)[:-](.*)", line)
        if m is None:  # "--" between groups
            previous = None
            continue
        path, kind, number, text = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        if kind == ":" and in_scope(path) and not text.lstrip().startswith(("*", "/*", "//")):
            if "BTF_ID_FLAGS(" in text:
                found.add((path, number))
            elif previous and previous[0] == path and "BTF_ID_FLAGS(" in previous[2]:
                found.add((path, previous[1]))
        previous = (path, number, text)
    return found


def entry_texts(index: TreeIndex) -> dict[str, str]:
    """Each kfunc's BTF_ID_FLAGS call as written (in its set, or in the #define that
    makes it), blanks and line breaks removed."""
    sites = MacroSites(index)
    texts: dict[str, str] = {}
    for idset in index.sets:
        if idset.kind != KFUNC:
            continue
        for entry in idset.entries:
            data = index.sources[idset.file].data
            found = sites.of(idset, entry) if entry.via_macro else [entry_site(idset, entry)]
            for site in found:
                data = index.sources[site.path].data
                calls = list(site.calls(data)) if site.macro else [(site.start, site.end)]
                text = b"".join(data[s:e] for s, e in calls).decode()
                texts[entry.name] = re.sub(r"\s|\\", "", text)
    return texts


@pytest.fixture(scope="module")
def index612(linux612: Path) -> TreeIndex:
    return discover(linux612)


@pytest.fixture(scope="module")
def applied(linux612: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A worktree of 6.12 after `apply --rule kf_trusted_args_default`."""
    wt = git_worktree(linux612, tmp_path_factory.mktemp("wt612") / "wt")
    once = kfuncfix("apply", "--rule", RULE, str(wt))
    assert once.exit_code == 0, once.stderr
    yield wt
    subprocess.run(["git", "-C", str(linux612), "worktree", "remove", "--force", str(wt)],
                   capture_output=True)


def test_one_finding_per_entry_git_grep_finds(linux612: Path) -> None:
    expected = grep_entries(linux612)
    assert len(expected) == 33 and len({f for f, _ in expected}) == 13
    out = kfuncfix("check", "--rule", RULE, str(linux612))
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    found = {(m.group(1), int(m.group(2))) for m in
             (re.match(r"(.+?):(\d+): WARNING: kf_trusted_args_default: ", line)
              for line in lines) if m}
    assert len(found) == len(lines) == 33
    assert found == expected
    # The X-macro entry is one finding naming the three kfuncs its #define makes.
    xdp = [line for line in lines if line.startswith("net/core/xdp.c:")]
    assert len(xdp) == 1 and "bpf_xdp_metadata_rx_vlan_tag" in xdp[0]


def test_apply_drops_the_flag_and_nothing_else(linux612: Path, applied: Path) -> None:
    diff = subprocess.run(["git", "-C", str(applied), "diff", "-U0"], capture_output=True,
                          text=True, check=True).stdout
    hunks = re.findall(r"^\+\+\+ b/(.+)$|^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@.*\n"
                       r"((?:[-+].*\n)*)", diff, re.M)
    touched = set()
    path = ""
    for name, start, count, body in hunks:
        if name:
            path = name
            continue
        old = [line[1:] for line in body.splitlines() if line.startswith("-")]
        new = [line[1:] for line in body.splitlines() if line.startswith("+")]
        assert len(old) == int(count or 1)
        # The old lines are entries carrying the flag (adjacent ones share a
        # hunk); the new ones are the same without it, blanks aside.
        before = " ".join(old)
        dropped = re.sub(rf"\s*\|\s*{FLAG}\b|\b{FLAG}\s*\|\s*|,\s*{FLAG}(?=\s*\))", "", before)
        assert FLAG not in dropped, body
        assert re.sub(r"\s+", " ", dropped) == re.sub(r"\s+", " ", " ".join(new)), body
        touched |= {(path, n) for n in range(int(start), int(start) + len(old))}
    entries = grep_entries(linux612)
    # Every entry changed, and no other line but the continuation of fs/'s entry.
    assert entries <= touched
    assert touched - entries == {("fs/bpf_fs_kfuncs.c", 159)}
    again = kfuncfix("apply", "--rule", RULE, str(applied))
    assert again.exit_code == 0 and again.stderr.splitlines()[-1].startswith("0 files changed")
    assert subprocess.run(["git", "-C", str(applied), "diff", "-U0"], capture_output=True,
                          text=True, check=True).stdout == diff
    assert kfuncfix("check", "--rule", RULE, str(applied)).exit_code == 0


def test_changed_entries_are_72s_but_for_the_named_exceptions(
        index612: TreeIndex, applied: Path, linux72: Path) -> None:
    changed = {n for c in plan(index612, load_rule(RULE)).files.values() for n in c.kfuncs}
    assert len(changed) == 35  # 33 entries, one of them the #define of 3 kfuncs
    ours, theirs = entry_texts(discover(applied)), entry_texts(discover(linux72))
    differ = {n for n in changed if ours[n] != theirs[n]}
    assert differ == set(EXCEPTIONS)
    for name, flags in EXCEPTIONS.items():
        assert all(f in theirs[name] for f in flags) and FLAG not in ours[name]


def test_72_is_clean(linux72: Path) -> None:
    asked = kfuncfix("check", "--rule", RULE, str(linux72))
    assert (asked.exit_code, asked.stdout) == (0, "")
    # 7.2's btf.h retired the flag: plain check lints the rule too.
    plain = kfuncfix("check", str(linux72))
    assert RULE in plain.stderr.splitlines()[-1] and RULE not in plain.stdout


@pytest.fixture(scope="module")
def clone(linux612: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shared clone: the series' objects stay out of the read-only cache."""
    dest = tmp_path_factory.mktemp("clone612") / "linux"
    subprocess.run(["git", "clone", "-q", "--shared", str(linux612), str(dest)], check=True)
    git(dest, "config", "user.name", "Test Person")
    git(dest, "config", "user.email", "test@example.org")
    return dest


def test_series_check_passes(clone: Path, tmp_path: Path) -> None:
    out = kfuncfix("series", "--rule", RULE, "--check", "-o", str(tmp_path / "out"),
                   "--date", "2024-05-01T09:00:00Z", str(clone))
    assert out.exit_code == 0, out.stderr
    assert "series check passed" in out.stderr
    files = patch_files(tmp_path / "out")
    assert [header(f, "Subject") for f in files] == [
        "[PATCH bpf-next] bpf: Drop KF_TRUSTED_ARGS from kfunc set entries"]
    body = files[0].read_text()
    assert "must go in with it" in body and "bpf@vger.kernel.org" in header(files[0], "To")


def test_per_subsystem_subjects(clone: Path, index612: TreeIndex) -> None:
    index = discover(clone, rev="HEAD")
    result = plan(index, load_rule(RULE))
    series = plan_series(index, result, "subsystem", "HEAD")
    subjects = [p.subject for p in series.patches]
    assert all(s.endswith(": Drop KF_TRUSTED_ARGS from kfunc set entries") for s in subjects)
    assert "netfilter: Drop KF_TRUSTED_ARGS from kfunc set entries" in subjects
    assert sum(len(g) for g in series.groups) == 13


@pytest.mark.parametrize("version", ["6.1", "6.12", "7.2"])
def test_kbuild_reads_what_each_directory_builds(version: str, tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    """Linux 6.10 made Makefile.build find a directory's Makefile through $(VPATH)
    (7.x: $(srcroot)): without them every object of 6.12 and 7.2 read as "not
    built", and `series --build` passed having compiled nothing."""
    tree = request.getfixturevalue({"6.1": "linux61", "6.12": "linux612",
                                    "7.2": "linux72"}[version])
    kbuild = Kbuild(tree, tmp_path, 1, lambda _: None)
    assert "kernel/sched" in kbuild._dir_lists("kernel")[2]
    assert kbuild.why_not_built("kernel/sched/core.o") is None
