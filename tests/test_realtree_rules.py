"""Every built-in rule on Debian's linux-source trees: 6.1 (untagged) and 6.12 (tagged).

On 6.1 each rule's diff must apply with `git apply --check`, pass the tree's
own checkpatch.pl without errors or misaligned parentheses, change only the
lines the rule is about (read back with unidiff), and leave nothing to do on
a second run.  On 6.12, where upstream already tagged every kfunc, the tag
rule must change nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from unidiff import PatchSet

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import Plan, load_rule, plan
from kfuncfix.engine.diagblocks import diag_blocks
from kfuncfix.model import TreeIndex
from kfuncfix.outputs.diff import unified_diff
from tests.conftest import git_worktree

pytestmark = pytest.mark.realtree

RULES = ["bpf_kfunc_tag", "bpf_kfunc_macro", "kfunc_defs_block", "btf_kfuncs_set"]
INCLUDE = "#include <linux/btf.h>"
DEFS_LINES = {"__bpf_kfunc_start_defs();", "__bpf_kfunc_end_defs();"}
KFUNCS_SET_RE = re.compile(r"BTF_KFUNCS_(START|END)\(\w+\)\Z")
# What a rule leaves alone on 6.1, by design: kernel-doc cannot read a
# prototype inside BPF_KFUNC(), so kfuncs with a /** comment keep theirs.
SKIPPED_61 = {"bpf_kfunc_macro": ["bpf_key_put", "bpf_lookup_system_key", "bpf_lookup_user_key",
                                  "bpf_verify_pkcs7_signature", "cgroup_rstat_flush"]}


@pytest.fixture(scope="module")
def index61(linux61: Path) -> TreeIndex:
    return discover(linux61)


@pytest.fixture(scope="module")
def plans61(index61: TreeIndex) -> dict[str, Plan]:
    return {name: plan(index61, load_rule(name)) for name in RULES}


def header_lines(index: TreeIndex, path: str) -> set[int]:
    """Lines of the kfunc definition headers of one file, from first specifier to `{`."""
    lines: set[int] = set()
    for kfunc in index.kfuncs:
        for d in kfunc.definitions:
            if d.file == path:
                lines.update(range(d.source.line_of(d.func.start),
                                   d.source.line_of(d.func.brace) + 1))
    return lines


def diag_lines(index: TreeIndex, path: str) -> set[int]:
    src = index.sources[path]
    lines: set[int] = set()
    for block in diag_blocks(src):
        lines.update(range(src.line_of(block.push_start), src.line_of(block.push_end) + 1))
        lines.add(src.line_of(block.pop_start))
    return lines


def set_lines(index: TreeIndex, path: str) -> set[int]:
    return {s.start_span.line for s in index.sets if s.file == path} | {
        s.end_span.line for s in index.sets if s.file == path and s.end_span}


def stray_lines(rule: str, diff: bytes, old: TreeIndex, new: TreeIndex) -> list[str]:
    """Changed lines that are none of what the rule may change."""
    stray = []
    for pf in PatchSet(diff.decode("utf-8", "surrogateescape")):
        path = pf.path
        if rule == "btf_kfuncs_set":
            old_ok, new_ok = set_lines(old, path), set_lines(new, path)
        elif rule == "kfunc_defs_block":
            old_ok, new_ok = diag_lines(old, path), set()
        else:
            old_ok, new_ok = header_lines(old, path), header_lines(new, path)
            if rule == "bpf_kfunc_macro":
                old_ok |= diag_lines(old, path)
        for hunk in pf:
            for line in hunk:
                text = line.value.rstrip("\n")
                if line.is_removed and not (line.source_line_no in old_ok or (
                        rule == "bpf_kfunc_macro" and not text.strip())):
                    stray.append(f"{path}:{line.source_line_no}: -{text}")
                if line.is_added and not (line.target_line_no in new_ok or text == INCLUDE
                                          or (rule == "kfunc_defs_block" and text in DEFS_LINES)):
                    stray.append(f"{path}:{line.target_line_no}: +{text}")
    return stray


@pytest.mark.parametrize("rule", RULES)
def test_61_rule_output_is_clean(rule: str, linux61: Path, index61: TreeIndex,
                                 plans61: dict[str, Plan]) -> None:
    result = plans61[rule]
    assert result.files
    assert sorted(s.name for s in result.skipped) == SKIPPED_61.get(rule, [])
    diff = unified_diff(list(result.files.values()))

    subprocess.run(["git", "apply", "--check", "-"], input=diff, cwd=linux61, check=True,
                   capture_output=True)
    checkpatch = subprocess.run(["perl", "scripts/checkpatch.pl", "--no-tree", "-"],
                                input=diff, cwd=linux61, capture_output=True)
    report = checkpatch.stdout.decode()
    assert "total: 0 errors" in report, report  # checkpatch did run, and found no error
    assert "ERROR" not in report and "Alignment should match open parenthesis" not in report, \
        report

    after = discover(linux61, {p: c.new for p, c in result.files.items()})
    assert stray_lines(rule, diff, index61, after) == []
    again = plan(after, load_rule(rule))
    assert again.files == {} and len(again.skipped) == len(result.skipped)


def test_61_tag_rule_figures(plans61: dict[str, Plan]) -> None:
    result = plans61["bpf_kfunc_tag"]
    assert result.needs_definition == "__bpf_kfunc"
    assert len(result.kfuncs) == 68 and result.already_done == []
    assert "net/netfilter/nf_nat_bpf.c" in result.files  # and gets its #include
    assert b"\n#include <linux/bpf.h>\n#include <linux/btf.h>\n#include <linux/btf_ids.h>\n" in \
        result.files["net/netfilter/nf_nat_bpf.c"].new


def test_61_macro_rule_keeps_the_block_fentry_targets_need(plans61: dict[str, Plan]) -> None:
    notes = [(n.file, n.name) for n in plans61["bpf_kfunc_macro"].notes]
    assert ("net/bpf/test_run.c", "__diag_push") in notes
    assert b"__diag_push();" in plans61["bpf_kfunc_macro"].files["net/bpf/test_run.c"].new
    assert b"__diag_push();" not in plans61["bpf_kfunc_macro"].files[
        "net/netfilter/nf_conntrack_bpf.c"].new


def test_61_apply_in_a_worktree(linux61: Path, plans61: dict[str, Plan], tmp_path: Path) -> None:
    tree = git_worktree(linux61, tmp_path / "wt")
    try:
        result = CliRunner().invoke(main, ["apply", str(tree)])
        assert result.exit_code == 0, result.output
        status = subprocess.run(["git", "-C", str(tree), "status", "--porcelain"],
                                capture_output=True, text=True, check=True).stdout
        assert sorted(line[3:] for line in status.splitlines()) == sorted(
            plans61["bpf_kfunc_tag"].files)
        again = CliRunner().invoke(main, ["diff", str(tree)])
        assert (again.exit_code, again.stdout) == (0, "")
    finally:
        subprocess.run(["git", "-C", str(linux61), "worktree", "remove", "--force", str(tree)],
                       capture_output=True)


def test_612_tag_rule_changes_nothing(linux612: Path) -> None:
    result = CliRunner().invoke(main, ["diff", str(linux612)])
    assert (result.exit_code, result.stdout) == (0, "")
    tagged = plan(discover(linux612), load_rule("bpf_kfunc_tag"))
    assert tagged.files == {} and tagged.skipped == [] and tagged.needs_definition is None
    assert len(set(tagged.already_done)) > 200
