"""Linux 7.2 (Debian trixie-backports): discovery agrees with upstream's own tags.

Upstream tags (nearly) every kfunc definition `__bpf_kfunc` since 6.3, so a
7.x tree is an answer key: what `list` finds must be what upstream tagged,
and a tree stripped of its tags must come back, under the tag rule, as
upstream wrote it.  Every exception is named here with the reason, each
checked by hand against the source.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.model import DTOR, FMODRET, KFUNC
from kfuncfix.report import records
from kfuncfix.treefiles import in_scope
from tests.conftest import REPO, git_worktree

pytestmark = pytest.mark.realtree

TESTMOD = "tools/testing/selftests/bpf/test_kmods/bpf_testmod.c"
TESTMOD_612 = "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c"
# 7.x's bpf_testmod declares these tagged above its kfunc set and defines them
# untagged further down: the compiler merges the attributes (not at risk), but
# the definition does not say so.
TAGGED_AT_DECLARATION = {
    "bpf_kfunc_multi_st_ops_test_1", "bpf_kfunc_multi_st_ops_test_1_assoc",
    "bpf_kfunc_implicit_arg", "bpf_kfunc_implicit_arg_legacy",
    "bpf_kfunc_implicit_arg_legacy_impl",
}
# Tagged upstream, and rightly not listed.
TAGGED_NOT_LISTED = {
    ("net/bpf/test_run.c", "bpf_fentry_test9"): "an fentry attach target, in no set",
}
# Listed, and rightly not tagged upstream.
LISTED_NOT_TAGGED = {
    ("net/socket.c", "update_socket_protocol"): "fmodret hook, not a kfunc",
    (TESTMOD, "bpf_testmod_trampoline_count_test"): "fmodret target of the selftest",
    **{(TESTMOD, name): "tagged at its declaration only" for name in TAGGED_AT_DECLARATION},
}


@pytest.fixture(scope="module")
def index72(linux72: Path):
    return discover(linux72)


def upstream_tagged(tree: Path) -> dict[tuple[str, str], str]:
    """(file, name) -> 'definition' or 'declaration' of every `__bpf_kfunc` at a line start."""
    out = subprocess.run(["git", "-C", str(tree), "grep", "-n", "-E", "^__bpf_kfunc\\b", "--",
                          "*.c"], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        path, number, _ = line.split(":", 2)
        if not in_scope(path):
            continue
        data = (tree / path).read_bytes()
        at = sum(len(x) for x in data.splitlines(keepends=True)[:int(number) - 1])
        # The declarator: the first `name(` after the tag (attribute calls come before it).
        m = re.compile(rb"\b(?!__printf\b|__attribute__\b)([A-Za-z_]\w*)\s*\(").search(data, at)
        assert m, line
        close = data.index(b")", m.end())
        while data.count(b"(", m.end() - 1, close + 1) > data.count(b")", m.end() - 1, close + 1):
            close = data.index(b")", close + 1)
        what = "definition" if data[close + 1:].lstrip().startswith(b"{") else "declaration"
        found[(path, m.group(1).decode())] = what
    return found


def test_72_list_is_what_upstream_tagged(linux72: Path, index72) -> None:
    tagged = upstream_tagged(linux72)
    definitions = {k for k, v in tagged.items() if v == "definition"}
    declarations = {k for k, v in tagged.items() if v == "declaration"}
    assert declarations == {(TESTMOD, n) for n in TAGGED_AT_DECLARATION}
    assert len(definitions) > 400
    recs = records(index72)
    listed = {(r.file, r.name): r for r in recs}
    assert not [r for r in recs if r.status == "unresolved"]
    for key in sorted(definitions):
        if key in TAGGED_NOT_LISTED:
            assert key not in listed, key
            continue
        rec = listed.get(key)
        assert rec is not None, f"{key} is tagged upstream but not listed"
        assert set(rec.kinds) & {KFUNC, DTOR, FMODRET}, key
        assert rec.status == "tagged", key
    for key, rec in sorted(listed.items()):
        if key in definitions:
            continue
        assert key in LISTED_NOT_TAGGED, f"{key} is listed ({rec.kinds}) but not tagged upstream"
        want = "tagged-at-declaration" if key[1] in TAGGED_AT_DECLARATION else "untagged"
        assert rec.status == want, key
        assert (rec.kinds == [FMODRET]) == (want == "untagged"), key
        if want == "tagged-at-declaration":
            assert rec.risks == [], key


def test_72_shapes(index72) -> None:
    kinds = {(k.name, k.kind) for k in index72.kfuncs}
    # BTF_ID_LIST_SINGLE + `.kfunc_btf_id = list[0]` (net/sched/bpf_qdisc.c).
    assert ("bpf_kfree_skb_dtor", DTOR) in kinds
    assert not [w for w in index72.warnings if "dtor" in w or "prototype" in w]
    # KF_IMPLICIT_ARGS kfuncs and their `_impl` twins are two kfuncs, two definitions.
    flags = {k.name: k.flags for k in index72.kfuncs}
    assert "KF_IMPLICIT_ARGS" in flags["bpf_obj_new"] and "bpf_obj_new_impl" in flags
    # sched_ext's kfuncs, `___v2` names and `__`-prefixed ones included.
    names = {k.name for k in index72.kfuncs if k.definitions}
    assert {"scx_bpf_dsq_insert___v2", "__scx_bpf_dsq_insert_vtime", "__bpf_trap",
            "scx_bpf_exit_bstr"} <= names


# `check` on 7.2: nothing at risk (no error); these convention findings, each
# checked by hand, are all it reports.
CONVENTION_FINDINGS_72 = {
    # A redundant __diag_push()/__diag_pop() pair around its
    # __bpf_kfunc_start_defs() block (the pop without a semicolon): real.
    ("net/netfilter/nf_flow_table_bpf.c", "kfunc_defs_block", "__diag_push"),
    # Tagged at the declaration above the set, not at the definition.
    *((TESTMOD, "bpf_kfunc_tag", name) for name in TAGGED_AT_DECLARATION),
}
FINDING_RE = re.compile(r"^([^:\s]+):\d+: (ERROR|WARNING): (\w+): (?:kfunc )?(\w+)")


def test_72_check_finds_nothing_at_risk(linux72: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(linux72)])
    findings = [m.groups() for m in map(FINDING_RE.match, result.output.splitlines()) if m]
    assert not [f for f in findings if f[1] == "ERROR"], result.output
    assert {(path, rule, name) for path, _, rule, name in findings} == CONVENTION_FINDINGS_72
    assert len(findings) == len(CONVENTION_FINDINGS_72)


# -- strip and restore ---------------------------------------------------------

TAG = b"__bpf_kfunc "
TOKEN_RE = re.compile(rb"[A-Za-z_]\w*|\d\w*|\S")
NAME_RE = re.compile(rb"\b(?!__bpf_kfunc\b|__printf\b)([A-Za-z_]\w*)\s*\(")
INCLUDE = b"#include <linux/btf.h>"

# Upstream tags fmodret targets in net/bpf/test_run.c (and one fentry target in
# no set); the tag rule rewrites kfuncs and dtors only.
FMODRET_TAGGED = {("net/bpf/test_run.c", name, "-__bpf_kfunc") for name in (
    "bpf_fentry_test1", "bpf_fentry_test9", "bpf_modify_return_test", "bpf_modify_return_test2")}
# Upstream keeps a `noinline` that the tag already means.
REDUNDANT_NOINLINE = "bpf_kfunc_call_test4"
# Layout: lines over 100 columns upstream left long; continuation lines
# upstream left where they were before it added the tag; and the fmodret
# target above, whose continuation lines the strip realigned.
LAYOUT_72 = {
    ("kernel/bpf/helpers.c", "bpf_copy_from_user_str"),  # 113 columns
    ("kernel/bpf/helpers.c", "bpf_verify_pkcs7_signature"),  # not realigned
    ("kernel/bpf/rqspinlock.c", "bpf_res_spin_lock_irqsave"),  # 103 columns
    ("kernel/bpf/rqspinlock.c", "bpf_res_spin_unlock_irqrestore"),  # 111 columns
    ("net/bpf/test_run.c", "bpf_modify_return_test2"),
}
LAYOUT_612 = {
    ("kernel/bpf/helpers.c", "bpf_copy_from_user_str"),
    ("kernel/trace/bpf_trace.c", "bpf_verify_pkcs7_signature"),
    ("net/bpf/test_run.c", "bpf_modify_return_test2"),
}
# The rule includes <linux/btf.h> where the tag is used; upstream relies on
# linux/bpf.h or other headers including it.
INCLUDES_612 = {"kernel/bpf/bpf_iter.c", "kernel/bpf/cgroup_iter.c", "kernel/bpf/map_iter.c",
                "kernel/bpf/task_iter.c", "net/ipv4/fou_bpf.c", "net/ipv4/tcp_cong.c",
                "net/netfilter/nf_nat_bpf.c", "net/xfrm/xfrm_interface_bpf.c"}
INCLUDES_72 = INCLUDES_612 | {
    "io_uring/bpf-ops.c", "kernel/bpf/dmabuf_iter.c", "kernel/bpf/kmem_cache_iter.c",
    "kernel/bpf/rqspinlock.c", "kernel/bpf/stream.c", "kernel/sched/ext/cid.c",
    "mm/bpf_memcontrol.c"}
TOKENS_612 = FMODRET_TAGGED | {(TESTMOD_612, REDUNDANT_NOINLINE, "-noinline")}
TOKENS_72 = FMODRET_TAGGED | {(TESTMOD, REDUNDANT_NOINLINE, "-noinline")} | {
    # Tag moved from the declaration to the definition (both lines differ).
    (TESTMOD, name, sign) for name in TAGGED_AT_DECLARATION for sign in ("-__bpf_kfunc",
                                                                         "+__bpf_kfunc")}


def width(text: bytes) -> int:
    col = 0
    for ch in text:
        col = (col // 8 + 1) * 8 if ch == 9 else col + 1
    return col


def strip_tags(data: bytes) -> bytes:
    """Remove `__bpf_kfunc ` at line starts, as if it had never been written.

    Continuation lines of a parameter list opened on that line, aligned one
    column past its `(`, move left with it (tabs, then spaces).
    """
    lines = data.splitlines(keepends=True)
    out: list[bytes] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith(TAG):
            out.append(line)
            continue
        new = line[len(TAG):]
        out.append(new)
        depth = line.count(b"(") - line.count(b")")
        if depth <= 0:
            continue
        old_col, new_col = width(line[:line.index(b"(")]) + 1, width(new[:new.index(b"(")]) + 1
        while i < len(lines) and depth > 0:
            cont = lines[i]
            body = cont.lstrip(b" \t")
            if width(cont[:len(cont) - len(body)]) == old_col:
                cont = b"\t" * (new_col // 8) + b" " * (new_col % 8) + body
            out.append(cont)
            depth += cont.count(b"(") - cont.count(b")")
            i += 1
    return b"".join(out)


def differences(tree: Path) -> tuple[set, set, set]:
    """Token differences, layout-only differences and added includes against HEAD."""
    changed = subprocess.run(["git", "-C", str(tree), "diff", "--name-only", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.split()
    tokens: set[tuple[str, str, str]] = set()
    layout: set[tuple[str, str]] = set()
    includes: set[str] = set()
    for rel in changed:
        old = subprocess.run(["git", "-C", str(tree), "show", f"HEAD:{rel}"], check=True,
                             capture_output=True).stdout.splitlines(keepends=True)
        new = (tree / rel).read_bytes().splitlines(keepends=True)
        ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        for op, i1, i2, j1, j2 in ops:
            a, b = old[i1:i2], new[j1:j2]
            if op == "equal":
                continue
            if not a and [x.strip() for x in b] == [INCLUDE]:
                includes.add(rel)
                continue
            # Line by line where the hunk keeps its line count, else as one piece.
            pairs = list(zip(a, b, strict=True)) if len(a) == len(b) else [
                (b"".join(a), b"".join(b))]
            for k, (x, y) in enumerate(pairs):
                # A hunk of continuation lines: the name is on a line above it.
                name = _name(x + y) or _name(b"".join(reversed(old[max(0, i1 + k - 10):i1 + k])))
                tx, ty = TOKEN_RE.findall(x), TOKEN_RE.findall(y)
                if tx == ty:
                    layout.add((rel, name))
                    continue
                sm = difflib.SequenceMatcher(None, tx, ty, autojunk=False)
                for top, k1, k2, l1, l2 in sm.get_opcodes():
                    if top != "equal":
                        change = [b"-" + t for t in tx[k1:k2]] + [b"+" + t for t in ty[l1:l2]]
                        tokens.add((rel, name, b" ".join(change).decode()))
    return tokens, layout, includes


def _name(text: bytes) -> str:
    m = NAME_RE.search(text)
    return m.group(1).decode() if m else ""


@pytest.mark.parametrize(("version", "tokens", "layout", "includes"), [
    ("6.12", TOKENS_612, LAYOUT_612, INCLUDES_612),
    ("7.2", TOKENS_72, LAYOUT_72, INCLUDES_72),
])
def test_strip_and_restore(version: str, tokens: set, layout: set, includes: set,
                           request: pytest.FixtureRequest, tmp_path: Path) -> None:
    repo = request.getfixturevalue("linux612" if version == "6.12" else "linux72")
    tree = git_worktree(repo, tmp_path / "tree")
    grep = subprocess.run(["git", "-C", str(tree), "grep", "-l", "-e", "^__bpf_kfunc ", "--",
                           "*.c"], capture_output=True, text=True, check=True).stdout.split()
    for rel in grep:
        (tree / rel).write_bytes(strip_tags((tree / rel).read_bytes()))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, "-m", "kfuncfix", "apply", "--force", str(tree)],
                         capture_output=True, text=True, env=env)
    # kernel/sched/ext/idle.c has no #include (build_policy.c includes it): the
    # tag goes on, the include is reported as not placed.
    skipped = [line.removeprefix("kfuncfix: skipped ") for line in run.stderr.splitlines()
               if line.startswith("kfuncfix: skipped ")]
    want = ["kernel/sched/ext/idle.c:1: <linux/btf.h>"] if version == "7.2" else []
    assert [line.split(": no #include")[0] for line in skipped] == want
    assert run.returncode == (1 if want else 0), run.stderr
    got_tokens, got_layout, got_includes = differences(tree)
    assert got_tokens == tokens
    assert got_layout == layout
    assert got_includes == includes
