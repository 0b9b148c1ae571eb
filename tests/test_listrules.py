"""Series that fit the lists' rules: the 15-patch limit, a split per mailing list,
every patch to everyone (as b4 sends), the target list on every patch, Link: trailers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kfuncfix.cli import main
from kfuncfix.cli.demo import make_sample_repo
from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.gitseries import PlannedPatch
from kfuncfix.outputs.listrules import (
    check_patch_count,
    link_trailer,
    list_of,
    split_by_list,
    with_trailers,
)
from kfuncfix.outputs.maintainers import Maintainers
from tests.series_helper import git, header, mail, patch_files, without_cover

DATE = "2024-03-01T10:00:00Z"
LINK = "https://lore.kernel.org/bpf/20230201-kfunc@example.org/"
TARGET = "bpf@vger.kernel.org"
# --split list on the sample: the two bpf sections share bpf@lists.example.org.
LIST_SUBJECTS = [
    "bpf: Add __bpf_kfunc tag for marking kernel functions as kfuncs",
    "bpf: Tag kfuncs in taskref.c and bpf_testmod.c with __bpf_kfunc",
    "softlockup: Tag kfuncs in softlockup_dump.c with __bpf_kfunc",
    "tcp: Tag kfuncs in tcp_softcc.c with __bpf_kfunc",
    "netfilter: Tag kfuncs in nf_flowmark_bpf.c with __bpf_kfunc",
]


@pytest.fixture(autouse=True)
def no_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    repo = make_sample_repo(tmp_path / "linux")
    git(repo, "config", "user.name", "Ann Example")
    git(repo, "config", "user.email", "ann@example.org")
    return repo


def series(tree: Path, outdir: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["series", str(tree), "-o", str(outdir), "--date", DATE,
                                     *args])


def subject(path: Path) -> str:
    text = header(path, "Subject")
    return text.split("] ", 1)[1]


def addresses(path: Path, name: str) -> set[str]:
    value = mail(path)[name] or ""
    return {a.strip() for a in str(value).split(",") if a.strip()}


# -- pieces ------------------------------------------------------------------------------------

def test_limit_names_the_splits_that_fit() -> None:
    check_patch_count(15, 15, {"none": 2})
    with pytest.raises(KfuncfixError) as err:
        check_patch_count(23, 15, {"none": 2, "subsystem": 17, "list": 9, "file": 23})
    message = str(err.value)
    assert "\n" not in message
    assert "23 patches" in message and "submitting-patches.rst" in message
    assert "--split list (9 patches) or --split none (2 patches)" in message
    assert "subsystem" not in message and "--max-patches 23" in message


def test_trailers_and_links() -> None:
    patch = PlannedPatch("s", "Body.\n", {"a.c": b""})
    assert with_trailers(patch, [link_trailer(LINK)]).body == f"Body.\n\nLink: {LINK}"
    for bad in ("lore.kernel.org/x", "https://x.org/a b", "javascript:alert(1)"):
        with pytest.raises(KfuncfixError):
            link_trailer(bad)
    with pytest.raises(KfuncfixError):
        with_trailers(patch, ["Link: a\nSigned-off-by: forged <x@y.org>"])


def test_list_of_prefers_a_sections_own_list_to_lkml(sample: Path) -> None:
    maintainers = Maintainers(sample)
    lkml = "linux-kernel@lists.example.org"
    assert list_of(maintainers, "net/netfilter/nf_flowmark_bpf.c") not in ("", lkml)
    groups = split_by_list(maintainers, ["kernel/bpf/taskref.c", "net/ipv4/tcp_softcc.c",
                                         "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c"])
    assert list(groups.values()) == [
        ["kernel/bpf/taskref.c", "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c"],
        ["net/ipv4/tcp_softcc.c"]]


# -- the sample tree ---------------------------------------------------------------------------

def test_split_list_groups_sections_sharing_a_list(sample: Path, tmp_path: Path) -> None:
    result = series(sample, tmp_path / "out", "--split", "list", "--check")
    assert result.exit_code == 0, result.output
    files = patch_files(tmp_path / "out")
    assert [subject(f) for f in without_cover(files)] == LIST_SUBJECTS


def test_more_than_the_limit_is_refused_with_the_choices(sample: Path, tmp_path: Path) -> None:
    result = series(sample, tmp_path / "out", "--split", "file", "--max-patches", "5")
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.startswith("kfuncfix: error:")]
    assert len(lines) == 1
    assert "6 patches" in lines[0]
    assert "--split list (5 patches) or --split none (2 patches)" in lines[0]
    assert not list((tmp_path / "out").glob("*.patch"))
    allowed = series(sample, tmp_path / "out", "--split", "file", "--max-patches", "6")
    assert allowed.exit_code == 0, allowed.output
    assert len(without_cover(patch_files(tmp_path / "out"))) == 6


def test_recipients_all_sends_every_patch_to_everyone(sample: Path, tmp_path: Path) -> None:
    assert series(sample, tmp_path / "each", "--split", "subsystem").exit_code == 0
    assert series(sample, tmp_path / "all", "--split", "subsystem", "--recipients",
                  "all").exit_code == 0
    each, every = patch_files(tmp_path / "each"), patch_files(tmp_path / "all")
    cover = (addresses(every[0], "To"), addresses(every[0], "Cc"))
    for path in every:
        assert (addresses(path, "To"), addresses(path, "Cc")) == cover
    # Per patch (the default), the netfilter maintainers do not get the tcp patch.
    tcp = next(p for p in each if "-tcp-" in p.name)
    netfilter = next(p for p in each if "-netfilter-" in p.name)
    assert addresses(netfilter, "To") - addresses(tcp, "To") - addresses(tcp, "Cc")
    for path in [*each, *every]:
        assert TARGET in addresses(path, "To")  # the rule's list, either way


def test_target_list_without_maintainers_too(sample: Path, tmp_path: Path) -> None:
    assert series(sample, tmp_path / "out", "--no-maintainers").exit_code == 0
    for path in patch_files(tmp_path / "out"):
        assert addresses(path, "To") == {TARGET}


def test_link_trailer_in_every_commit_and_base_commit_kept(sample: Path,
                                                          tmp_path: Path) -> None:
    result = series(sample, tmp_path / "out", "--split", "subsystem", "--link", LINK)
    assert result.exit_code == 0, result.output
    files = patch_files(tmp_path / "out")
    for path in without_cover(files):
        text = path.read_text()
        assert f"\nLink: {LINK}\nSigned-off-by: " in text
    base = git(sample, "rev-parse", "HEAD").strip()
    assert f"base-commit: {base}" in files[0].read_text()
    # git am gives the trailer back as part of the commit message.
    wt = tmp_path / "am"
    git(sample, "worktree", "add", "-q", "--detach", str(wt), base)
    subprocess.run(["git", "-C", str(wt), "-c", "user.name=T", "-c", "user.email=t@x.org",
                    "am", "-q", *map(str, without_cover(files))], check=True)
    assert git(wt, "log", "-1", "--format=%(trailers:key=Link,valueonly)").strip() == LINK


def test_bad_link_and_link_with_from_branch_are_refused(sample: Path, tmp_path: Path) -> None:
    bad = series(sample, tmp_path / "out", "--link", "not a url")
    assert bad.exit_code == 2 and "--link" in bad.output
    assert CliRunner().invoke(main, ["apply", str(sample), "--branch", "kf"]).exit_code == 0
    branch = series(sample, tmp_path / "out", "--from-branch", "kf", "--link", LINK)
    assert branch.exit_code == 2 and "--from-branch" in branch.output


# -- Linux 6.1 ---------------------------------------------------------------------------------

@pytest.mark.realtree
def test_linux61_split_by_list(linux61: Path, tmp_path: Path) -> None:
    clone = tmp_path / "linux"
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(linux61),
                    str(clone)], check=True)
    git(clone, "checkout", "-q", "HEAD", "--", "MAINTAINERS")
    maintainers = Maintainers(clone)
    assert list_of(maintainers, "net/netfilter/nf_conntrack_bpf.c") == \
        "netfilter-devel@vger.kernel.org"
    assert list_of(maintainers, "kernel/bpf/helpers.c") == "bpf@vger.kernel.org"
    assert list_of(maintainers, "net/ipv4/tcp_bbr.c") == "netdev@vger.kernel.org"
    assert list_of(maintainers, "kernel/kexec_core.c") == "kexec@lists.infradead.org"
