"""`check` on Debian's real trees: every adopted convention, nothing unexplained.

6.1 predates `__bpf_kfunc`: its 68 kfuncs are untagged and nothing else is
linted (it adopted no later convention).  6.12 adopted all three
conventions; one real finding remains, looked at by hand (below).  A 6.12
tree stripped of all three conventions comes back with `apply --rule all`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git_worktree

pytestmark = pytest.mark.realtree
TOKEN_RE = re.compile(rb"[A-Za-z_]\w*|\d\w*|\S")
INCLUDE = b"#include <linux/btf.h>\n"
TAG_RE = re.compile(r"^__bpf_kfunc ([^\n]*\()", re.M)


def kfuncfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kfuncfix", *args], capture_output=True,
                          text=True)


def test_linux61_check_reports_the_68_untagged_kfuncs_only(linux61: Path) -> None:
    result = kfuncfix("check", str(linux61))
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert len(lines) == 68
    assert all(re.fullmatch(r"\S+:\d+: ERROR: bpf_kfunc_tag: kfunc \w+ is not tagged "
                            r"__bpf_kfunc", line) for line in lines), lines
    assert "rules: bpf_kfunc_tag\n" in result.stderr  # no later convention in 6.1
    assert "`kfuncfix series` adds its definition in patch 1" in result.stderr


def test_linux612_check_reports_only_what_was_looked_at(linux612: Path) -> None:
    result = kfuncfix("check", str(linux612))
    assert "rules: bpf_kfunc_tag, btf_kfuncs_set, kfunc_defs_block" in result.stderr
    # net/netfilter/nf_flow_table_bpf.c keeps a redundant __diag_push() pair (its
    # __diag_pop() without a semicolon) around its __bpf_kfunc_start_defs() block:
    # a real finding, which the rule leaves to a human (merging two blocks).
    assert result.stdout.splitlines() == [
        "net/netfilter/nf_flow_table_bpf.c:29: WARNING: kfunc_defs_block: __diag_push: "
        "already holds a __bpf_kfunc_start_defs() block; merge the two by hand"]
    assert result.returncode == 1


def strip_conventions(tree: Path) -> list[str]:
    """Undo the three conventions in the .c files (the macros stay defined in the
    headers): the tag, BTF_KFUNCS_START sets, __bpf_kfunc_start_defs() blocks."""
    out = subprocess.run(["git", "-C", str(tree), "grep", "-l", "-E",
                          "^__bpf_kfunc |BTF_KFUNCS_(START|END)|__bpf_kfunc_(start|end)_defs",
                          "--", "*.c"], capture_output=True, text=True, check=True).stdout
    changed = []
    for rel in out.split():
        path = tree / rel
        text = path.read_text(encoding="latin-1")
        new = TAG_RE.sub(r"\1", text)
        new = re.sub(r"\bBTF_KFUNCS_(START|END)\(", r"BTF_SET8_\1(", new)
        new = new.replace("__bpf_kfunc_start_defs();",
                          '__diag_push();\n__diag_ignore_all("-Wmissing-prototypes",\n'
                          '\t\t  "Global functions as their definitions will be in BTF");')
        new = new.replace("__bpf_kfunc_end_defs();", "__diag_pop();")
        if new != text:
            path.write_text(new, encoding="latin-1")
            changed.append(rel)
    return changed


@pytest.fixture(scope="module")
def stripped612(linux612: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = git_worktree(linux612, tmp_path_factory.mktemp("strip") / "linux")
    assert len(strip_conventions(tree)) > 25
    subprocess.run(["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@e",
                    "commit", "-qam", "strip"], check=True)
    yield tree
    subprocess.run(["git", "-C", str(linux612), "worktree", "remove", "--force", str(tree)],
                   capture_output=True)


def test_apply_rule_all_restores_a_stripped_612(stripped612: Path, linux612: Path) -> None:
    before = kfuncfix("check", str(stripped612))
    assert before.returncode == 1 and before.stdout.count("ERROR: bpf_kfunc_tag") > 200
    assert "WARNING: btf_kfuncs_set" in before.stdout
    assert "WARNING: kfunc_defs_block" in before.stdout
    applied = kfuncfix("apply", "--rule", "all", "--force", str(stripped612))
    # Exit 1 would mean something reported as skipped: each such line names it.
    assert applied.returncode in (0, 1), applied.stderr
    skipped = [line for line in applied.stderr.splitlines()
               if line.startswith("kfuncfix: skipped ")]
    assert applied.returncode == (1 if skipped else 0)
    after = kfuncfix("check", str(stripped612))
    # Clean: even nf_flow_table_bpf.c's redundant pair is gone from the findings,
    # since the block our strip put inside it became __bpf_kfunc_start_defs() again
    # with the outer pair around it (as upstream has it, see DIFFERENCES).
    assert after.stdout == "" and after.returncode == 0, after.stdout
    # Token for token the original, but for what the rules do differently from
    # upstream's hand edits (each listed with the reason).
    names = subprocess.run(["git", "-C", str(stripped612), "diff", "--name-only", "HEAD~1"],
                           capture_output=True, text=True, check=True).stdout.split()
    differ = {}
    for rel in names:
        ours = (stripped612 / rel).read_bytes()
        theirs = subprocess.run(["git", "-C", str(linux612), "show", f"HEAD:{rel}"],
                                capture_output=True, check=True).stdout
        if INCLUDE not in theirs:
            # Upstream gets linux/btf.h through another header (linux/bpf.h,
            # linux/btf_ids.h); the rules include what the file uses.
            ours = ours.replace(INCLUDE, b"", 1)
        if TOKEN_RE.findall(ours) != TOKEN_RE.findall(theirs):
            differ[rel] = _first_difference(theirs, ours)
    assert sorted(differ) == sorted(DIFFERENCES), differ


# Files where the restored tree differs from upstream's, and why.
DIFFERENCES = {
    # Upstream kept a redundant `noinline` after the tag on bpf_kfunc_call_test4
    # (`__bpf_kfunc long noinline bpf_kfunc_call_test4(...)`); the tag implies
    # it, and the rule drops it as it does everywhere else.
    "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c": "redundant noinline dropped",
    # Upstream tags the fmodret targets bpf_fentry_test* and
    # bpf_modify_return_test* too; the tag rule rewrites kfuncs and destructors
    # by default (`kinds`, tests/test_rule_kinds.py).
    "net/bpf/test_run.c": "fmodret targets left untagged",
    # Upstream wraps its __bpf_kfunc_start_defs() block in a redundant
    # __diag_push() pair (its __diag_pop() without a semicolon).  After the strip
    # two plain pairs are nested; the rule turns the outer one, upstream's, into
    # __bpf_kfunc_start_defs()/__bpf_kfunc_end_defs() and leaves the inner one.
    "net/netfilter/nf_flow_table_bpf.c": "the outer of two nested diag pairs converted",
}


def _first_difference(a: bytes, b: bytes) -> str:
    ta, tb = TOKEN_RE.findall(a), TOKEN_RE.findall(b)
    for i, (x, y) in enumerate(zip(ta, tb, strict=False)):
        if x != y:
            up, ours = b" ".join(ta[i:i + 6]), b" ".join(tb[i:i + 6])
            return f"token {i}: upstream {up!r}, ours {ours!r}"
    return f"lengths {len(ta)} / {len(tb)}"
