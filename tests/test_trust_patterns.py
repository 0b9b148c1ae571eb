"""Patterns others supply never hang a run (issue 18, items 12 and 13).

MAINTAINERS' N:, K:, F: and X: lines and a rule's doc_section are written by
whoever wrote the tree or the rule.  They run on an engine whose time is linear
in the text (RE2), so `(a+)+b` against forty `a`s -- about 2**40 steps for a
backtracking engine -- takes no time.  Each test runs kfuncfix in a child
process with a timeout, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kfuncfix.engine import RuleError, parse_rule
from kfuncfix.outputs.maintainers import Maintainers
from kfuncfix.safematch import PatternError, safe_pattern
from tests.conftest import builtin_rule_text, git_init
from tests.rewrite_helper import kfunc_source, small_tree

SENDER = "Test Sender <sender@example.org>"
DATE = "2024-01-01 00:00 +0000"
EVIL = "(a+)+b"
LONG = "a" * 40  # hangs a backtracking engine; RE2 does not care
TIMEOUT = 60


def kfuncfix(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kfuncfix", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=cwd)


def kfunc_file() -> str:
    return kfunc_source("\nnoinline int evil_kfunc(int x)\n{\n\treturn x;\n}\n",
                        ["evil_kfunc"], "evil_ids")


@pytest.mark.parametrize("entry", [f"N:\t{EVIL}", f"K:\t{EVIL}", "F:\t" + "*a" * 30 + "*b",
                                   "X:\t" + "*a" * 30 + "*b"])
def test_maintainers_patterns_cannot_hang_series(tmp_path: Path, entry: str) -> None:
    name = f"drivers/{LONG}/{LONG}.c"
    tree = small_tree(tmp_path / "tree", {
        name: kfunc_file() + "/* " + LONG + " */\n",
        "include/linux/btf.h": "#define __bpf_kfunc __used noinline\n",
        "MAINTAINERS": "EVIL\nM:\tEve <eve@example.org>\n" + entry + "\n\n"
                       "DRIVERS\nM:\tDan <dan@example.org>\nF:\tdrivers/\n",
    })
    git_init(tree)
    done = kfuncfix("series", str(tree), "-o", str(tmp_path / "out"), "--from", SENDER,
                    "--date", DATE, "--split", "subsystem")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_maintainers_reader_matches_as_before(tmp_path: Path) -> None:
    """The same answers as get_maintainer.pl for the patterns kernels use."""
    tree = small_tree(tmp_path / "tree", {
        "MAINTAINERS": "BPF\nM:\tA <a@example.org>\nN:\tbpf\nK:\t\\bbpf_\\w+\n\n"
                       "NETFILTER\nM:\tB <b@example.org>\nF:\tnet/netfilter/\n"
                       "X:\tnet/netfilter/ipvs/\n\n"
                       "PSP\nM:\tC <c@example.org>\nK:\tstruct\\ psp(_assoc|_dev|hdr)\\b\n\n"
                       "BROKEN\nM:\tD <d@example.org>\nN:\t(unclosed\n",
        "net/netfilter/x.c": "",
    })
    found = Maintainers(tree)
    assert [s.name for s in found.sections_for("kernel/bpf/helpers.c")] == ["BPF"]
    assert [s.name for s in found.sections_for("net/netfilter/x.c")] == ["NETFILTER"]
    assert found.sections_for("net/netfilter/ipvs/y.c") == []
    assert [s.name for s in found.keyword_sections(["+\tbpf_obj_new(x);"])] == ["BPF"]
    assert [s.name for s in found.keyword_sections(["struct psp_dev *d;"])] == ["PSP"]
    assert found.keyword_sections(["struct pspx *d;"]) == []


def test_perl_x_patterns_ignore_whitespace_and_comments() -> None:
    assert safe_pattern("b p f  # a comment", verbose=True).search("net/bpf.c")
    assert safe_pattern(r"struct\ psp", verbose=True).search("struct psp *p")
    assert not safe_pattern(r"struct\ psp", verbose=True).search("structpsp")
    assert safe_pattern("[ #]x", verbose=True).search(" x")


def test_an_unreadable_pattern_is_an_error_not_a_crash() -> None:
    with pytest.raises(PatternError):
        safe_pattern("(unclosed")
    with pytest.raises(PatternError):
        safe_pattern(r"(a)\1")  # a backreference: not a regular language


# -- a rule's doc_section ---------------------------------------------------------


def rule_with_section(section: str) -> str:
    text = builtin_rule_text("bpf_kfunc_tag")
    assert 'doc_section = "annotating kfuncs"' in text
    return text.replace('doc_section = "annotating kfuncs"',
                        f"doc_section = '{section}'")


def test_doc_section_cannot_hang_diff_with_definition(tmp_path: Path) -> None:
    rule = tmp_path / "evil.toml"
    rule.write_text(rule_with_section(EVIL))
    title = LONG
    tree = small_tree(tmp_path / "tree", {
        "kernel/k.c": kfunc_file(),
        "include/linux/btf.h": "#ifndef _LINUX_BTF_H\n#define _LINUX_BTF_H\n#endif\n",
        "Documentation/bpf/kfuncs.rst": f"{title}\n{'=' * len(title)}\n\nText.\n\n"
                                        f"{title}x\n{'-' * (len(title) + 1)}\n\nMore.\n",
    })
    done = kfuncfix("diff", "--with-definition", "--rule", str(rule), str(tree))
    assert done.returncode == 0, done.stderr
    assert "+#define __bpf_kfunc" in done.stdout


def test_doc_section_still_finds_its_section(tmp_path: Path) -> None:
    rule = parse_rule(rule_with_section("^annotating K").encode(), "r.toml")
    assert rule.definition is not None and rule.definition.doc_section is not None
    assert rule.definition.doc_section.search("Annotating kfuncs")  # case-insensitive
    assert not rule.definition.doc_section.search("Not annotating kfuncs")


@pytest.mark.parametrize("section", ["(unclosed", r"(a)\1", "(?=x)y"])
def test_doc_section_outside_the_safe_engine_is_a_rule_error(section: str) -> None:
    with pytest.raises(RuleError, match="doc_section"):
        parse_rule(rule_with_section(section).encode(), "r.toml")
