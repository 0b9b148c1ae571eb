"""Branches `b4 prep` takes over as its own: the layout of b4's "commit" cover strategy.

b4 (src/b4/ez.py) keeps a prep branch's cover letter in an empty commit at
the start of the series.  Its message is the cover text, a blank line and
b4's tracking block (`make_magic_json`): the marker line, one comment line
and the JSON of `series.revision`, `series.change-id` and `series.prefixes`.
b4 finds that commit with `git log --grep MARKER --since=1.year
--committer=<user.email> BRANCH` (`find_cover_commit`), and the branch's
config `branch.NAME.b4-prep-cover-strategy = commit` says where to look
(`get_cover_strategy`).  So every commit here is made now, by the user b4
will run as; b4 adds the shortlog, diffstat and `base-commit:` when it
sends, so the cover text carries none of them.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfuncfix.errors import KfuncfixError
from kfuncfix.mailheaders import check_address
from kfuncfix.outputs.formatpatch import CoverLetter
from kfuncfix.outputs.gitseries import (
    B4_MARKER,
    Identity,
    PlannedPatch,
    Series,
    SeriesCommit,
    build_series,
    committer_ident,
    ident_env,
    open_repo,
    resolve_commit,
    run_git,
    update_branch,
)
from kfuncfix.outputs.listrules import with_trailers
from kfuncfix.outputs.maintainers import recipients_for_paths
from kfuncfix.snapshot import at_revision

# ez.py: MAGIC_MARKER and the comment make_magic_json writes under it.
MAGIC_MARKER = B4_MARKER
MAGIC_COMMENT = "# This section is used internally by b4 prep for tracking purposes."
COVER_STRATEGY = "commit"
# Words of a subject prefix that b4 writes itself: PATCH, and vN from series.revision.
_B4_OWN_PREFIX = re.compile(r"(?i)^(PATCH|v\d+)$")


@dataclass(frozen=True)
class B4Branch:
    ref: str  # refs/heads/NAME
    series: Series  # on the base: the cover commit first, then the patches
    change_id: str


def b4_prefixes(subject_prefix: str) -> list[str]:
    """`PATCH bpf-next` -> ["bpf-next"]: b4 adds PATCH and vN itself."""
    return [w for w in subject_prefix.split() if not _B4_OWN_PREFIX.match(w)]


def change_id(name: str, day: datetime.date, token: str | None = None) -> str:
    """b4's change-id: `YYYYMMDD-<slug>-<12 hex>`, the slug made from the branch name
    the way `b4 prep --enroll` makes it."""
    slug = re.sub(r"\W+", "-", name).strip("-").lower()
    token = token or secrets.token_hex(6)
    if not re.fullmatch(r"[0-9a-f]{12}", token):
        raise KfuncfixError(f"change-id token {token!r} is not 12 hex digits")
    return f"{day:%Y%m%d}-{slug}-{token}"


def tracking(change: str, revision: int, prefixes: Sequence[str]) -> dict[str, Any]:
    """The JSON `b4 prep -n` stores; presubject empty as b4 leaves it by default."""
    if revision < 1:
        raise KfuncfixError(f"revision must be 1 or more, not {revision}")
    return {"series": {"revision": revision, "change-id": change, "prefixes": list(prefixes),
                       "presubject": ""}}


def cover_message(cover: CoverLetter, track: Mapping[str, Any],
                  to: Sequence[str] = (), cc: Sequence[str] = ()) -> str:
    """The cover commit's message, as `store_cover` writes it.

    b4 drops lines starting with `#` from the cover (they are notes to self)
    and turns `>#` back into `#`, so such lines of our text are escaped the
    way b4 escapes them when it imports a cover.  To:/Cc: trailers are the
    recipients b4 sends every message of the series to.
    """
    body = re.sub(r"^(#.*)$", r">\1", cover.body.strip("\n"), flags=re.M)
    trailers = [f"To: {a}" for a in to] + [f"Cc: {a}" for a in cc]
    content = cover.subject.strip() + "\n\n" + body
    if trailers:
        content += "\n\n" + "\n".join(trailers)
    magic = f"{MAGIC_MARKER}\n{MAGIC_COMMENT}\n" + json.dumps(dict(track), indent=2)
    return content + "\n\n" + magic + "\n"


def b4_user_email(repo_path: Path | str) -> str | None:
    """The address b4 looks for its cover commit under (`_setup_user_config`)."""
    repo = open_repo(repo_path)
    try:
        email = run_git(repo, ["config", "user.email"]).strip()
    except KfuncfixError:
        email = ""
    return email.strip("<>") or None


def now_date() -> str:
    """The current time in git's `@SECONDS ZONE` form, in the local zone."""
    return f"@{int(time.time())} {time.strftime('%z')}"


def build_b4_branch(
    repo_path: Path | str,
    base: str,
    name: str,
    patches: Sequence[PlannedPatch],
    cover: CoverLetter,
    *,
    subject_prefix: str,
    revision: int = 1,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    sender: Identity | str | None = None,
    force: bool = False,
    token: str | None = None,
) -> B4Branch:
    """Make branch `name`: b4's cover commit on `base`, then one commit per patch.

    Dates are always the current time, whatever SOURCE_DATE_EPOCH says: b4
    looks for its cover commit only among commits of the last year.
    """
    repo = open_repo(repo_path)
    date = now_date()
    identity, _ = committer_ident(repo, sender, date)
    b4_email = b4_user_email(repo_path)
    if b4_email is not None and b4_email.lower() != identity.email.lower():
        raise KfuncfixError(
            f"b4 looks for its cover letter among commits by user.email ({b4_email}); "
            f"commits by {identity.email} would not be found: drop --from or set user.email")
    change = change_id(name, datetime.date.today(), token)
    track = tracking(change, revision, b4_prefixes(subject_prefix))
    base_sha = resolve_commit(repo, base)
    with tempfile.TemporaryDirectory(prefix="kfuncfix-b4-") as scratch:
        message_file = Path(scratch) / "cover"
        message_file.write_text(cover_message(cover, track, to, cc), encoding="utf-8")
        env = ident_env(identity, date, ["AUTHOR", "COMMITTER"])
        # An empty commit: the base's own tree.
        cover_sha = run_git(repo, ["commit-tree", f"{base_sha}^{{tree}}", "-p", base_sha,
                                   "-F", str(message_file)], env=env)
    rest = build_series(repo_path, cover_sha, patches, sender=identity, date=date)
    commits = (SeriesCommit(cover_sha, cover.subject.strip(), ()), *rest.commits)
    series = Series(rest.repo, base_sha, commits)
    ref = update_branch(series, name, force=force)
    run_git(repo, ["config", f"branch.{name}.b4-prep-cover-strategy", COVER_STRATEGY])
    return B4Branch(ref, series, change)


def cc_trailers(root: Path | str, patch: PlannedPatch, revision: str) -> list[str]:
    """`Cc:` trailers for everyone MAINTAINERS names for the files of one patch.

    b4 sends each patch to the cover letter's recipients plus the patch's own
    Cc: trailers, and the cover letter to all of them.  MAINTAINERS and
    get_maintainer.pl are those committed at `revision` (the branch's base), never
    the worktree's; each address is checked to be exactly one mail address.
    """
    paths = sorted(patch.changes)
    found = recipients_for_paths(root, paths, revision)
    return [f"Cc: {check_address(address, f'MAINTAINERS at {revision}')}"
            for address in (*found.to, *found.cc)]


def make_b4_branch(
    root: Path,
    base: str,
    name: str,
    patches: Sequence[PlannedPatch],
    cover: CoverLetter,
    *,
    subject_prefix: str,
    to: Sequence[str] = (),
    per_patch_cc: bool = False,
    sender: str | None = None,
    force: bool = False,
) -> B4Branch:
    """`apply --branch NAME --b4`: the planned series as a b4 prep branch."""
    if per_patch_cc:
        snapshot = at_revision(Path(root), base)
        if "MAINTAINERS" not in snapshot.committed(["MAINTAINERS"]):
            raise KfuncfixError(f"{root} has no MAINTAINERS at {base}: "
                                "no recipients for Cc: trailers")
        patches = [with_trailers(p, cc_trailers(root, p, snapshot.rev or base))
                   for p in patches]
    return build_b4_branch(root, base, name, patches, cover, subject_prefix=subject_prefix,
                           to=to, sender=sender, force=force)


def next_commands(name: str) -> list[str]:
    """What to run next, in b4's order: check, send to yourself, send."""
    return [f"git switch {name}", "b4 prep --auto-to-cc", "b4 prep --check",
            "b4 send --reflect", "b4 send"]
