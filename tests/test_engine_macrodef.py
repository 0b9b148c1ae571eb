"""The macro a rule needs: detected in the tree, and added where a tree lacks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfuncfix.discover import discover
from kfuncfix.engine import FileChange, Rule, load_rule, plan
from kfuncfix.engine.plan import DEFINITION
from kfuncfix.engine.sentences import respace
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex
from kfuncfix.sample import copy_sample_tree
from tests.rewrite_helper import kfunc_source, small_tree

KFUNC_C = kfunc_source("\nvoid f(void)\n{\n}\n", ["f"])


def definition_change(index: TreeIndex, rule: Rule) -> FileChange | None:
    """The plan's change adding the rule's macro to its header (None: not needed)."""
    result = plan(index, rule)
    result.changes(with_definition=True)  # raises when the header is not in the tree
    return next((c for c in result.definition if c.role == DEFINITION), None)


def missing_definition(index: TreeIndex, rule: Rule) -> str | None:
    return plan(index, rule).needs_definition


def test_sample_tree_needs_each_definition(tmp_path: Path) -> None:
    tree = copy_sample_tree(tmp_path / "tree")
    index = discover(tree)
    needed = {r: plan(index, load_rule(r)).needs_definition
              for r in ("bpf_kfunc_tag", "bpf_kfunc_macro", "kfunc_defs_block",
                        "btf_kfuncs_set")}
    assert needed == {"bpf_kfunc_tag": "__bpf_kfunc", "bpf_kfunc_macro": "BPF_KFUNC",
                      "kfunc_defs_block": "__bpf_kfunc_start_defs",
                      "btf_kfuncs_set": "BTF_KFUNCS_START"}


def test_definition_goes_after_the_kf_flags(tmp_path: Path) -> None:
    tree = copy_sample_tree(tmp_path / "tree")
    rule = load_rule("bpf_kfunc_tag")
    change = definition_change(discover(tree), rule)
    assert change is not None and change.path == "include/linux/btf.h"
    old, new = change.old.decode(), change.new.decode()
    anchor = "#define KF_DESTRUCTIVE\t\t(1 << 6) /* may stall, crash or reboot the machine */\n"
    assert anchor in old
    # The sample header puts two spaces after a full stop: the comment follows it.
    text = respace(rule.definition.text.encode(), 2).decode()
    assert ".  BPF programs" in text
    assert new == old.replace(anchor, anchor + "\n" + text)
    (tree / change.path).write_bytes(change.new)
    assert missing_definition(discover(tree), rule) is None
    assert definition_change(discover(tree), rule) is None


def test_definition_before_the_closing_endif_without_anchor(tmp_path: Path) -> None:
    tree = small_tree(tmp_path, {
        "include/linux/btf_ids.h": "#ifndef _IDS_H\n#define _IDS_H\nstruct x;\n#endif\n",
        "kernel/a.c": KFUNC_C,
    })
    rule = load_rule("btf_kfuncs_set")
    change = definition_change(discover(tree), rule)
    assert change.new.decode() == ("#ifndef _IDS_H\n#define _IDS_H\nstruct x;\n\n"
                                   + rule.definition.text + "\n#endif\n")


def test_defined_in_any_scanned_file_counts(tmp_path: Path) -> None:
    tree = small_tree(tmp_path, {
        "include/linux/compiler_extra.h": "#define __bpf_kfunc __used noinline\n",
        "kernel/a.c": KFUNC_C,
    })
    assert missing_definition(discover(tree), load_rule("bpf_kfunc_tag")) is None


def test_rule_header_is_read_when_discovery_skipped_it(tmp_path: Path) -> None:
    # Whether or not discovery scanned this btf.h, the rule names it, so it is read.
    tree = small_tree(tmp_path, {
        "include/linux/btf.h": "#define BPF_KFUNC(proto) proto; __used noinline proto\n",
        "kernel/a.c": KFUNC_C,
    })
    index = discover(tree)
    assert missing_definition(index, load_rule("bpf_kfunc_macro")) is None
    assert missing_definition(index, load_rule("bpf_kfunc_tag")) == "__bpf_kfunc"


def test_missing_header_is_a_clear_error(tmp_path: Path) -> None:
    tree = small_tree(tmp_path, {"kernel/a.c": KFUNC_C})
    with pytest.raises(KfuncfixError, match="include/linux/btf.h: not a file of"):
        definition_change(discover(tree), load_rule("bpf_kfunc_tag"))


def test_definition_merges_with_changes_to_its_header(tmp_path: Path) -> None:
    tree = small_tree(tmp_path, {
        "include/linux/btf.h": "#define KF_ACQUIRE (1 << 0)\n\nvoid f(void)\n{\n}\n",
        "kernel/a.c": kfunc_source("", ["f"]),
    })
    index = discover(tree)
    rule = load_rule("bpf_kfunc_tag")
    changes = plan(index, rule).changes(with_definition=True)
    assert [c.path for c in changes] == ["include/linux/btf.h"]
    assert changes[0].new.decode() == ("#define KF_ACQUIRE (1 << 0)\n\n" + rule.definition.text
                                       + "\n__bpf_kfunc void f(void)\n{\n}\n")
