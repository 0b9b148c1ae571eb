"""The patch series on Debian's linux-source-6.1, for every split policy.

6.1 predates __bpf_kfunc, so every series starts with the patch adding it.
One shared clone of the read-only cache serves the whole module; the series
of each split is written once (with --check) and then proved independently:
git am on the clone at the base, the tree's checkpatch.pl on every patch,
git send-email --dry-run on the directory, the tip's tree against `kfuncfix
diff --with-definition` and an in-place `apply --with-definition`, and each
hunk against the lines the plan changes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import Plan, load_rule, plan
from kfuncfix.model import TreeIndex
from kfuncfix.series import SPLITS, plan_series
from tests.series_helper import (
    PlannedLines,
    assert_hunks_within_plan,
    git,
    header,
    patch_files,
    plan_lines,
    user_state,
    without_cover,
)

pytestmark = pytest.mark.realtree

IDENT = "Test Person <test@example.org>"
DATE = "2024-05-01T09:00:00Z"
DOC = "Documentation/bpf/kfuncs.rst"
DEFINITION = "bpf: Add __bpf_kfunc tag for marking kernel functions as kfuncs"
# The cache is a one-commit repository: no history, so each group's prefix
# comes from its MAINTAINERS section.
SUBJECTS = {
    "none": [DEFINITION, "bpf: Tag kfuncs in the tree with __bpf_kfunc"],
    "subsystem": [
        DEFINITION,
        "cgroup: Tag kfuncs in rstat.c with __bpf_kfunc",
        "kexec: Tag kfuncs in kexec_core.c with __bpf_kfunc",
        # The group left over names its files: it is not the whole tree.
        "bpf: Tag kfuncs in bpf_trace.c, test_run.c and bpf_testmod.c with __bpf_kfunc",
        "tcp: Tag kfuncs in net/ipv4/ with __bpf_kfunc",
        "netfilter: Tag kfuncs in net/netfilter/ with __bpf_kfunc",
    ],
    "file": [DEFINITION] + [f"{prefix}: Tag kfuncs in {name} with __bpf_kfunc" for prefix, name in [
        ("cgroup", "rstat.c"), ("kexec", "kexec_core.c"), ("bpf", "bpf_trace.c"),
        ("bpf", "test_run.c"), ("tcp", "tcp_bbr.c"), ("tcp", "tcp_cong.c"),
        ("tcp", "tcp_cubic.c"), ("tcp", "tcp_dctcp.c"), ("netfilter", "nf_conntrack_bpf.c"),
        ("netfilter", "nf_nat_bpf.c"), ("bpf", "bpf_testmod.c")]],
}
# On 6.1 every section with kfuncs has a list of its own: by list is by subsystem.
SUBJECTS["list"] = SUBJECTS["subsystem"]
MACRO_ERROR = "ERROR:COMPLEX_MACRO: Macros with complex values should be enclosed in parentheses"


@dataclass
class Written:
    """One split's series as `kfuncfix series --check` wrote it."""

    files: list[Path]
    exit_code: int
    stderr: str

    @property
    def tip(self) -> str:
        return self.files[-1].read_text().split(" ", 2)[1]  # "From <sha> Mon Sep 17 ..."


@dataclass
class Applied:
    """What plain git did with one split's series on a worktree at the base."""

    tree: str  # the tree git am ends with
    checkpatch: dict[str, list[str]]  # patch file name -> its ERROR findings


def define_line(patch: Path) -> int:
    """The line of the patch file that adds the macro (checkpatch counts from 1)."""
    return patch.read_text().split("\n").index("+#define __bpf_kfunc __used noinline") + 1


@pytest.fixture(scope="module")
def clone(linux61: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A shared clone keeps the series' objects out of the read-only cache; it is
    # checked out because get_maintainer.pl and checkpatch.pl run from the tree.
    dest = tmp_path_factory.mktemp("linux61") / "linux"
    subprocess.run(["git", "clone", "-q", "--shared", str(linux61), str(dest)], check=True)
    git(dest, "config", "user.name", "Test Person")
    git(dest, "config", "user.email", "test@example.org")
    return dest


@pytest.fixture(scope="module")
def states(clone: Path) -> list[tuple[str, ...]]:
    """The clone's worktree, index, HEAD and branches before and after all the series."""
    return [user_state(clone)]


@pytest.fixture(scope="module")
def written(clone: Path, states: list[tuple[str, ...]],
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Written]:
    out = {}
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    for split in SPLITS:
        outdir = tmp_path_factory.mktemp(f"series-{split}")
        result = CliRunner(env=env).invoke(main, [
            "series", str(clone), "-o", str(outdir), "--split", split, "--check",
            "--date", DATE])
        out[split] = Written(patch_files(outdir), result.exit_code, result.stderr)
    states.append(user_state(clone))
    return out


@pytest.fixture(scope="module")
def applied(clone: Path, written: dict[str, Written]) -> Iterator[dict[str, Applied]]:
    """git am of each series on the clone at the base, and checkpatch on each patch.

    The clone's own checkout serves (after the series are written, which must
    not touch it): another checkout of 6.1 would cost more than the rest.
    """
    base = git(clone, "rev-parse", "HEAD").strip()
    results = {}
    for split, series in written.items():
        git(clone, "checkout", "-q", "--detach", base)
        git(clone, "am", "-q", "--no-3way", *map(str, without_cover(series.files)))
        findings = {}
        for patch in without_cover(series.files):
            done = subprocess.run(
                ["perl", "scripts/checkpatch.pl", "--terse", "--show-types", "--no-summary",
                 str(patch)], cwd=clone, capture_output=True, text=True, check=False)
            assert done.returncode in (0, 1), done.stderr
            findings[patch.name] = [line.removeprefix(f"{patch}:")
                                    for line in done.stdout.splitlines() if " ERROR:" in line]
        results[split] = Applied(git(clone, "rev-parse", "HEAD^{tree}").strip(), findings)
    git(clone, "checkout", "-q", "--detach", base)
    yield results
    git(clone, "checkout", "-q", "--detach", base)


@pytest.fixture(scope="module")
def planned(clone: Path) -> tuple[TreeIndex, Plan, PlannedLines]:
    index = discover(clone, rev="HEAD")
    result = plan(index, load_rule("bpf_kfunc_tag"))
    return index, result, plan_lines(clone, index, result)


@pytest.mark.parametrize("split", SPLITS)
def test_check_passes_with_the_macro_error_expected(
    split: str, written: dict[str, Written]
) -> None:
    series = written[split]
    assert series.exit_code == 0, series.stderr
    count = len(SUBJECTS[split])
    width = len(str(count))  # git pads: [PATCH 01/12]
    assert [header(f, "Subject") for f in series.files] == [
        f"[PATCH bpf-next {0:0{width}}/{count}] Tag all kfuncs with __bpf_kfunc",
        *(f"[PATCH bpf-next {n:0{width}}/{count}] {s}" for n, s in enumerate(SUBJECTS[split], 1))]
    lines = series.stderr.splitlines()
    assert lines[-1] == "kfuncfix: series check passed"
    assert sum("FAIL" in line for line in lines) == 0
    # The definition patch's one checkpatch error is listed as expected, no other.
    line = define_line(series.files[1])
    assert [x.strip() for x in lines if "expected: " in x] == [
        f"expected: {line}: {MACRO_ERROR}"]
    # checkpatch --strict and kernel-doc -none: nothing new on any patch.
    assert sum(", checkpatch --strict: 0 new errors, 0 new warnings, 0 new checks" in line
               for line in lines) == len(SUBJECTS[split])
    assert sum("kernel-doc: 0 new warnings" in line for line in lines) == len(SUBJECTS[split])


def test_git_am_gives_one_tree_for_every_split_the_tree_of_each_tip(
    clone: Path, written: dict[str, Written], applied: dict[str, Applied]
) -> None:
    trees = {split: applied[split].tree for split in SPLITS}
    assert len(set(trees.values())) == 1, trees
    for split, series in written.items():
        assert git(clone, "rev-parse", f"{series.tip}^{{tree}}").strip() == trees[split]


@pytest.mark.parametrize("split", SPLITS)
def test_checkpatch_errors_only_the_definition_macro(
    split: str, written: dict[str, Written], applied: dict[str, Applied]
) -> None:
    findings = applied[split].checkpatch
    definition, *rewrites = without_cover(written[split].files)
    assert findings[definition.name] == [f"{define_line(definition)}: {MACRO_ERROR}"]
    # checkpatch's complaint is answered in the commit message itself.
    assert "checkpatch asks for the macro's value to be put in parentheses" in (
        definition.read_text())
    for patch in rewrites:
        assert findings[patch.name] == [], patch.name


@pytest.mark.parametrize("split", SPLITS)
def test_send_email_dry_run_accepts_the_directory(
    split: str, clone: Path, written: dict[str, Written]
) -> None:
    probe = subprocess.run(["git", "send-email", "-h"], capture_output=True, text=True,
                           check=False)
    if "is not a git command" in probe.stdout + probe.stderr:
        pytest.skip("git send-email is missing: apt-get install git-email")
    if subprocess.run(["perl", "-MMail::Address", "-e1"], capture_output=True).returncode:
        pytest.skip("perl's Mail::Address is missing: apt-get install libmailtools-perl")
    files = written[split].files
    done = subprocess.run(
        ["git", "-C", str(clone), "send-email", "--dry-run", "--confirm=never",
         "--smtp-server=127.0.0.1", f"--from={IDENT}", "--no-to", "--no-cc", "--no-bcc",
         "--8bit-encoding=UTF-8", str(files[0].parent)],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    sent = done.stdout.split("Dry-OK. Log says:\n")[1:]
    assert len(sent) == len(files)
    for mail, path in zip(sent, files, strict=True):
        assert f"Subject: {header(path, 'Subject')}" in " ".join(mail.split("\n "))
        assert "RCPT TO:<bpf@vger.kernel.org>" in mail


def test_series_total_is_diff_with_definition(
    clone: Path, written: dict[str, Written], applied: dict[str, Applied],
    tmp_path: Path
) -> None:
    tip_tree = applied["none"].tree
    base = git(clone, "rev-parse", "HEAD").strip()
    diff = CliRunner().invoke(main, ["diff", "--with-definition", str(clone)])
    assert diff.exit_code == 0, diff.stderr
    # The diff applied to the base in a private index: the tree it describes.
    env = dict(os.environ, GIT_INDEX_FILE=str(tmp_path / "index"))
    git(clone, "read-tree", base, env=env)
    subprocess.run(["git", "-C", str(clone), "apply", "--cached", "-"], input=diff.stdout_bytes,
                   env=env, check=True)
    diff_tree = git(clone, "write-tree", env=env).strip()
    assert diff_tree == tip_tree
    # The documentation note of patch 1 is part of both.
    rule = load_rule("bpf_kfunc_tag")
    assert rule.definition is not None and rule.definition.doc_text is not None
    note = rule.definition.doc_text.strip("\n").splitlines()[0]
    tip_doc, base_doc = (git(clone, "show", f"{rev}:{DOC}") for rev in (tip_tree, base))
    assert note in tip_doc and note not in base_doc

    # And the same with an in-place apply.
    result = CliRunner().invoke(main, ["apply", "--with-definition", str(clone)])
    assert result.exit_code == 0, result.stderr
    try:
        assert git(clone, "diff", "--name-only", tip_tree) == ""
    finally:
        git(clone, "checkout", "-q", "--", ".")


@pytest.mark.parametrize("split", SPLITS)
def test_each_patch_changes_only_planned_lines_of_its_group(
    split: str, written: dict[str, Written], planned: tuple[TreeIndex, Plan, PlannedLines]
) -> None:
    index, result, lines = planned
    groups = plan_series(index, result, split, "HEAD").groups
    definition, *rewrites = without_cover(written[split].files)
    # Patch 1 as upstream's: kfuncs.rst, conf.py's c_id_attributes, and btf.h.
    assert sorted(assert_hunks_within_plan(definition, lines)) == [
        DOC, "Documentation/conf.py", "include/linux/btf.h"]
    assert [sorted(assert_hunks_within_plan(p, lines)) for p in rewrites] == [
        sorted(c.path for c in group) for group in groups]


def test_series_leaves_the_clone_alone(
    written: dict[str, Written], states: list[tuple[str, ...]]
) -> None:
    before, after = states
    assert after == before


def test_recipients_from_get_maintainer(written: dict[str, Written]) -> None:
    cover, _, cgroup, _, _, _, netfilter = written["subsystem"].files
    assert "Pablo Neira Ayuso <pablo@netfilter.org>" in header(netfilter, "To")
    assert "netfilter-devel@vger.kernel.org" in header(netfilter, "Cc")
    assert "Tejun Heo <tj@kernel.org>" in header(cgroup, "To")
    assert "cgroups@vger.kernel.org" in header(cgroup, "Cc")
    assert "pablo@netfilter.org" not in header(cgroup, "To") + header(cgroup, "Cc")
    for address in ("pablo@netfilter.org", "tj@kernel.org", "ast@kernel.org"):
        assert address in header(cover, "To")


def test_the_cache_is_left_alone(
    linux61: Path, written: dict[str, Written], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Other test modules may hold worktrees of the cache; none may be ours.
    ours = str(tmp_path_factory.getbasetemp())
    assert ours not in git(linux61, "worktree", "list", "--porcelain")
    assert git(linux61, "for-each-ref", "--format=%(refname)") == "refs/heads/master\n"
