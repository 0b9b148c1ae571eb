"""What a BPF maintainer reads in the series for Linux 6.1: true docs, honest messages.

Held against the tree itself: the documentation's claims must be true of
every kfunc it covers (tcp_slow_start, cgroup_rstat_flush and crash_kexec
are kfuncs that the kernel also calls), the comment above the macro follows
btf.h's spacing after full stops, each commit says only what it did, patch 1
says why, and the macro rule gives upstream v2's layout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kfuncfix.discover import discover
from kfuncfix.engine import Plan, load_rule, plan
from kfuncfix.engine.rule import Rule
from kfuncfix.engine.sentences import sentence_spacing
from kfuncfix.model import TreeIndex
from kfuncfix.series import plan_series

pytestmark = pytest.mark.realtree

RULES = Path(__file__).resolve().parent.parent / "rules"
DOC = "Documentation/bpf/kfuncs.rst"
# Sentences that would claim no kfunc is called inside the kernel.
NO_CALLER = re.compile(r"nothing in the kernel (?:may |can )?calls?|never called|"
                       r"(?<!may have )no callers? in the kernel|not called", re.I)


@pytest.fixture(scope="module")
def index(linux61: Path) -> TreeIndex:
    return discover(linux61)


@pytest.fixture(scope="module")
def tagged(index: TreeIndex) -> Plan:
    return plan(index, load_rule("bpf_kfunc_tag"))


def added(old: bytes, new: bytes) -> str:
    """The text a change inserted (one insertion: the definition, the note)."""
    start = next(i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b)
    end = len(new) - next(i for i, (a, b) in enumerate(zip(old[::-1], new[::-1], strict=False))
                          if a != b)
    return new[start:end].decode()


def called_in_the_kernel(index: TreeIndex, names: list[str]) -> set[str]:
    """Kfuncs that code of the indexed files calls (besides their definition)."""
    found = set()
    for src in index.sources.values():
        for func in src.functions:
            body = src.masked[func.brace:func.body_end]
            found |= {n for n in names if n != func.name
                      and re.search(rb"\b" + n.encode() + rb"\s*\(", body)}
    return found


def test_docs_claim_only_what_holds_for_every_kfunc(index: TreeIndex, tagged: Plan) -> None:
    called = called_in_the_kernel(index, tagged.kfuncs)
    # The facts the old text got wrong: these kfuncs have callers in the kernel.
    assert "tcp_slow_start" in called
    doc = next(c for c in tagged.definition if c.path == DOC)
    note = " ".join(added(doc.old, doc.new).split())
    assert not NO_CALLER.search(note), note
    assert "a kfunc may have no caller in the kernel" in note
    # "stands for __used noinline": what the definition patch defines it as.
    header = next(c for c in tagged.definition if c.path == "include/linux/btf.h")
    define = re.search(r"#define __bpf_kfunc (.*)", added(header.old, header.new))
    assert define is not None
    assert f"stands for ``{define.group(1)}``" in note


def test_definition_comment_spacing_matches_btf_h(tagged: Plan) -> None:
    header = next(c for c in tagged.definition if c.path == "include/linux/btf.h")
    assert sentence_spacing(header.old) == 1  # 6.1's btf.h: one space after a full stop
    comment = added(header.old, header.new)
    assert ".  " not in comment and re.search(r"\. [A-Z]", comment)
    assert not NO_CALLER.search(" ".join(comment.split()))


def test_messages_say_what_each_patch_did(index: TreeIndex, tagged: Plan) -> None:
    planned = plan_series(index, tagged, "subsystem", index.rev or "HEAD", history=False)
    definition, *rewrites = planned.patches
    why = " ".join(definition.body.split())
    for cause in ("pahole", "DWARF", "parameters were optimized out", "verifier"):
        assert cause in why
    subjects = [p.subject for p in rewrites]
    assert "bpf: Tag kfuncs in bpf_trace.c, test_run.c and bpf_testmod.c with __bpf_kfunc" \
        in subjects
    assert not any("the tree" in s for s in subjects)
    for patch, group in zip(rewrites, planned.groups, strict=True):
        body = " ".join(patch.body.split())
        assert "No functional change" not in body
        assert "__used" not in body.split("stands for __used noinline")[-1]
        dropped = any(b"noinline" in c.old and c.old.count(b"noinline") > c.new.count(b"noinline")
                      for c in group)
        assert ("noinline that definitions had before is dropped" in body) == dropped, body
        kfuncs = [n for c in group for n in c.kfuncs]
        if len(kfuncs) > 4:
            assert f"{len(kfuncs)} kfuncs in {len(group)} files" in body
            assert "()" not in body
    whole = plan_series(index, tagged, "none", index.rev or "HEAD", history=False)
    assert "Tag 68 kfuncs in 11 files with __bpf_kfunc" in " ".join(whole.patches[1].body.split())


def wrap_all(tmp_path: Path) -> Rule:
    """The macro rule wrapping kfuncs with kernel-doc comments too (as upstream v2 did)."""
    path = tmp_path / "wrap_all.toml"
    path.write_text((RULES / "bpf_kfunc_macro.toml").read_text()
                    .replace('name = "bpf_kfunc_macro"', 'name = "wrap_all"')
                    .replace('type = "wrap_prototype"', 'type = "wrap_prototype"\n'
                             'kernel_doc = "wrap"'))
    return load_rule(str(path))


def test_macro_rule_gives_upstream_v2s_layout(index: TreeIndex, tmp_path: Path) -> None:
    result = plan(index, wrap_all(tmp_path))
    testmod = result.files["tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c"].new
    assert b"\nBPF_KFUNC(void bpf_testmod_test_mod_kfunc(int i))\n{" in testmod
    test_run = result.files["net/bpf/test_run.c"].new
    assert (b"\nBPF_KFUNC(struct prog_test_ref_kfunc *bpf_kfunc_call_test_acquire("
            b"unsigned long *scalar_ptr))\n{") in test_run
    assert b"\nBPF_KFUNC(struct prog_test_member *bpf_kfunc_call_memb_acquire(void))\n{" \
        in test_run
    # Too long for one line: the break stays.
    assert b"BPF_KFUNC(struct prog_test_ref_kfunc *\nbpf_kfunc_call_test_kptr_get(" in test_run
    trace = result.files["kernel/trace/bpf_trace.c"].new
    assert b"#ifdef CONFIG_KEYS\n/**\n * bpf_lookup_user_key" in trace


def test_macro_rule_leaves_kfuncs_with_kernel_doc_alone(index: TreeIndex) -> None:
    result = plan(index, load_rule("bpf_kfunc_macro"))
    assert sorted(s.name for s in result.skipped) == [
        "bpf_key_put", "bpf_lookup_system_key", "bpf_lookup_user_key",
        "bpf_verify_pkcs7_signature", "cgroup_rstat_flush"]
    assert all("kernel-doc" in s.reason for s in result.skipped)
