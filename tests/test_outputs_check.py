"""Mail files from git format-patch, and checking them: parse, git am, checkpatch, send-email."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.checkseries import check_series
from kfuncfix.outputs.formatpatch import CoverLetter, MailOptions, write_series
from kfuncfix.outputs.gitseries import Identity, PlannedPatch, Series, build_series
from kfuncfix.outputs.maintainers import Recipients, recipients_for_patch
from tests.conftest import git_init, write_tree
from tests.mail_dryrun import send_email_dry_run

ANN = Identity("Ann Example", "ann@example.org")
DATE = "2024-02-02T00:00:00Z"
THREAD_HEADERS = ("message-id", "in-reply-to", "references")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode()


def plan(tag: str = "") -> list[PlannedPatch]:
    return [
        PlannedPatch("bpf: Tag helpers", "Tag them.",
                     {"kernel/bpf/helpers.c": f"int a;\nint b;{tag}\n".encode()}),
        PlannedPatch("net: Tag filter", "Tag it.",
                     {"net/filter.c": f"int f;\nint g;{tag}\n".encode()}),
        PlannedPatch("bpf: Both", "Both files.", {
            "kernel/bpf/helpers.c": f"int a;\nint b;{tag}\nint c;\n".encode(),
            "net/filter.c": f"int f;\nint g;{tag}\nint h;\n".encode(),
        }),
    ]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {"kernel/bpf/helpers.c": "int a;\n", "net/filter.c": "int f;\n"}
    return git_init(write_tree(tmp_path / "repo", files))


@pytest.fixture
def series(repo: Path) -> Series:
    return build_series(repo, "HEAD", plan(), sender=ANN, date=DATE)


def mail(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def without_headers(path: Path, names: tuple[str, ...]) -> bytes:
    """The file with the named header fields (and their continuation lines) removed."""
    head, sep, rest = path.read_bytes().partition(b"\n\n")
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if line[:1] not in (b" ", b"\t"):
            skipping = line.split(b":", 1)[0].decode().lower() in names
        if not skipping:
            kept.append(line)
    return b"\n".join(kept) + sep + rest


def per_patch() -> list[Recipients]:
    return [
        Recipients(("Bpf Boss <boss@bpf.example.org>",), ("bpf@lists.example.org",)),
        Recipients(("Net Boss <boss@net.example.org>",), ("netdev@lists.example.org",)),
        Recipients((), ("bpf@lists.example.org", "Ann Example <ann@example.org>")),
    ]


def full_options(**changes: object) -> MailOptions:
    values: dict[str, object] = dict(
        subject_prefix="PATCH bpf-next", reroll=2, changelog="Changes in v2:\n- tag more",
        cover_letter=CoverLetter("bpf: Tag kfuncs", "This series tags kfuncs."),
        in_reply_to="<v1.cover@example.org>", to=("Ann Example <ann@example.org>",),
        cc=("lkml@lists.example.org",),
    )
    values.update(changes)
    return MailOptions(**values)  # type: ignore[arg-type]


def test_written_series_applies_with_git_am_and_leaves_no_worktree(
    repo: Path, series: Series, tmp_path: Path
) -> None:
    files = write_series(series, tmp_path / "out")
    assert [f.name for f in files] == [
        "0000-cover-letter.patch", "0001-bpf-Tag-helpers.patch",
        "0002-net-Tag-filter.patch", "0003-bpf-Both.patch",
    ]
    worktrees = git(repo, "worktree", "list", "--porcelain")
    status = git(repo, "--no-optional-locks", "status", "--porcelain")

    report = check_series(repo, tmp_path / "out")

    assert report.ok, report
    assert report.base == series.base  # read from git's base-commit: line
    assert [p.applied for p in report.patches] == [None, True, True, True]
    assert report.patches[0].is_cover
    assert all(p.checkpatch is None for p in report.patches)  # this tree has no checkpatch.pl
    assert git(repo, "worktree", "list", "--porcelain") == worktrees
    assert git(repo, "--no-optional-locks", "status", "--porcelain") == status


def test_two_runs_give_byte_identical_files(
    repo: Path, series: Series, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    v1 = build_series(repo, "HEAD", plan(" /* v1 */"), sender=ANN, date=DATE)
    options = full_options(range_diff=v1.revision_range)
    one = write_series(series, tmp_path / "one", options, per_patch())
    two = write_series(series, tmp_path / "two", options, per_patch())

    assert [f.name for f in one] == [f.name for f in two]
    assert [f.read_bytes() for f in one] == [f.read_bytes() for f in two]
    assert b"Range-diff against v1:" in one[0].read_bytes()
    # The cover letter is dated like the series when no date is given.
    assert mail(one[0])["Date"] == "Fri, 02 Feb 2024 00:00:00 +0000"


def test_files_are_git_output_plus_recipient_and_thread_headers(
    repo: Path, series: Series, tmp_path: Path
) -> None:
    ours = write_series(series, tmp_path / "ours", MailOptions(cover=False), per_patch())
    plain = git(repo, "format-patch", "-o", str(tmp_path / "git"), "--thread=shallow",
                f"--base={series.base}", series.revision_range).split()

    assert len(ours) == len(plain) == 3
    for mine, theirs in zip(ours, map(Path, plain), strict=True):
        assert mine.name == theirs.name
        assert without_headers(mine, ("to", "cc", *THREAD_HEADERS)) == without_headers(
            theirs, THREAD_HEADERS
        )


def test_thread_headers_are_deterministic_and_shallow(
    series: Series, tmp_path: Path
) -> None:
    files = write_series(series, tmp_path / "v2", full_options())
    cover, *patches = [mail(f) for f in files]
    ids = [m["Message-Id"] for m in (cover, *patches)]

    assert len(set(ids)) == 4
    assert all(i.endswith(".git.ann@example.org>") for i in ids)
    assert cover["In-Reply-To"] == "<v1.cover@example.org>"
    for patch in patches:
        assert patch["In-Reply-To"] == cover["Message-Id"]
        assert patch["References"].split() == ["<v1.cover@example.org>", cover["Message-Id"]]

    v3 = [mail(f)["Message-Id"] for f in write_series(
        series, tmp_path / "v3", full_options(reroll=3))]
    assert not set(v3) & set(ids)  # a new version is a new thread of mails


def test_per_patch_recipients_and_cover_gets_them_all(series: Series, tmp_path: Path) -> None:
    cover, first, second, third = [
        mail(f) for f in write_series(series, tmp_path / "out", full_options(), per_patch())
    ]

    def addresses(message: EmailMessage, name: str) -> list[str]:
        return [a.addr_spec for a in message[name].addresses] if message[name] else []

    assert addresses(first, "To") == ["ann@example.org", "boss@bpf.example.org"]
    assert addresses(first, "Cc") == ["lkml@lists.example.org", "bpf@lists.example.org"]
    assert addresses(second, "To") == ["ann@example.org", "boss@net.example.org"]
    assert addresses(second, "Cc") == ["lkml@lists.example.org", "netdev@lists.example.org"]
    assert addresses(third, "To") == ["ann@example.org"]  # not repeated in Cc
    assert addresses(third, "Cc") == ["lkml@lists.example.org", "bpf@lists.example.org"]
    assert addresses(cover, "To") == [
        "ann@example.org", "boss@bpf.example.org", "boss@net.example.org"]
    assert addresses(cover, "Cc") == [
        "lkml@lists.example.org", "bpf@lists.example.org", "netdev@lists.example.org"]


def test_per_patch_recipients_from_a_function_of_the_patch_file(
    series: Series, tmp_path: Path
) -> None:
    files = write_series(series, tmp_path / "out", MailOptions(cover=False),
                         lambda path: Recipients(cc=(f"list{path.name[:4]}@example.org",)))
    assert [str(mail(f)["Cc"]) for f in files] == [
        "list0001@example.org", "list0002@example.org", "list0003@example.org"]
    assert all(mail(f)["To"] is None for f in files)


def test_cover_letter_from_a_file_replaces_git_template(series: Series, tmp_path: Path) -> None:
    cover_file = tmp_path / "cover.txt"
    cover_file.write_text("bpf: Tag kfuncs with __bpf_kfunc\n\nWhy: so BTF keeps them.\n")
    files = write_series(series, tmp_path / "out",
                         full_options(cover_letter=CoverLetter.from_file(cover_file)))
    cover = mail(files[0])
    text = files[0].read_text()

    assert cover["Subject"] == "[PATCH bpf-next v2 0/3] bpf: Tag kfuncs with __bpf_kfunc"
    assert "***" not in text
    body = cover.get_content()
    assert body.index("Why: so BTF keeps them.") < body.index("Changes in v2:\n- tag more")
    assert body.index("Changes in v2:") < body.index("Ann Example (3):")


def test_non_ascii_cover_letter_is_encoded(series: Series, tmp_path: Path) -> None:
    letter = CoverLetter("bpf: Tag kfuncs für Jörg, a long subject that has to fold", "Grüße.")
    files = write_series(series, tmp_path / "out", MailOptions(cover_letter=letter))
    cover = mail(files[0])
    assert files[0].read_bytes().split(b"\n\n")[0].isascii()
    assert cover["Subject"] == f"[PATCH 0/3] {letter.subject}"
    assert cover.get_content_charset() == "utf-8"
    assert "Grüße." in cover.get_content()


def test_single_patch_changelog_goes_below_the_line(repo: Path, tmp_path: Path) -> None:
    one = build_series(repo, "HEAD", plan()[:1], sender=ANN, date=DATE)
    files = write_series(one, tmp_path / "out", MailOptions(reroll=2, changelog="v2: reword"))
    text = files[0].read_text()

    assert [f.name for f in files] == ["v2-0001-bpf-Tag-helpers.patch"]
    assert "Subject: [PATCH v2] bpf: Tag helpers" in text
    assert "\n---\nv2: reword\n\n kernel/bpf/helpers.c | 1 +\n" in text
    assert check_series(repo, tmp_path / "out").ok


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (MailOptions(changelog="x"), "give a reroll count"),
        (MailOptions(changelog="x", reroll=2, cover=False), "needs a cover letter"),
        (MailOptions(thread="sideways"), "threading must be one of"),
        (MailOptions(reroll=0), "reroll count must be 1 or more"),
    ],
)
def test_inconsistent_options_are_refused(
    series: Series, tmp_path: Path, options: MailOptions, message: str
) -> None:
    with pytest.raises(KfuncfixError, match=message):
        write_series(series, tmp_path / "out", options)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_recipient_lists_must_match_the_patches(series: Series, tmp_path: Path) -> None:
    with pytest.raises(KfuncfixError, match="2 recipient lists for 3 patches"):
        write_series(series, tmp_path / "out", MailOptions(), per_patch()[:2])


def test_output_directory_refusals_and_force(series: Series, tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(KfuncfixError, match="not a directory"):
        write_series(series, a_file)
    with pytest.raises(KfuncfixError, match="cannot create"):
        write_series(series, a_file / "sub")

    out = tmp_path / "out"
    write_tree(out, {"0009-stale.patch": "old", "notes.txt": "keep", "sub/x.patch": "keep",
                     "0000-cover-letter.patch": "old cover"})
    with pytest.raises(KfuncfixError, match="already holds 1 of the files this series writes"):
        write_series(series, out)
    assert (out / "0000-cover-letter.patch").read_text() == "old cover"

    files = write_series(series, out, MailOptions(force=True))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f.name for f in files] + ["0009-stale.patch", "notes.txt", "sub"])  # no scratch left
    assert (out / "0009-stale.patch").read_text() == "old"  # not a name this series writes
    assert (out / "notes.txt").read_text() == "keep"
    assert (out / "sub/x.patch").read_text() == "keep"


def test_check_reports_a_patch_that_does_not_apply_and_stops_there(
    repo: Path, series: Series, tmp_path: Path
) -> None:
    files = write_series(series, tmp_path / "out")
    second = files[2]
    second.write_text(second.read_text().replace(" int f;\n", " int F;\n"))
    report = check_series(repo, tmp_path / "out", series.base)

    assert [p.applied for p in report.patches] == [None, True, False, None]
    assert "patch failed" in report.patches[2].apply_error
    assert "not tried" in report.patches[3].apply_error
    assert not report.ok


def test_check_reports_mail_problems_and_needs_a_base(
    repo: Path, series: Series, tmp_path: Path
) -> None:
    files = write_series(series, tmp_path / "out", MailOptions(base_trailer=False, cover=False))
    first = files[0]
    first.write_text(first.read_text().replace("From: Ann Example", "X-Was-From: Ann", 1))
    with pytest.raises(KfuncfixError, match="no base-commit"):
        check_series(repo, tmp_path / "out")

    report = check_series(repo, tmp_path / "out", "master")
    assert report.patches[0].problems == ["mail: no From header"]
    assert not report.ok


def has_send_email() -> bool:
    perl = subprocess.run(["perl", "-MMail::Address", "-e1"], capture_output=True, check=False)
    helper = shutil.which("git-send-email", path="/usr/lib/git-core")
    return perl.returncode == 0 and helper is not None


@pytest.mark.skipif(not has_send_email(), reason="needs git-email and libmailtools-perl")
def test_send_email_dry_run_sees_per_patch_recipients_and_our_ids(
    repo: Path, series: Series, tmp_path: Path
) -> None:
    files = write_series(series, tmp_path / "out", full_options(), per_patch())
    mails = send_email_dry_run(repo, tmp_path / "out", ANN)

    assert [m.headers["message-id"] for m in mails] == [str(mail(f)["Message-Id"]) for f in files]
    assert "boss@bpf.example.org" in mails[1].headers["to"]
    assert "boss@bpf.example.org" not in mails[2].headers["to"]
    assert "netdev@lists.example.org" in mails[2].envelope_to
    assert mails[0].headers["subject"] == "[PATCH bpf-next v2 0/3] bpf: Tag kfuncs"
    assert all(m.envelope_from == "ann@example.org" for m in mails)


@pytest.mark.realtree
def test_real_kernel_get_maintainer_and_checkpatch(linux61: Path, tmp_path: Path) -> None:
    # A shared clone keeps new objects out of the read-only cache; checking
    # applies the series in a worktree of the clone, never of the cache.
    clone = tmp_path / "linux"
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(linux61), str(clone)],
                   check=True)
    source = git(clone, "show", "HEAD:kernel/bpf/helpers.c")
    anchor = "BPF_CALL_2(bpf_map_lookup_elem,"
    assert anchor in source
    noted = source.replace(anchor, "/* Looked up under RCU. */\n" + anchor, 1)
    styled = noted.replace(anchor, "int  bad_style( int x ) { return x; }\n" + anchor, 1)
    series = build_series(clone, "HEAD", [
        PlannedPatch("bpf: Note RCU", "Say why.", {"kernel/bpf/helpers.c": noted.encode()}),
        PlannedPatch("bpf: Add bad_style", "Bad on purpose.",
                     {"kernel/bpf/helpers.c": styled.encode()}),
    ], sender=ANN, date=DATE)

    files = write_series(series, tmp_path / "out", full_options(),
                         lambda patch: recipients_for_patch(linux61, patch))
    first = mail(files[1])
    assert "ast@kernel.org" in str(first["To"])
    assert "bpf@vger.kernel.org" in str(first["Cc"])

    report = check_series(clone, tmp_path / "out")
    assert [p.applied for p in report.patches] == [None, True, True]
    clean, bad = report.patches[1].checkpatch, report.patches[2].checkpatch
    assert clean is not None and clean.errors == []
    assert bad is not None and any("ERROR:SPACING" in e for e in bad.errors)
    assert git(linux61, "worktree", "list", "--porcelain").count("worktree ") == 1

