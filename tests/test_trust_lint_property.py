"""The lint's completeness, on random small histories of the sample tree.

New files with odd names (non-ASCII, a tab, a space, a quote, a leading dash)
holding kfuncs tagged or not, a function defined in one commit and registered
in a later one, renames of sample files, later commits moving lines above
kfuncs, and merges (plain, evil, or of a definition on one side and its set on
the other).  Every untagged kfunc that `check` reports on the tip and not on
the base must be reported by `check --git base..tip`, and by `check --patch`
of each commit's patch, both on the commit's parent and on the tip.  The fast
path of `check --git` must find exactly what reading each revision finds.

KFUNCFIX_PROPERTY_EXAMPLES sets the number of histories (default: a few, to
keep the fast tier fast).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import partial
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfuncfix import commitscope
from kfuncfix.commitlint import full_plans, lint_patch, lint_range
from kfuncfix.commitscope import scoped_plans
from kfuncfix.lint import Finding, findings
from kfuncfix.pipeline import Request, run_plan
from kfuncfix.sample import __file__ as SAMPLE_INIT
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source

SAMPLE = Path(SAMPLE_INIT).parent / "tree"
EXAMPLES = int(os.environ.get("KFUNCFIX_PROPERTY_EXAMPLES", "3"))
# The ways the scope finds the files naming a change's functions, each forced
# (without the cache, which may hold the files with sets and so choose for them):
# one git grep for the names, and the names read in the files with sets.
WAYS = ((commitscope.FEW_WORDS, False), (0, False))
ENV = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org",
           GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.org")
NAMES = ["kernel/caf\u00e9.c", "kernel/t\tab.c", "kernel/sp ace.c", "-dash.c",
         "net/-lead.c", 'kernel/q"uote.c', "kernel/back\\slash.c", "kernel/\u00fcn\u00ef/x.c"]
# Sample files a later commit may move lines in or rename (each at most once, so
# that every commit's patch still applies, in reverse, to the tip).
SAMPLE_FILES = ["kernel/bpf/helpers.c", "kernel/bpf/taskref.c", "kernel/softlockup_dump.c",
                "net/ipv4/tcp_softcc.c", "net/netfilter/nf_flowmark_bpf.c"]
TAG = "bpf_kfunc_tag"

add = st.tuples(st.just("add"), st.sampled_from(NAMES), st.booleans())
define_then_register = st.tuples(st.just("split"), st.sampled_from(NAMES),
                                 st.sampled_from(NAMES))
move = st.tuples(st.just("move"), st.sampled_from(SAMPLE_FILES), st.integers(0, 1000),
                 st.integers(1, 40))
rename = st.tuples(st.just("rename"), st.sampled_from(SAMPLE_FILES), st.sampled_from(NAMES))
merge = st.tuples(st.just("merge"), st.sampled_from(["plain", "evil", "semantic"]),
                  st.sampled_from(NAMES))
steps = st.lists(st.one_of(add, define_then_register, move, rename, merge),
                 min_size=1, max_size=4)


class History:
    """A repository made from the sample tree, one commit per step."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serial = 0
        self.used: set[str] = set()

    def git(self, *args: str) -> bytes:
        return subprocess.run(["git", "-C", str(self.root), *args], check=True,
                              capture_output=True, env=ENV).stdout

    def fresh(self, name: str) -> tuple[str, str]:
        """A path not used yet, made from `name`, and a kfunc name not used yet."""
        self.serial += 1
        stem, dot, ext = name.rpartition(".")
        return f"{stem}{self.serial}{dot}{ext}", f"bpf_p{self.serial}"

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def add(self, name: str, tagged: bool) -> None:
        rel, func = self.fresh(name)
        tag = "__bpf_kfunc " if tagged else ""
        self.write(rel, kfunc_source(f"\n{tag}int {func}(int a)\n{{\n\treturn a;\n}}\n",
                                     [func], f"{func}_ids"))
        self.commit(f"add {func}")

    def split(self, first: str, second: str, commit: bool = True) -> tuple[str, str, str]:
        """A definition alone in one file, its set and registration in another."""
        rel, func = self.fresh(first)
        self.write(rel, f"// SPDX-License-Identifier: GPL-2.0\n\nint {func}(int a)\n"
                        "{\n\treturn a;\n}\n")
        if commit:
            self.commit(f"define {func}")
        other, _ = self.fresh(second)
        return rel, other, func

    def register(self, rel: str, func: str) -> None:
        self.write(rel, kfunc_source("", [func], f"{func}_ids"))
        self.commit(f"register {func}")

    def move(self, rel: str, where: int, count: int) -> None:
        """Comment lines inserted after a blank line of a sample file: what lies
        below moves, nothing else changes."""
        if rel in self.used or not (self.root / rel).exists():
            return
        self.used.add(rel)
        lines = (self.root / rel).read_text().splitlines(keepends=True)
        blanks = [i + 1 for i, line in enumerate(lines) if not line.strip()]
        at = blanks[where % len(blanks)]
        lines[at:at] = ["// moved\n"] * count
        (self.root / rel).write_text("".join(lines))
        self.commit(f"move lines of {rel}")

    def rename(self, rel: str, name: str) -> None:
        if rel in self.used or not (self.root / rel).exists():
            return
        self.used.add(rel)
        target, _ = self.fresh(name)
        (self.root / target).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", "--", rel, target)
        self.commit(f"rename {rel}")

    def merge(self, kind: str, name: str) -> None:
        self.serial += 1
        branch = f"side{self.serial}"
        self.git("checkout", "-q", "-b", branch)
        if kind == "semantic":
            _, other, func = self.split(name, name)
        else:
            self.add(name, tagged=False)
        self.git("checkout", "-q", "master")
        if kind == "semantic":
            self.register(other, func)
        else:
            self.add(name, tagged=True)
        self.git("merge", "-q", "--no-ff", "--no-commit", branch)
        if kind == "evil":
            rel, func = self.fresh(name)
            self.write(rel, kfunc_source(f"\nint {func}(int a)\n{{\n\treturn a;\n}}\n",
                                         [func], f"{func}_ids"))
        self.commit(f"Merge branch {branch}")

    def play(self, step: tuple[object, ...]) -> None:
        kind = step[0]
        if kind == "add":
            self.add(str(step[1]), bool(step[2]))
        elif kind == "split":
            _, other, func = self.split(str(step[1]), str(step[2]))
            self.register(other, func)
        elif kind == "move":
            self.move(str(step[1]), int(str(step[2])), int(str(step[3])))
        elif kind == "rename":
            self.rename(str(step[1]), str(step[2]))
        else:
            self.merge(str(step[1]), str(step[2]))


def untagged(found: list[Finding]) -> set[str]:
    # Not the uses of a tag the sample tree does not define (tagged kfuncs the steps
    # add): those are reported by check and check --git, not by a patch alone.
    return {f.kfunc or "" for f in found if f.rule == TAG and f.severity == "error"
            and "does not define" not in f.message}


def tree_untagged(root: Path) -> set[str]:
    run = run_plan(Request(root, lint=True))
    return untagged(findings(run.index, run.plan))


def _lint_patch(root: Path, patch: bytes) -> list[Finding]:
    """check --patch, whose scoped indexes must find what whole ones find."""
    found = lint_patch(root, (), patch).findings
    assert found == lint_patch(root, (), patch, whole=True).findings
    for few_words, cache in WAYS:
        with mock.patch.object(commitscope, "FEW_WORDS", few_words):
            assert found == lint_patch(root, (), patch, cache=cache).findings, few_words
    return found


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_every_new_untagged_kfunc_is_reported(plan: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory(prefix="kfuncfix-lintprop-") as tmp:
        root = Path(tmp) / "linux"
        shutil.copytree(SAMPLE, root)
        git_init(root)
        history = History(root)
        base = history.git("rev-parse", "HEAD").decode().strip()
        before = tree_untagged(root)
        for step in plan:
            history.play(step)
        new = tree_untagged(root) - before
        span = f"{base}..HEAD"
        if history.git("rev-list", span).strip() == b"":
            return  # every step was skipped
        reference = lint_range(root, span, full_plans(root, ()))
        for few_words, cache in (*WAYS, (commitscope.FEW_WORDS, True)):
            with mock.patch.object(commitscope, "FEW_WORDS", few_words):
                fast = lint_range(root, span, partial(scoped_plans, root, (), cache=cache))
            assert [(c.commit, c.findings) for c in fast] == [
                (c.commit, c.findings) for c in reference], (few_words, cache)
        reported = set().union(*(untagged(c.findings) for c in fast))
        assert new <= reported, (plan, new - reported)

        on_tip: set[str] = set()
        on_parent: set[str] = set()
        patches = []
        for c in fast:
            assert c.commit is not None
            if len(c.commit.parents) > 1:
                patch = history.git("diff", "--binary", c.commit.parents[0], c.commit.sha)
            else:
                patch = history.git("format-patch", "-1", "--stdout", c.commit.sha)
            patches.append((c.commit.parents[0], patch))
            on_tip |= untagged(_lint_patch(root, patch))
        for parent, patch in patches:
            history.git("checkout", "-q", "--detach", parent)
            on_parent |= untagged(_lint_patch(root, patch))
        history.git("checkout", "-q", "master")
        assert new <= on_tip, (plan, new - on_tip)
        assert new <= on_parent, (plan, new - on_parent)
