"""Commits for a planned patch series, made with git's own plumbing.

Blobs and trees go through a private index file (GIT_INDEX_FILE in a temporary
directory) and commits through `commit-tree`, so the user's worktree, index,
HEAD and branches are never touched.  A branch is written only on request,
with `update-ref`.  Every git call is an argument list run by `kfuncfix.gitrun`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path, PurePosixPath

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError
from kfuncfix.gitrun import GitError, Repo, open_repo

ZERO_OID = "0" * 40
NEW_FILE_MODE = "100644"
# Modes of index entries whose content is a regular file's bytes we may replace.  A
# symbolic link (120000) is a blob too, but its bytes are the link's target: as `apply`
# does in the worktree, it is never rewritten.
BLOB_MODES = ("100644", "100755")
SYMLINK_MODE = "120000"
# Lines that `git am` (mailinfo) takes as the end of the commit message.
_PATCH_BREAK = re.compile(r"^(---(\s|$)|diff -|Index: )", re.MULTILINE)
_IDENT = re.compile(r"^(?P<name>.*) <(?P<email>[^<>]*)> (?P<when>\d+ [+-]\d{4})$")


@dataclass(frozen=True)
class Identity:
    """A person as git and mail headers name them: `Name <email>`."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @classmethod
    def parse(cls, text: str) -> Identity:
        name, address = parseaddr(text)
        if not name.strip() or "@" not in address:
            raise KfuncfixError(f"identity {text!r} is not of the form 'Name <email>'")
        return cls(name.strip(), address)


@dataclass(frozen=True)
class PlannedPatch:
    """One commit to make: message parts and the new content of each file it changes.

    `changes` maps a path relative to the tree root (POSIX style) to the new
    bytes of that file, or to None to delete it.  `author` defaults to the
    identity the series is built with.
    """

    subject: str
    body: str
    changes: Mapping[str, bytes | None]
    author: Identity | None = None


@dataclass(frozen=True)
class SeriesCommit:
    sha: str
    subject: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    """A linear run of commits on top of `base` in the repository at `repo`."""

    repo: Path
    base: str
    commits: tuple[SeriesCommit, ...] = field(default_factory=tuple)
    # A `b4 prep` branch: its empty cover commit (between base and the first
    # commit), whose message is the cover letter; the mails start after it.
    cover_commit: str | None = None
    cover_message: str | None = None

    @property
    def tip(self) -> str:
        return self.commits[-1].sha if self.commits else self.base

    @property
    def revision_range(self) -> str:
        return f"{self.cover_commit or self.base}..{self.tip}"


__all__ = ["Repo", "open_repo", "run_git"]


def run_git(
    repo: Repo,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: Path | None = None,
) -> str:
    """Run `git ARGS` in repo and return its output (one trailing newline dropped);
    a failure is a GitError with git's message."""
    if stdin is None:
        return gitrun.stdout_str(repo.out(*args, env=env))
    with stdin.open("rb") as handle:
        return gitrun.stdout_str(repo.out(*args, env=env, stdin=handle))


def resolve_date(explicit: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The date to stamp commits with: explicit, else SOURCE_DATE_EPOCH, else None (now)."""
    if explicit:
        return explicit
    epoch = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return None
    if not epoch.isdigit():
        raise KfuncfixError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
    # The @ makes git read the number as seconds since the epoch whatever its size.
    return f"@{epoch} +0000"


def ident_env(identity: Identity, date: str | None, roles: Sequence[str]) -> dict[str, str]:
    """Environment that makes git use `identity` (and `date`) for the given roles."""
    env: dict[str, str] = {}
    for role in roles:
        env[f"GIT_{role}_NAME"] = identity.name
        env[f"GIT_{role}_EMAIL"] = identity.email
        if date is not None:
            env[f"GIT_{role}_DATE"] = date
    return env


def committer_ident(
    repo: Repo, identity: Identity | str | None, date: str | None
) -> tuple[Identity, str]:
    """Check the identity and date git will use; return them, the date as `SECONDS TZ`.

    Asking git itself (`git var`) applies its own rules (config, GIT_* and EMAIL
    variables) and its date parser.  useConfigOnly stops git from inventing an
    address from the host name, which would only be caught by a mail server.
    """
    env: dict[str, str] = {}
    if identity is not None:
        if isinstance(identity, str):
            identity = Identity.parse(identity)
        env.update(ident_env(identity, None, ["COMMITTER"]))
    if date is not None:
        env["GIT_COMMITTER_DATE"] = date
    done = repo.run("-c", "user.useConfigOnly=true", "var", "GIT_COMMITTER_IDENT", env=env,
                    check=False)
    line = gitrun.stdout_str(done.stdout)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        if "date" in message:
            raise KfuncfixError(f"date {date!r} is not understood by git: {done.message}")
        # git's own advice runs to ten lines; its last line says what is missing.
        reason = message.splitlines()[-1].removeprefix("fatal: ") if message else ""
        raise KfuncfixError(
            "no git identity to sign off with: set user.name and user.email "
            f"(git config) or pass --from 'Name <email>' ({reason})"
        )
    match = _IDENT.match(line.strip())
    if match is None:
        raise KfuncfixError(f"git gave an identity kfuncfix cannot read: {line!r}")
    return Identity(match["name"], match["email"]), match["when"]


def resolve_commit(repo: Repo, revision: str) -> str:
    sha = gitrun.resolve_commit(repo.root, revision)
    if sha is None:
        raise KfuncfixError(f"{revision!r} does not name a commit in {repo.root}")
    return sha


def check_path(path: str) -> str:
    """Refuse paths that could escape the tree or reach into .git."""
    pure = PurePosixPath(path)
    parts = pure.parts
    if (
        not parts
        or pure.is_absolute()
        or any(p in ("", ".", "..") for p in parts)
        or any(p.lower() == ".git" for p in parts)
        or str(pure) != path
        or "\0" in path  # git quotes every other byte of a name ("a\nb.c") in its patches
    ):
        raise KfuncfixError(f"{path!r} is not a plain relative path inside the tree")
    return path


def commit_message(patch: PlannedPatch) -> str:
    """Subject, blank line, body; refuse text that `git am` would cut or mangle."""
    subject = patch.subject.strip()
    if not subject or "\n" in subject:
        raise KfuncfixError(f"patch subject {patch.subject!r} must be one non-empty line")
    body = patch.body.strip("\n")
    if _PATCH_BREAK.search(body):
        raise KfuncfixError(
            f"the body of {subject!r} has a line starting with '---', 'diff -' or 'Index: ': "
            "git am would take it as the start of the diff"
        )
    return f"{subject}\n\n{body}\n" if body.strip() else f"{subject}\n"


def build_series(
    repo_path: Path | str,
    base: str,
    patches: Sequence[PlannedPatch],
    *,
    sender: Identity | str | None = None,
    date: str | None = None,
) -> Series:
    """Make one commit per planned patch on top of `base`; return the series.

    The sender (the git identity unless given) signs off every commit and is
    the committer; `date` (or SOURCE_DATE_EPOCH) fixes author and committer
    dates so that the same plan gives the same commit ids.
    """
    repo = open_repo(repo_path)
    if not patches:
        raise KfuncfixError("no patches to commit")
    messages = [commit_message(p) for p in patches]
    for patch in patches:
        if not patch.changes:
            raise KfuncfixError(f"patch {patch.subject!r} changes no file")
        for path in patch.changes:
            check_path(path)
    when = resolve_date(date)
    identity, _ = committer_ident(repo, sender, when)
    base_sha = resolve_commit(repo, base)

    commits: list[SeriesCommit] = []
    with tempfile.TemporaryDirectory(prefix="kfuncfix-series-") as scratch:
        work = Path(scratch)
        # The private index: nothing here can reach the user's own index.
        index_env = {"GIT_INDEX_FILE": str(work / "index")}
        run_git(repo, ["read-tree", base_sha], env=index_env)
        parent = base_sha
        for number, (patch, message) in enumerate(zip(patches, messages, strict=True), 1):
            for path, content in patch.changes.items():
                _stage(repo, work, index_env, path, content)
            tree = run_git(repo, ["write-tree"], env=index_env)
            if tree == run_git(repo, ["rev-parse", f"{parent}^{{tree}}"]):
                raise KfuncfixError(f"patch {number} ({patch.subject!r}) changes nothing")
            message_file = work / f"message-{number}"
            message_file.write_text(_signed_off(repo, work, message, identity), encoding="utf-8")
            env = ident_env(patch.author or identity, when, ["AUTHOR"])
            env.update(ident_env(identity, when, ["COMMITTER"]))
            parent = run_git(
                repo, ["commit-tree", tree, "-p", parent, "-F", str(message_file)], env=env
            )
            paths = tuple(sorted(patch.changes))  # in git's order, as read_branch gives them
            commits.append(SeriesCommit(parent, patch.subject.strip(), paths))
    return Series(repo.root, base_sha, tuple(commits))


def _stage(
    repo: Repo, work: Path, env: Mapping[str, str], path: str, content: bytes | None
) -> None:
    """Put `content` at `path` in the private index (None removes it)."""
    # A literal pathspec: a file named `*.c` or `:(exclude)x` is just that file.
    listed = run_git(repo, ["ls-files", "--stage", "-z", "--", f":(literal){path}"], env=env)
    entry = next((e for e in listed.split("\0") if e.endswith(f"\t{path}")), "")
    mode = entry.split(" ", 1)[0] if entry else ""
    if content is None:
        if not entry:
            raise KfuncfixError(f"cannot delete {path}: it is not in the tree")
        run_git(repo, ["update-index", "--force-remove", "--", path], env=env)
        return
    if mode == SYMLINK_MODE:
        raise KfuncfixError(f"{path} is a symbolic link; not written through")
    if mode and mode not in BLOB_MODES:
        raise KfuncfixError(f"{path} is a submodule or other non-file entry (mode {mode})")
    blob_file = work / "blob"
    blob_file.write_bytes(content)
    # --stdin without --path stores the bytes exactly, with no clean filter.
    sha = run_git(repo, ["hash-object", "-w", "--stdin"], stdin=blob_file)
    cacheinfo = f"{mode or NEW_FILE_MODE},{sha},{path}"
    run_git(repo, ["update-index", "--add", "--cacheinfo", cacheinfo], env=env)


def _signed_off(repo: Repo, work: Path, message: str, identity: Identity) -> str:
    """Append the sender's Signed-off-by with git's own trailer rules."""
    draft = work / "draft"
    draft.write_text(message, encoding="utf-8")
    # Explicit --where/--if-* so that trailer.* settings in the user's config cannot change it.
    args = ["interpret-trailers", "--where", "end", "--if-exists", "addIfDifferent",
            "--if-missing", "add", "--trailer", f"Signed-off-by: {identity}", str(draft)]
    return run_git(repo, args) + "\n"


def update_branch(series: Series, name: str, *, force: bool = False) -> str:
    """Point branch `name` at the series tip with update-ref; return the full ref.

    An existing branch is refused unless `force`; a branch checked out in any
    worktree is always refused, because moving it would change that worktree.
    """
    repo = open_repo(series.repo)
    name = gitrun.branch_name(name)  # `refs/heads/x` is branch x
    check_branch_name(repo, name)
    ref = gitrun.branch_ref(name)
    for line in run_git(repo, ["worktree", "list", "--porcelain"]).splitlines():
        if line == f"branch {ref}":
            raise KfuncfixError(f"branch {name} is checked out; kfuncfix will not move it")
    current = _ref_value(repo, ref)
    if current is not None and not force:
        raise KfuncfixError(f"branch {name} already exists (use --force to replace it)")
    # The old value makes update-ref refuse if the branch moved since we looked.
    run_git(repo, ["update-ref", "-m", "kfuncfix: series", ref, series.tip, current or ZERO_OID])
    return ref


def check_branch_name(repo: Repo, name: str) -> None:
    """Refuse a name `git branch` would refuse (HEAD, -f, a..b, x.lock) or that means HEAD.

    `git check-ref-format --branch` is git's own rule for branch names; it also
    expands `@{-1}`, which is then no name of its own.  `@` alone is HEAD in every
    revision git reads, so a branch of that name could never be named again.
    """
    if name.startswith("-") or re.search(r"[\x00-\x20\x7f]", name):
        # Before git: its message would echo the name raw, cut at a newline.
        raise KfuncfixError(f"{name!r} is not a valid branch name")
    done = repo.run("check-ref-format", "--branch", name, check=False)
    if done.returncode != 0:
        # git's own line: "'HEAD' is not a valid branch name" (control characters escaped).
        raise GitError(done.message, done.returncode)
    checked = gitrun.stdout_str(done.stdout)
    if checked != name or name == "@":
        raise KfuncfixError(f"{name!r} is not a valid branch name: it names another "
                            "revision, not a branch of its own")


def _ref_value(repo: Repo, ref: str) -> str | None:
    return gitrun.ref_value(repo.root, ref)


def read_branch(repo_path: Path | str, branch: str, base: str) -> Series:
    """The commits of `branch` on top of `base`, oldest first, as a Series."""
    repo = open_repo(repo_path)
    tip = _ref_value(repo, f"refs/heads/{branch}")
    if tip is None:
        raise KfuncfixError(f"no branch named {branch!r}")
    base_sha = resolve_commit(repo, base)
    if repo.run("merge-base", "--is-ancestor", base_sha, tip, check=False).returncode != 0:
        raise KfuncfixError(f"{base} is not an ancestor of branch {branch}")
    listing = run_git(repo, ["rev-list", "--reverse", "--parents", f"{base_sha}..{tip}"])
    commits = []
    for line in listing.splitlines():
        sha, *parents = line.split()
        if len(parents) != 1:
            # format-patch leaves merges out, so the mails would not match the branch.
            raise KfuncfixError(f"branch {branch} has merge commit {sha[:12]}: not a series")
        subject = run_git(repo, ["log", "-1", "--format=%s", sha])
        names = run_git(repo, ["diff-tree", "--no-commit-id", "--no-renames", "--name-only",
                               "-r", "-z", parents[0], sha])
        commits.append(SeriesCommit(sha, subject, tuple(n for n in names.split("\0") if n)))
    cover_commit = cover_message = None
    if commits and not commits[0].paths:
        message = run_git(repo, ["log", "-1", "--format=%B", commits[0].sha])
        if B4_MARKER in message.splitlines():
            # b4's cover letter, not a patch: the mails start after it.
            cover_commit = commits.pop(0).sha
            cover_message = message.split(B4_MARKER)[0].strip() + "\n"
    if not commits:
        raise KfuncfixError(f"branch {branch} has no commits on top of {base}")
    return Series(repo.root, base_sha, tuple(commits), cover_commit, cover_message)


# b4 (ez.py MAGIC_MARKER) ends the cover commit's message with this line and its
# tracking JSON (see outputs/b4branch.py).
B4_MARKER = "--- b4-submit-tracking ---"
