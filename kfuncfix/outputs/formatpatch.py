"""Write a series as mail files with `git format-patch` itself.

git writes every file.  Three things git cannot do are then edited into its
output, touching only the header lines concerned:

* per-patch recipients: git takes --to/--cc for the whole run only.  We pass
  placeholder addresses so that git writes the To:/Cc: headers where and how
  it always does, then put each file's own list in their place.  Running
  format-patch once per patch would break the "n/N" numbering, the cover
  letter's shortlog and the range-diff, which need the whole range at once.
* reproducible threading: git's Message-Ids contain the current time, so
  two runs differ.  git still writes the Message-Id/In-Reply-To/References
  headers; we swap each id for one derived from the commits and options.
* the cover letter's subject and blurb, replacing git's `*** SUBJECT HERE ***`
  and `*** BLURB HERE ***` template, plus the v2+ changelog.

Files are written into a scratch directory inside the output directory and
moved in only when all is done, so a failure leaves the old series in place.
As with `git format-patch -o`, only files of the names this run writes are
replaced (and only with `force`); anything else in the directory stays.
git does not check its own writes (a full disk gives short files and exit
status 0), so each file it wrote is checked to be whole before it is used.

Every header value (recipients, subject prefix, Message-Id, sender, cover
subject) is checked once more here, whoever the caller, before git sees it:
a line break in any of them would add a header or end the header block.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from pathlib import Path

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError
from kfuncfix.gitrun import revision_range
from kfuncfix.mailheaders import check_address, check_header_value, check_message_id
from kfuncfix.outputs.gitseries import (
    Identity,
    Series,
    committer_ident,
    ident_env,
    open_repo,
    resolve_date,
    run_git,
)
from kfuncfix.outputs.maintainers import Recipients
from kfuncfix.userfiles import read_small_text

TO_PLACEHOLDER = "kfuncfix-to@placeholder.invalid"
CC_PLACEHOLDER = "kfuncfix-cc@placeholder.invalid"
SUBJECT_TEMPLATE = "*** SUBJECT HERE ***"
BLURB_TEMPLATE = "*** BLURB HERE ***"
THREAD_STYLES = ("shallow", "deep")
DIFFSTAT_SUMMARY_RE = re.compile(rb"^ \d+ files? changed", re.M)
MIME_HEADERS = [
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=UTF-8",
    "Content-Transfer-Encoding: 8bit",
]

# Recipients per patch: a list aligned with the series' commits, or a function
# called with each patch file git wrote (e.g. to run get_maintainer.pl on it).
PerPatch = Sequence[Recipients] | Callable[[Path], Recipients]


@dataclass(frozen=True)
class CoverLetter:
    subject: str
    body: str

    @classmethod
    def from_file(cls, path: Path | str) -> CoverLetter:
        """First line is the subject; the rest, after a blank line, the body."""
        return cls.from_text(read_small_text(path, "cover letter"), str(path))

    @classmethod
    def from_text(cls, text: str, source: str) -> CoverLetter:
        """The same from text (a b4 cover commit's message); `source` names it in errors."""
        subject, _, body = text.strip("\n").partition("\n")
        if not subject.strip():
            raise KfuncfixError(f"cover letter {source} has no subject on its first line")
        check_header_value(subject, f"{source}: subject")
        return cls(subject.strip(), body.strip("\n"))

    def with_paragraph(self, text: str) -> CoverLetter:
        """The same letter with one more paragraph at the end of its body (a build report)."""
        return CoverLetter(self.subject, self.body.rstrip("\n") + "\n\n" + text.strip("\n"))


@dataclass(frozen=True)
class MailOptions:
    """What `git format-patch` is asked for; the defaults suit a first posting."""

    subject_prefix: str = "PATCH"
    reroll: int | None = None  # -v N
    cover: bool | None = None  # None: a cover letter when there are two patches or more
    cover_letter: CoverLetter | None = None  # None keeps git's template
    changelog: str | None = None  # v2+ only: in the cover letter, or below --- of one patch
    range_diff: str | None = None
    base_trailer: bool = True  # base-commit: the series base
    thread: str | None = "shallow"
    in_reply_to: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    recipients_all: bool = False  # every patch to everyone, as b4 sends (not each to its own)
    sender: Identity | None = None  # --from; the cover's author (default: the committer)
    date: str | None = None  # the cover letter's date; else SOURCE_DATE_EPOCH, else the tip's
    force: bool = False  # replace files of the names this run writes, if already there


def write_series(
    series: Series,
    outdir: Path | str,
    options: MailOptions | None = None,
    per_patch: PerPatch | None = None,
) -> list[Path]:
    """Write the series into outdir; return the files, cover letter first."""
    options = options or MailOptions()
    count = len(series.commits)
    cover = options.cover if options.cover is not None else count > 1
    _check_options(options, count, cover, per_patch)
    repo = open_repo(series.repo)
    date = resolve_date(options.date) or run_git(
        repo, ["log", "-1", "--format=@%ct %cz", series.tip]
    )
    # The cover letter is from whoever committed the series unless told otherwise,
    # so the output does not depend on the identity of the machine running this.
    sender = options.sender or Identity(
        *run_git(repo, ["log", "-1", "--format=%cn%x00%ce", series.tip]).split("\0")
    )
    identity, when = committer_ident(repo, sender, date)
    outdir = Path(outdir).absolute()  # git runs in the repository, not here
    _prepare_outdir(outdir)

    try:
        scratch = Path(tempfile.mkdtemp(prefix=".kfuncfix-", dir=outdir))
    except OSError as exc:
        raise KfuncfixError(f"cannot write to {outdir}: {exc.strerror}") from exc
    moved: list[Path] = []
    replaced: list[Path] = []  # older files of the same names, kept in scratch until done
    try:
        args = _format_patch_args(series, options, cover, scratch)
        env = ident_env(identity, date, ["COMMITTER"])
        files = [Path(line) for line in run_git(repo, args, env=env).splitlines() if line]
        if len(files) != count + cover:
            raise KfuncfixError(f"git format-patch wrote {len(files)} files for {count} commits")
        _check_whole(files, series, cover, outdir)
        ids = _message_ids(series, options, files, cover, identity, when.split()[0])
        _edit_files(files, cover, options, per_patch, ids)
        old_files = _same_names(files, outdir, options.force)
        keep = scratch / "replaced"
        keep.mkdir()
        for old in old_files:
            os.replace(old, keep / old.name)
            replaced.append(old)
        for path in files:
            os.replace(path, outdir / path.name)
            moved.append(outdir / path.name)
        return moved
    except OSError as exc:
        # Half a series must not look like a whole one: take back what was moved in,
        # and put back the files it was to replace.
        for path in moved:
            path.unlink(missing_ok=True)
        for old in replaced:
            os.replace(scratch / "replaced" / old.name, old)
        raise KfuncfixError(f"cannot write the series to {outdir}: "
                            f"{exc.strerror or exc}; no patch file was left there") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_whole(files: list[Path], series: Series, cover: bool, outdir: Path) -> None:
    """Refuse a file git wrote short: each patch must hold every file's complete diff."""
    for index, path in enumerate(files):
        data = path.read_bytes()
        if cover and index == 0:
            whole = data.endswith(b"\n") and DIFFSTAT_SUMMARY_RE.search(data) is not None
        else:
            whole = data.endswith(b"\n") and _diffs_in(data) == _diff_count(
                series, series.commits[index - cover].sha)
        if not whole:
            raise KfuncfixError(f"git format-patch wrote {path.name} incomplete (is {outdir} "
                                "full?); no patch file was left there")


def _diff_count(series: Series, sha: str) -> int:
    """How many files' diffs format-patch -M writes for the commit: a rename is one."""
    names = gitrun.out(series.repo, "diff-tree", "-r", "-M", "--no-commit-id", "--name-only",
                       "-z", f"{sha}^", sha)
    return len([n for n in names.split(b"\0") if n])


def _diffs_in(mail: bytes) -> int:
    """How many files' diffs the mail holds, each with all its hunks (-1: one is cut)."""
    _, _, diff = mail.partition(b"\n---\n")
    signature = diff.rfind(b"\n-- \n")
    if signature >= 0:
        diff = diff[:signature + 1]
    try:
        return len(PatchSet(diff.decode("utf-8", "surrogateescape")))
    except UnidiffParseError:
        return -1


def _edit_files(
    files: list[Path], cover: bool, options: MailOptions, per_patch: PerPatch | None,
    ids: dict[str, str],
) -> None:
    """Recipients, thread ids and cover text into git's files, in place."""
    recipients = _recipients(files[cover:], options, per_patch)
    everyone = Recipients().merge(*recipients)
    if options.recipients_all:
        recipients = [everyone for _ in recipients]
    if cover:
        recipients.insert(0, everyone)  # the cover goes to everyone
    for index, path in enumerate(files):
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        text = _edit(text, recipients[index], ids, options, cover and index == 0,
                     len(files) == 1)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))


def _check_options(
    options: MailOptions, count: int, cover: bool, per_patch: PerPatch | None
) -> None:
    if count == 0:
        raise KfuncfixError("the series has no commits")
    if options.reroll is not None and options.reroll < 1:
        raise KfuncfixError(f"reroll count must be 1 or more, not {options.reroll}")
    if options.changelog and (options.reroll or 1) < 2:
        raise KfuncfixError("a changelog belongs to a v2 or later: give a reroll count")
    if options.changelog and not cover and count > 1:
        raise KfuncfixError("a series changelog needs a cover letter when there are 2+ patches")
    if options.thread is not None and options.thread not in THREAD_STYLES:
        raise KfuncfixError(f"threading must be one of {THREAD_STYLES}, not {options.thread!r}")
    if isinstance(per_patch, Sequence) and len(per_patch) != count:
        raise KfuncfixError(f"{len(per_patch)} recipient lists for {count} patches")
    if not options.subject_prefix.strip():
        raise KfuncfixError(f"bad subject prefix {options.subject_prefix!r}")
    _check_header_values(options)


def _check_header_values(options: MailOptions) -> None:
    """The last line of defence: whatever the caller checked, no value can add a header."""
    check_header_value(options.subject_prefix, "--subject-prefix")
    for address in options.to:
        check_address(address, "--to")
    for address in options.cc:
        check_address(address, "--cc")
    if options.in_reply_to is not None:
        check_message_id(options.in_reply_to, "--in-reply-to")
    if options.sender is not None:  # git quotes the name as needed: check the parts
        check_header_value(options.sender.name, "--from")
        check_address(options.sender.email, "--from")
    if options.cover_letter is not None:
        check_header_value(options.cover_letter.subject, "cover letter subject")


def _prepare_outdir(outdir: Path) -> None:
    """Make sure outdir is a directory we may fill."""
    if outdir.exists() and not outdir.is_dir():
        raise KfuncfixError(f"{outdir} exists and is not a directory")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KfuncfixError(f"cannot create {outdir}: {exc.strerror}") from exc
    if not os.access(outdir, os.W_OK | os.X_OK):
        raise KfuncfixError(f"{outdir} is not writable")


def _same_names(files: list[Path], outdir: Path, force: bool) -> list[Path]:
    """The files of outdir this series is about to replace; refused unless `force`.

    Only names git has just written count, as with `git format-patch -o`: an
    older patch of another name (a v1 patch, one's own fix) is not ours to delete.
    """
    existing = [outdir / f.name for f in files
                if (outdir / f.name).exists() or (outdir / f.name).is_symlink()]
    for path in existing:
        if path.is_dir() and not path.is_symlink():
            raise KfuncfixError(f"{path} is a directory; the series needs that name for a file")
    if existing and not force:
        names = ", ".join(p.name for p in existing[:2]) + (", ..." if len(existing) > 2 else "")
        raise KfuncfixError(f"{outdir} already holds {len(existing)} of the files this series "
                            f"writes ({names}); use --force to replace them")
    return existing


def _format_patch_args(
    series: Series, options: MailOptions, cover: bool, scratch: Path
) -> list[str]:
    # Options set explicitly so that format.* and diff.* settings of the user
    # cannot add sign-offs, notes, recipients or odd prefixes behind our back.
    # -M: renames found as upstream asks (and as _check_whole counts), whatever
    # diff.renames says (`copies` would make copy patches).
    args = ["format-patch", "-M", "-o", str(scratch), "--suffix=.patch", "--no-signoff",
            "--no-notes", "--src-prefix=a/", "--dst-prefix=b/", "--no-to", "--no-cc",
            f"--to={TO_PLACEHOLDER}", f"--cc={CC_PLACEHOLDER}",
            f"--subject-prefix={options.subject_prefix}",
            "--cover-letter" if cover else "--no-cover-letter"]
    if options.reroll is not None:
        args += ["-v", str(options.reroll)]
    if options.range_diff:
        # git hands the value on to its range-diff: an option there would be obeyed.
        args.append(f"--range-diff={revision_range(options.range_diff, '--range-diff')}")
    if options.base_trailer:
        args.append(f"--base={series.base}")
    args.append(f"--thread={options.thread}" if options.thread else "--no-thread")
    if options.in_reply_to:
        args.append(f"--in-reply-to={options.in_reply_to}")
    if options.sender is not None:
        args.append(f"--from={options.sender}")
    return [*args, series.revision_range]


def _recipients(
    patches: list[Path], options: MailOptions, per_patch: PerPatch | None
) -> list[Recipients]:
    common = Recipients(tuple(options.to), tuple(options.cc))
    if per_patch is None:
        return [common for _ in patches]
    if callable(per_patch):
        found = [common.merge(per_patch(path)) for path in patches]
    else:
        found = [common.merge(extra) for extra in per_patch]
    # Per-patch lists come from MAINTAINERS or a script of the tree: check them too.
    for path, recipients in zip(patches, found, strict=True):
        for address in (*recipients.to, *recipients.cc):
            check_address(address, f"recipients of {path.name}")
    return found


def _message_ids(
    series: Series, options: MailOptions, files: list[Path], cover: bool,
    identity: Identity, seconds: str,
) -> dict[str, str]:
    """Map each Message-Id git wrote to one that depends only on the series and options.

    Same shape as git's (`<unique.seconds.git.email>`), but the unique part is a
    hash of the commit, the base, the place in the series and what changes the
    mail (prefix, version, cover subject), instead of git's use of the clock.
    """
    if options.thread is None:
        return {}
    cover_subject = options.cover_letter.subject if options.cover_letter else ""
    ids = {}
    for index, path in enumerate(files):
        old = _header_value(path.read_text(encoding="utf-8", errors="replace"), "Message-Id")
        if old is None:
            raise KfuncfixError(f"git format-patch wrote no Message-Id in {path.name}")
        commit = series.tip if cover and index == 0 else series.commits[index - cover].sha
        seed = "\0".join([series.base, commit, str(index), str(len(files)),
                          options.subject_prefix, str(options.reroll), cover_subject])
        digest = hashlib.sha256(seed.encode()).hexdigest()[:40]
        kind = "cover." if cover and index == 0 else ""
        ids[old] = f"<{kind}{digest}.{seconds}.git.{identity.email}>"
    return ids


def _split_headers(text: str) -> tuple[list[list[str]], str]:
    """Header fields (each a list of physical lines) and the rest of the mail."""
    head, sep, rest = text.partition("\n\n")
    fields: list[list[str]] = []
    for line in head.split("\n"):
        if fields and line[:1] in (" ", "\t"):
            fields[-1].append(line)
        else:
            fields.append([line])
    return fields, sep + rest


def _name(fld: list[str]) -> str:
    return fld[0].split(":", 1)[0].lower()


def _header_value(text: str, name: str) -> str | None:
    fields, _ = _split_headers(text)
    for fld in fields:
        if _name(fld) == name.lower():
            return " ".join(line.strip() for line in fld)[len(name) + 1:].strip()
    return None


def _address_field(name: str, addresses: Sequence[str]) -> list[str]:
    """One To:/Cc: field folded the way git folds its --to/--cc lists."""
    lines = [f"    {a}," for a in addresses]
    lines[0] = f"{name}: {addresses[0]},"
    lines[-1] = lines[-1].removesuffix(",")
    return lines


def _edit(
    text: str, recipients: Recipients, ids: dict[str, str], options: MailOptions,
    is_cover: bool, alone: bool,
) -> str:
    fields, rest = _split_headers(text)
    edited: list[list[str]] = []
    for fld in fields:
        value = "\n".join(fld)
        if value == f"To: {TO_PLACEHOLDER}":
            edited += [_address_field("To", recipients.to)] if recipients.to else []
        elif value == f"Cc: {CC_PLACEHOLDER}":
            edited += [_address_field("Cc", recipients.cc)] if recipients.cc else []
        elif _name(fld) in ("message-id", "in-reply-to", "references"):
            for old, new in ids.items():
                value = value.replace(old, new)
            edited.append(value.split("\n"))
        else:
            edited.append(fld)
    if is_cover:
        edited, rest = _fill_cover(edited, rest, options)
    elif options.changelog and alone:
        # Below the --- line: git am drops it, reviewers read it.
        body, sep, diff = rest.partition("\n---\n")
        rest = f"{body}{sep}{options.changelog.strip()}\n\n{diff}"
    leftover = [line for fld in edited for line in fld if "placeholder.invalid" in line]
    if leftover:
        raise KfuncfixError(f"could not place recipients in git's headers: {leftover[0]}")
    return "\n".join(line for fld in edited for line in fld) + rest


def _fill_cover(
    fields: list[list[str]], rest: str, options: MailOptions
) -> tuple[list[list[str]], str]:
    """Put the caller's subject, blurb and changelog into git's cover letter template."""
    blurb = options.cover_letter.body.strip("\n") if options.cover_letter else BLURB_TEMPLATE
    if options.changelog:
        blurb = f"{blurb}\n\n{options.changelog.strip()}"
    rest = rest.replace(BLURB_TEMPLATE, blurb, 1)
    if options.cover_letter is None:
        return fields, rest
    out = []
    for fld in fields:
        if _name(fld) == "subject" and SUBJECT_TEMPLATE in fld[0]:
            title = fld[0].removeprefix("Subject: ").replace(
                SUBJECT_TEMPLATE, options.cover_letter.subject.strip()
            )
            out.append(_subject_field(title))
        else:
            out.append(fld)
    needs_mime = not (options.cover_letter.subject + blurb).isascii()
    if needs_mime and not any(_name(f) == "content-type" for f in out):
        # git puts these right after the cover letter's Subject when it needs them.
        at = next(i for i, f in enumerate(out) if _name(f) == "subject") + 1
        out[at:at] = [[h] for h in MIME_HEADERS]
    return out, rest


def _subject_field(title: str) -> list[str]:
    """A Subject header folded at 78 columns, RFC 2047 encoded when not ASCII."""
    charset: Charset | str = "us-ascii"
    if not title.isascii():
        charset = Charset("utf-8")
        charset.header_encoding = QP  # readable, like git's own encoding
    header = Header(title, charset, maxlinelen=78, header_name="Subject")
    return f"Subject: {header.encode(linesep=chr(10))}".split("\n")
