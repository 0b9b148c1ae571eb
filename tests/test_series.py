"""`kfuncfix series` and `kfuncfix apply --branch` on the sample tree and small git trees.

What a kernel developer relies on: the files are a series git am takes in
order on the base, with the subjects, threading, sign-offs and recipients a
list expects, written without touching their checkout, the same bytes on
every run, and a clear refusal (exit 2) for input that cannot work.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from unidiff import PatchSet

from kfuncfix.cli import main
from kfuncfix.cli.demo import make_sample_repo
from kfuncfix.discover import discover
from kfuncfix.engine import load_rule, plan
from kfuncfix.sample import copy_sample_tree
from kfuncfix.series import plan_series, section_prefix
from tests.conftest import git_init, write_tree
from tests.rewrite_helper import kfunc_source, read_tree
from tests.series_helper import (
    assert_hunks_within_plan,
    git,
    header,
    mail,
    patch_files,
    patch_set,
    plan_lines,
    user_state,
    without_cover,
)

ANN = "Ann Example <ann@example.org>"
BOB = "Bob Sender <bob@example.org>"
DATE = "2024-03-01T10:00:00Z"
KFUNC_FILES = [
    "kernel/bpf/taskref.c", "kernel/softlockup_dump.c", "net/ipv4/tcp_softcc.c",
    "net/netfilter/nf_flowmark_bpf.c", "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c",
]
DOC = "Documentation/bpf/kfuncs.rst"
DEFINITION_FILES = [DOC, "include/linux/btf.h"]
# Subjects of `--split subsystem` on the sample: its history has no prefixes,
# so each comes from the file's MAINTAINERS section.
SUBSYSTEM_SUBJECTS = [
    "bpf: Add __bpf_kfunc tag for marking kernel functions as kfuncs",
    "bpf: Tag kfuncs in taskref.c with __bpf_kfunc",
    "softlockup: Tag kfuncs in softlockup_dump.c with __bpf_kfunc",
    "tcp: Tag kfuncs in tcp_softcc.c with __bpf_kfunc",
    "netfilter: Tag kfuncs in nf_flowmark_bpf.c with __bpf_kfunc",
    "bpf: Tag kfuncs in bpf_testmod.c with __bpf_kfunc",
]
# A kernel tree that defines __bpf_kfunc already: its series has no definition patch.
TAGGED_BTF_H = ("#ifndef _LINUX_BTF_H\n#define _LINUX_BTF_H\n#define KF_ACQUIRE (1 << 0)\n"
                "#define __bpf_kfunc __used noinline\n#endif\n")
SMALL_MAINTAINERS = (
    "PACKET FILTERING\nM:\tNf Boss <nf@example.org>\nL:\tnf@lists.example.org\n"
    "F:\tnet/netfilter/\n\nBPF [CORE]\nM:\tBpf Boss <bpf@example.org>\nF:\tkernel/bpf/\n"
)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def set_identity(repo: Path, ident: str = ANN) -> None:
    name, email = ident[:-1].split(" <")
    git(repo, "config", "user.name", name)
    git(repo, "config", "user.email", email)


@pytest.fixture(autouse=True)
def no_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates come from --date or the clock unless a test sets SOURCE_DATE_EPOCH itself."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    repo = make_sample_repo(tmp_path / "linux")
    set_identity(repo)
    return repo


def small_repo(root: Path, extra: dict[str, str] | None = None) -> Path:
    """A git tree with __bpf_kfunc defined and one untagged kfunc in each of two sections."""
    files = {
        "Kconfig": "",
        "include/linux/btf.h": TAGGED_BTF_H,
        "MAINTAINERS": SMALL_MAINTAINERS,
        "net/netfilter/nf_x_bpf.c": kfunc_source(
            "\nnoinline int bpf_nf_x(int a)\n{\n\treturn a;\n}\n", ["bpf_nf_x"]),
        "kernel/bpf/y.c": kfunc_source(
            "\n__used noinline int bpf_y(void)\n{\n\treturn 0;\n}\n", ["bpf_y"], "y_ids"),
        **(extra or {}),
    }
    repo = git_init(write_tree(root, files))
    set_identity(repo)
    return repo


def commit_file(repo: Path, path: str, text: str, subject: str) -> None:
    (repo / path).write_text((repo / path).read_text() + text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", subject)


def subjects(outdir: Path) -> list[str]:
    return [header(f, "Subject") for f in patch_files(outdir)]


def series(tree: Path, outdir: Path, *args: str) -> Result:
    result = run("series", str(tree), "-o", str(outdir), "--date", DATE, *args)
    assert result.exit_code == 0, result.output
    return result


# --- what the series holds -------------------------------------------------------------


def test_definition_patch_comes_first_then_the_rewrite_and_git_am_takes_them(
    sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = series(sample, out, "--check")

    files = patch_files(out)
    assert [f.name for f in files] == [
        "0000-cover-letter.patch",
        "0001-bpf-Add-__bpf_kfunc-tag-for-marking-kernel-functions.patch",
        "0002-bpf-Tag-kfuncs-in-the-tree-with-__bpf_kfunc.patch",
    ]
    assert result.stdout.splitlines() == [str(f) for f in files]
    assert subjects(out) == [
        "[PATCH bpf-next 0/2] Tag all kfuncs with __bpf_kfunc",
        "[PATCH bpf-next 1/2] bpf: Add __bpf_kfunc tag for marking kernel functions as kfuncs",
        "[PATCH bpf-next 2/2] bpf: Tag kfuncs in the tree with __bpf_kfunc",
    ]
    definition, rewrite = (patch_set(f) for f in files[1:])
    assert sorted(p.path for p in definition) == DEFINITION_FILES
    assert "+#define __bpf_kfunc __used noinline\n" in files[1].read_text()
    assert sorted(p.path for p in rewrite) == KFUNC_FILES
    assert "series check passed" in result.stderr

    # Independently of --check: git am on a worktree at the base, then the
    # result is what `apply --with-definition` writes in place (the definition
    # and its note in the documentation included).
    scratch = tmp_path / "am"
    git(sample, "worktree", "add", "-q", "--detach", str(scratch), "HEAD")
    git(scratch, "am", "-q", *map(str, without_cover(files)))
    assert run("apply", "--with-definition", str(sample)).exit_code == 0
    applied = {k: v for k, v in read_tree(sample).items() if not k.startswith(".git/")}
    assert applied[DOC] != git(sample, "show", f"HEAD:{DOC}").encode()
    assert {k: v for k, v in read_tree(scratch).items() if k != ".git"} == applied


def test_each_patch_changes_only_the_lines_the_plan_changes(sample: Path, tmp_path: Path) -> None:
    index = discover(sample, rev="HEAD")
    result = plan(index, load_rule("bpf_kfunc_tag"))
    planned = plan_lines(sample, index, result)
    for split in ("none", "subsystem", "file"):
        out = tmp_path / split
        series(sample, out, "--split", split)
        groups = plan_series(index, result, split, "HEAD").groups
        touched = [assert_hunks_within_plan(f, planned) for f in without_cover(patch_files(out))]
        assert sorted(touched[0]) == DEFINITION_FILES
        assert [sorted(t) for t in touched[1:]] == [sorted(c.path for c in g) for g in groups]


def test_cover_letter_says_what_why_which_kfuncs_shortlog_diffstat_and_base(
    sample: Path, tmp_path: Path
) -> None:
    series(sample, tmp_path / "out")
    cover = patch_files(tmp_path / "out")[0]
    body = mail(cover).get_content()

    assert ("This series adds one tag for all of them, __bpf_kfunc, and puts it on the "
            "definitions of 23 kfuncs in 5 files.") in " ".join(body.split())
    assert ("  net/netfilter/nf_flowmark_bpf.c: bpf_xdp_flowmark_lookup(),\n"
            "    bpf_skb_flowmark_lookup(), bpf_flowmark_release(),\n"
            "    bpf_flowmark_get(), bpf_flowmark_set()\n") in body
    assert "Ann Example (2):\n  bpf: Add __bpf_kfunc tag" in body
    tip = patch_files(tmp_path / "out")[-1].read_text().split()[1]  # "From <sha> Mon Sep..."
    stat = git(sample, "diff", "--shortstat", "HEAD", tip).strip()
    assert stat.startswith("7 files changed") and stat in body
    assert f"base-commit: {git(sample, 'rev-parse', 'HEAD').strip()}" in body
    assert "*** SUBJECT HERE ***" not in cover.read_text()
    assert "*** BLURB HERE ***" not in cover.read_text()


def test_cover_letter_names_what_was_left_alone_and_why(tmp_path: Path) -> None:
    # An inline kfunc cannot take the tag: the cover letter must say so.
    inline = kfunc_source("\nstatic inline int bpf_inl(void)\n{\n\treturn 0;\n}\n",
                          ["bpf_inl"], "inl_ids")
    repo = small_repo(tmp_path / "repo", {"kernel/bpf/inl.c": inline})
    out = tmp_path / "out"
    result = run("series", str(repo), "-o", str(out), "--date", DATE, "--cover")
    # Written, and exit 1 as diff and apply: a planned kfunc was left out.
    assert result.exit_code == 1, result.output
    assert "kfuncfix: skipped kernel/bpf/inl.c:5: bpf_inl: inline definition" in result.stderr

    body = mail(patch_files(out)[0]).get_content()
    left = body.split("Left alone, with the reason:\n\n", 1)[1]
    assert left.startswith("  kernel/bpf/inl.c:5: bpf_inl: inline definition")
    assert "inl.c" not in body.split("Kfuncs changed, by file:", 1)[1].split("Left alone")[0]


def test_series_leaves_the_checkout_alone_and_reads_the_base_commit(
    sample: Path, tmp_path: Path
) -> None:
    # Someone mid-work: a staged change, a kfunc tagged by hand but not committed, a new file.
    (sample / "kernel/softlockup_dump.c").write_bytes(
        (sample / "kernel/softlockup_dump.c").read_bytes() + b"/* staged */\n")
    git(sample, "add", "kernel/softlockup_dump.c")
    edited = sample / "net/netfilter/nf_flowmark_bpf.c"
    text = edited.read_text()
    assert "\nstruct nf_flowmark *bpf_flowmark_get(" not in text
    edited.write_text(text.replace(
        "int bpf_flowmark_set(", "int bpf_flowmark_set( /* uncommitted edit */", 1))
    (sample / "notes.txt").write_text("mine\n")
    git(sample, "branch", "keep")
    before = user_state(sample)

    series(sample, tmp_path / "out", "--check")

    assert user_state(sample) == before
    assert "uncommitted edit" in edited.read_text()
    text = "".join(f.read_text() for f in patch_files(tmp_path / "out"))
    assert "uncommitted edit" not in text
    assert "/* staged */" not in text
    # The committed form of the edited function is what the series rewrites.
    assert "+__bpf_kfunc int bpf_flowmark_set(" in text


def test_base_option_builds_on_an_older_commit(sample: Path, tmp_path: Path) -> None:
    base = git(sample, "rev-parse", "HEAD").strip()
    commit_file(sample, "net/ipv4/tcp_softcc.c", "/* later */\n", "tcp: later work")
    series(sample, tmp_path / "out", "--base", base, "--check")
    body = mail(patch_files(tmp_path / "out")[0]).get_content()
    assert f"base-commit: {base}" in body
    assert "later" not in "".join(f.read_text() for f in patch_files(tmp_path / "out"))


# --- mail headers -----------------------------------------------------------------------


def test_version_two_changelog_range_diff_and_thread_under_v1(sample: Path, tmp_path: Path) -> None:
    assert run("apply", "--branch", "v1", "--date", DATE, str(sample)).exit_code == 0
    changes = tmp_path / "changes.txt"
    changes.write_text("Changes in v2:\n- tagged the testmod kfuncs too\n")
    out = tmp_path / "v2"
    series(sample, out, "-v", "2", "--changes", str(changes), "--range-diff", "master..v1",
           "--in-reply-to", "<v1-cover@example.org>", "--split", "subsystem")

    files = patch_files(out)
    assert all(f.name.startswith("v2-") for f in files)
    assert subjects(out)[:3] == [
        "[PATCH bpf-next v2 0/6] Tag all kfuncs with __bpf_kfunc",
        f"[PATCH bpf-next v2 1/6] {SUBSYSTEM_SUBJECTS[0]}",
        f"[PATCH bpf-next v2 2/6] {SUBSYSTEM_SUBJECTS[1]}",
    ]
    body = mail(files[0]).get_content()
    assert "Changes in v2:\n- tagged the testmod kfuncs too\n" in body
    assert "Range-diff against v1:\n" in body
    cover_id = header(files[0], "Message-Id")
    assert header(files[0], "In-Reply-To") == "<v1-cover@example.org>"
    assert header(files[0], "References") == "<v1-cover@example.org>"
    ids = {cover_id}
    for patch in files[1:]:
        assert header(patch, "In-Reply-To") == cover_id
        assert header(patch, "References") == f"<v1-cover@example.org> {cover_id}"
        ids.add(header(patch, "Message-Id"))
    assert len(ids) == len(files)
    # Every patch is addressed as a reply, and none carries the changelog itself.
    assert all("tagged the testmod" not in f.read_text() for f in files[1:])


def test_changes_without_a_reroll_count_is_refused(sample: Path, tmp_path: Path) -> None:
    changes = tmp_path / "changes.txt"
    changes.write_text("Changes in v2:\n- x\n")
    result = run("series", str(sample), "-o", str(tmp_path / "out"), "--changes", str(changes))
    assert result.exit_code == 2
    assert "give a reroll count" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_one_patch_has_no_cover_unless_asked_and_cover_from_is_used(tmp_path: Path) -> None:
    repo = small_repo(tmp_path / "repo")
    series(repo, tmp_path / "plain")
    assert [f.name for f in patch_files(tmp_path / "plain")] == [
        "0001-bpf-Tag-kfuncs-in-the-tree-with-__bpf_kfunc.patch"]
    assert subjects(tmp_path / "plain") == [
        "[PATCH bpf-next] bpf: Tag kfuncs in the tree with __bpf_kfunc"]

    series(repo, tmp_path / "forced", "--cover")
    assert subjects(tmp_path / "forced")[0] == (
        "[PATCH bpf-next 0/1] Tag all kfuncs with __bpf_kfunc")

    text = tmp_path / "cover.txt"
    text.write_text("bpf: Tag two kfuncs\n\nOnly two kfuncs, in two subsystems.\n")
    series(repo, tmp_path / "own", "--cover-from", str(text))
    cover = patch_files(tmp_path / "own")[0]
    assert header(cover, "Subject") == "[PATCH bpf-next 0/1] bpf: Tag two kfuncs"
    assert mail(cover).get_content().startswith("Only two kfuncs, in two subsystems.\n")


def test_no_cover_for_a_series_of_several(sample: Path, tmp_path: Path) -> None:
    series(sample, tmp_path / "out", "--no-cover")
    assert subjects(tmp_path / "out") == [
        "[PATCH bpf-next 1/2] bpf: Add __bpf_kfunc tag for marking kernel functions as kfuncs",
        "[PATCH bpf-next 2/2] bpf: Tag kfuncs in the tree with __bpf_kfunc",
    ]
    first, second = patch_files(tmp_path / "out")
    assert header(second, "In-Reply-To") == header(first, "Message-Id")
    assert "base-commit: " in first.read_text() + second.read_text()


def test_subject_prefix_option(sample: Path, tmp_path: Path) -> None:
    series(sample, tmp_path / "out", "--subject-prefix", "RFC PATCH bpf-next")
    assert subjects(tmp_path / "out")[0] == (
        "[RFC PATCH bpf-next 0/2] Tag all kfuncs with __bpf_kfunc")


def test_sign_off_is_the_git_identity_or_from(sample: Path, tmp_path: Path) -> None:
    series(sample, tmp_path / "mine")
    for patch in without_cover(patch_files(tmp_path / "mine")):
        assert header(patch, "From") == ANN
        assert mail(patch).get_content().count(f"Signed-off-by: {ANN}\n") == 1
    assert header(patch_files(tmp_path / "mine")[0], "From") == ANN

    series(sample, tmp_path / "bob", "--from", BOB)
    for patch in patch_files(tmp_path / "bob"):
        assert header(patch, "From") == BOB
        assert ANN not in patch.read_text()
    for patch in without_cover(patch_files(tmp_path / "bob")):
        assert f"Signed-off-by: {BOB}\n" in patch.read_text()


def test_per_patch_recipients_from_maintainers_plus_to_and_cc(
    sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    series(sample, out, "--split", "subsystem", "--to", "Lead <lead@example.org>",
           "--cc", "extra@example.org")
    files = patch_files(out)
    assert subjects(out)[1:] == [f"[PATCH bpf-next {n}/6] {s}"
                                 for n, s in enumerate(SUBSYSTEM_SUBJECTS, 1)]
    netfilter = files[5]
    assert header(netfilter, "To") == (
        "Lead <lead@example.org>, bpf@vger.kernel.org, "
        "Gustavo Lindgren <gustavo.lindgren@example.org>, "
        "Hana Novak <hana.novak@example.org>")
    assert header(netfilter, "Cc") == (
        "extra@example.org, netfilter-devel@lists.example.org, netdev@lists.example.org, "
        "linux-kernel@lists.example.org")
    # taskref.c: its own section (which BPF [CORE] excludes); its reviewer is copied.
    assert header(files[2], "To") == (
        "Lead <lead@example.org>, bpf@vger.kernel.org, Dana Petrova <dana.petrova@example.org>")
    assert header(files[2], "Cc") == (
        "extra@example.org, Ada Lindqvist <ada.lindqvist@example.org>, "
        "bpf@lists.example.org, linux-kernel@lists.example.org")
    # The cover letter goes to everyone any patch goes to.
    everyone = header(files[0], "To") + ", " + header(files[0], "Cc")
    for patch in files[1:]:
        for address in (header(patch, "To") + ", " + header(patch, "Cc")).split(", "):
            assert address in everyone

    series(sample, tmp_path / "bare", "--split", "subsystem", "--no-maintainers",
           "--to", "Lead <lead@example.org>", "--cc", "extra@example.org")
    for patch in patch_files(tmp_path / "bare"):
        # The rule's list is on every patch, MAINTAINERS or not.
        assert header(patch, "To") == "Lead <lead@example.org>, bpf@vger.kernel.org"
        assert header(patch, "Cc") == "extra@example.org"


def test_two_runs_with_date_or_source_date_epoch_are_byte_identical(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def files(outdir: Path) -> dict[str, bytes]:
        return {f.name: f.read_bytes() for f in patch_files(outdir)}

    series(sample, tmp_path / "a", "--split", "subsystem")
    series(sample, tmp_path / "b", "--split", "subsystem")
    assert files(tmp_path / "a") == files(tmp_path / "b")

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("c", "d"):
        result = run("series", str(sample), "-o", str(tmp_path / name), "--split", "subsystem")
        assert result.exit_code == 0, result.output
    assert files(tmp_path / "c") == files(tmp_path / "d")
    assert files(tmp_path / "c") != files(tmp_path / "a")
    for patch in patch_files(tmp_path / "c"):
        assert header(patch, "Date") == "Tue, 14 Nov 2023 22:13:20 +0000"


# --- split policies -----------------------------------------------------------------------


def test_subsystem_split_takes_each_prefix_from_the_history_of_its_files(tmp_path: Path) -> None:
    repo = small_repo(tmp_path / "repo")
    out = tmp_path / "fresh"
    series(repo, out, "--split", "subsystem")
    # No history yet: the MAINTAINERS section names the netfilter part.
    assert subjects(out) == [
        "[PATCH bpf-next 0/2] Tag all kfuncs with __bpf_kfunc",
        "[PATCH bpf-next 1/2] bpf: Tag kfuncs in y.c with __bpf_kfunc",
        "[PATCH bpf-next 2/2] packet: Tag kfuncs in nf_x_bpf.c with __bpf_kfunc",
    ]

    for subject in ("netfilter: nf_x: fix a", "netfilter: add b", "nf_x: old style"):
        commit_file(repo, "net/netfilter/nf_x_bpf.c", f"/* {subject} */\n", subject)
    commit_file(repo, "kernel/bpf/y.c", "/* y */\n", "bpf, y: touch y")
    series(repo, tmp_path / "history", "--split", "subsystem")
    assert subjects(tmp_path / "history")[1:] == [
        "[PATCH bpf-next 1/2] bpf, y: Tag kfuncs in y.c with __bpf_kfunc",
        "[PATCH bpf-next 2/2] netfilter: Tag kfuncs in nf_x_bpf.c with __bpf_kfunc",
    ]


def test_a_file_no_section_covers_gets_the_rule_prefix(tmp_path: Path) -> None:
    orphan = kfunc_source("\nnoinline int bpf_z(void)\n{\n\treturn 0;\n}\n", ["bpf_z"], "z_ids")
    repo = small_repo(tmp_path / "repo", {"drivers/z/z.c": orphan})
    series(repo, tmp_path / "out", "--split", "subsystem")
    assert subjects(tmp_path / "out")[1:] == [
        "[PATCH bpf-next 1/3] bpf: Tag kfuncs in z.c with __bpf_kfunc",
        "[PATCH bpf-next 2/3] bpf: Tag kfuncs in y.c with __bpf_kfunc",
        "[PATCH bpf-next 3/3] packet: Tag kfuncs in nf_x_bpf.c with __bpf_kfunc",
    ]
    # No section, no maintainer to send it to: only the rule's list.
    assert header(patch_files(tmp_path / "out")[1], "To") == "bpf@vger.kernel.org"


@pytest.mark.parametrize(("name", "prefix"), [
    ("NETFILTER", "netfilter"),
    ("CONTROL GROUP (CGROUP)", "cgroup"),
    ("NETWORKING [TCP]", "tcp"),
    ("NETWORKING [IPv4/IPv6]", "ipv4"),
    ("BPF [GENERAL] (Safe Dynamic Programs and Tools)", "bpf"),
    ("KERNEL VIRTUAL MACHINE (KVM)", "kvm"),
    ("THE REST", None),  # nothing to say: the rule's own prefix is used
])
def test_prefix_from_a_section_name(name: str, prefix: str | None) -> None:
    assert section_prefix(name) == prefix


def test_file_split_without_maintainers_and_subsystem_split_needs_it(tmp_path: Path) -> None:
    repo = small_repo(tmp_path / "repo")
    git(repo, "rm", "-q", "MAINTAINERS")
    git(repo, "commit", "-q", "-m", "no MAINTAINERS")

    result = run("series", str(repo), "-o", str(tmp_path / "file"), "--split", "file",
                 "--date", DATE, "--to", "Lead <lead@example.org>")
    assert result.exit_code == 0, result.output
    assert "has no MAINTAINERS" in result.stderr
    assert [header(f, "To") for f in patch_files(tmp_path / "file")] == [
        "Lead <lead@example.org>, bpf@vger.kernel.org"] * 3
    assert subjects(tmp_path / "file")[1:] == [
        "[PATCH bpf-next 1/2] bpf: Tag kfuncs in y.c with __bpf_kfunc",
        "[PATCH bpf-next 2/2] bpf: Tag kfuncs in nf_x_bpf.c with __bpf_kfunc",
    ]

    result = run("series", str(repo), "-o", str(tmp_path / "sub"), "--split", "subsystem")
    assert result.exit_code == 2
    assert "--split subsystem needs a MAINTAINERS file" in result.stderr
    assert not (tmp_path / "sub").exists()


# --- branches -----------------------------------------------------------------------------


def test_apply_branch_commits_the_series_and_leaves_the_checkout_alone(
    sample: Path, tmp_path: Path
) -> None:
    (sample / "notes.txt").write_text("mine\n")
    before = user_state(sample)
    result = run("apply", "--branch", "tags", "--split", "subsystem", "--date", DATE,
                 str(sample))
    assert result.exit_code == 0, result.output
    after = user_state(sample)
    # Only the new branch appears among the refs.
    assert after[:2] == before[:2] and after[3:] == before[3:]
    tip = git(sample, "rev-parse", "refs/heads/tags").strip()
    assert f"refs/heads/tags {tip}" not in before[2]
    assert git(sample, "log", "--reverse", "--format=%s", "master..tags").splitlines() == (
        SUBSYSTEM_SUBJECTS)
    assert git(sample, "rev-list", "--count", "master..tags").strip() == "6"

    # The same commits as the mail series, and the same tree as an in-place apply.
    series(sample, tmp_path / "out", "--split", "subsystem")
    assert patch_files(tmp_path / "out")[-1].read_text().startswith(f"From {tip} ")
    assert run("apply", "--with-definition", str(sample)).exit_code == 0
    assert git(sample, "diff", "--stat", tip, "--", ".", ":!notes.txt") == ""
    assert git(sample, "show", f"{tip}:{DOC}").encode() == (sample / DOC).read_bytes()

    again = run("apply", "--branch", "tags", "--date", DATE, str(sample))
    assert again.exit_code == 2
    assert "branch tags already exists (use --force" in again.stderr
    assert git(sample, "rev-parse", "refs/heads/tags").strip() == tip
    forced = run("apply", "--branch", "tags", "--force", "--date", DATE, str(sample))
    assert forced.exit_code == 0, forced.output
    assert git(sample, "rev-list", "--count", "master..tags").strip() == "2"


def test_series_from_a_branch_edited_by_hand(sample: Path, tmp_path: Path) -> None:
    assert run("apply", "--branch", "work", "--date", DATE, str(sample)).exit_code == 0
    # Reword the last commit on the branch, as a developer would before mailing.
    scratch = tmp_path / "edit"
    git(sample, "worktree", "add", "-q", str(scratch), "work")
    git(scratch, "commit", "-q", "--amend", "-m",
        "bpf: Tag every kfunc with __bpf_kfunc\n\nReworded by hand.\n\n"
        f"Signed-off-by: {ANN}")
    git(sample, "worktree", "remove", str(scratch))
    before = user_state(sample)

    out = tmp_path / "out"
    result = run("series", str(sample), "-o", str(out), "--from-branch", "work", "--check")
    assert result.exit_code == 0, result.output
    assert user_state(sample) == before
    assert subjects(out) == [
        "[PATCH bpf-next 0/2] Tag all kfuncs with __bpf_kfunc",
        "[PATCH bpf-next 1/2] bpf: Add __bpf_kfunc tag for marking kernel functions as kfuncs",
        "[PATCH bpf-next 2/2] bpf: Tag every kfunc with __bpf_kfunc",
    ]
    assert "Reworded by hand." in patch_files(out)[2].read_text()
    cover = patch_files(out)[0].read_text()
    assert "*** SUBJECT HERE ***" not in cover and "*** BLURB HERE ***" not in cover
    assert "  net/ipv4/tcp_softcc.c: softcc_init(), softcc_cong_avoid()," in cover
    assert patch_files(out)[2].read_text().startswith(
        f"From {git(sample, 'rev-parse', 'work').strip()} ")

    missing = run("series", str(sample), "-o", str(tmp_path / "x"), "--from-branch", "nope")
    assert missing.exit_code == 2
    assert "no branch named 'nope'" in missing.stderr


# --- bad input ----------------------------------------------------------------------------


def test_plain_tree_series_and_branch_refused_diff_and_apply_work(tmp_path: Path) -> None:
    plain = copy_sample_tree(tmp_path / "plain")
    for args in (["series", str(plain), "-o", str(tmp_path / "out"), "--from", ANN],
                 ["apply", "--branch", "b", "--from", ANN, str(plain)]):
        result = run(*args)
        assert result.exit_code == 2, args
        assert result.stderr == f"kfuncfix: error: {plain} is not a git repository\n"
    assert not (tmp_path / "out").exists()

    diff = run("diff", str(plain))
    assert diff.exit_code == 0
    assert sorted(p.path for p in PatchSet(diff.stdout)) == KFUNC_FILES
    assert run("apply", str(plain)).exit_code == 0
    assert "__bpf_kfunc int bpf_flowmark_set(" in (
        plain / "net/netfilter/nf_flowmark_bpf.c").read_text()


def test_a_subdirectory_is_not_taken_for_the_tree(sample: Path, tmp_path: Path) -> None:
    result = run("series", str(sample / "net"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert f"not the top of a git work tree (that is {sample.resolve()})" in result.stderr


def test_output_directory_with_patches_is_refused_unless_force_and_keeps_other_files(
    sample: Path, tmp_path: Path
) -> None:
    # Only a file of a name the series writes is in the way (as with git format-patch -o).
    out = tmp_path / "out"
    out.mkdir()
    (out / "0000-cover-letter.patch").write_text("old\n")
    (out / "0001-old-series.patch").write_text("old\n")
    (out / "notes.txt").write_text("keep me\n")
    (out / "v1").mkdir()
    (out / "v1" / "0001-v1.patch").write_text("v1\n")
    before = sorted(p.name for p in out.iterdir())

    refused = run("series", str(sample), "-o", str(out), "--date", DATE)
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"kfuncfix: error: {out} already holds 1 of the files this series writes "
        "(0000-cover-letter.patch); use --force to replace them\n")
    assert sorted(p.name for p in out.iterdir()) == before

    series(sample, out, "--force")
    assert sorted(p.name for p in out.iterdir()) == [
        "0000-cover-letter.patch",
        "0001-bpf-Add-__bpf_kfunc-tag-for-marking-kernel-functions.patch",
        "0001-old-series.patch",
        "0002-bpf-Tag-kfuncs-in-the-tree-with-__bpf_kfunc.patch", "notes.txt", "v1"]
    assert (out / "0001-old-series.patch").read_text() == "old\n"
    assert (out / "notes.txt").read_text() == "keep me\n"
    assert (out / "v1" / "0001-v1.patch").read_text() == "v1\n"


def test_output_path_that_is_a_file_is_refused(sample: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("a file\n")
    result = run("series", str(sample), "-o", str(target))
    assert result.exit_code == 2
    assert result.stderr == f"kfuncfix: error: {target} exists and is not a directory\n"
    assert target.read_text() == "a file\n"


def test_no_identity_and_no_from_is_refused_before_any_work(tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "linux")  # no user.name/user.email in its config
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "EMAIL", "SOURCE_DATE_EPOCH"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1")
    objects = git(repo, "count-objects", "-v")

    for args in (["series", str(repo), "-o", str(tmp_path / "out")],
                 ["apply", "--branch", "b", str(repo)]):
        done = subprocess.run([sys.executable, "-m", "kfuncfix", *args], env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(
            "kfuncfix: error: no git identity to sign off with: set user.name and "
            "user.email (git config) or pass --from 'Name <email>'")
    assert not (tmp_path / "out").exists()
    assert git(repo, "count-objects", "-v") == objects  # nothing committed, not even a blob
    assert git(repo, "for-each-ref", "refs/heads/b") == ""

    done = subprocess.run([sys.executable, "-m", "kfuncfix", "series", str(repo), "-o",
                           str(tmp_path / "out"), "--from", ANN], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_nothing_to_change_writes_nothing_and_exits_0(sample: Path, tmp_path: Path) -> None:
    assert run("apply", "--with-definition", str(sample)).exit_code == 0
    git(sample, "commit", "-q", "-am", "bpf: Tag kfuncs")
    before = user_state(sample)

    result = run("series", str(sample), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "kfuncfix: nothing to change; no series written\n"
    assert not (tmp_path / "out").exists()

    branch = run("apply", "--branch", "b", str(sample))
    assert branch.exit_code == 0, branch.output
    assert "nothing to change; no branch made" in branch.stderr
    assert user_state(sample) == before
