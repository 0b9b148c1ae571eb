"""The one way kfuncfix runs git: every git process of the tool starts here.

b4's `git_run_command` is the model (one entry point, git's own stderr), without
its `chdir`: the repository is always passed as `-C DIR`.  One error form: a
`GitError` carrying git's own message on one line (exit 2).  Values that came
from a user (a revision, a path, a range) are checked here before they reach
git, and git is told where its options end, so no such value is ever read as
an option (`--output=FILE` as a revision, `-x` as a path).

Nothing else in kfuncfix may call `subprocess` with git, or GitPython:
`tests/test_gitrun.py` checks that.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kfuncfix.errors import KfuncfixError

PIPE = subprocess.PIPE
Process = subprocess.Popen  # a started git process (`start`), ended by `finish`

# Git's messages in English, whatever the user's locale: a few of them are read as text.
C_LOCALE = {"LC_ALL": "C", "LANGUAGE": ""}


class GitError(KfuncfixError):
    """git refused or failed: its own message, one line (exit 2)."""

    def __init__(self, message: str, returncode: int = 128) -> None:
        super().__init__(message)
        self.returncode = returncode


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def message(self) -> str:
        return git_message(self.stderr)


def git_message(stderr: bytes) -> str:
    """Git's own error, one line: the first line of its stderr without `fatal: `.

    Control characters (a name holding ESC or a newline echoed back by git) are
    shown escaped, so a message never drives the terminal or gets cut.
    """
    lines = [ln for ln in stderr.decode("utf-8", "replace").strip().splitlines() if ln.strip()]
    if not lines:
        return "unknown error"
    first = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), lines[0])
    first = first.removeprefix("fatal: ").removeprefix("error: ").strip()
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", first)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _command(root: Path | str | None, args: Sequence[str]) -> list[str]:
    where = ["-C", os.fspath(root)] if root is not None else []
    return ["git", *where, *args]


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ)
    # A caller's environment must not redirect us to another repository.
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                 "GIT_NAMESPACE", "GIT_COMMON_DIR"):
        merged.pop(name, None)
    merged.update(env or {})
    return merged


def run(root: Path | str | None, *args: str, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True,
        ok: Sequence[int] = (0,), stdin: IO[bytes] | None = None) -> Completed:
    """Run `git -C ROOT ARGS`; with `check`, any exit status not in `ok` raises GitError.

    `args` are git's: a value from a user goes through `revision()`/`pathspec()`
    or after `--end-of-options`/`--` first.
    """
    try:
        proc = subprocess.run(_command(root, args), input=input, stdin=stdin,
                              capture_output=True, env=_env(env))
    except FileNotFoundError as exc:
        raise GitError("git is not installed (Debian: apt-get install git)") from exc
    done = Completed(proc.returncode, proc.stdout, proc.stderr)
    if check and done.returncode not in ok:
        raise GitError(f"git {_verb(args)}: {done.message}", done.returncode)
    return done


def out(root: Path | str | None, *args: str, **kwargs: object) -> bytes:
    """stdout of a git command that must succeed."""
    return run(root, *args, **kwargs).stdout  # type: ignore[arg-type]


def text(root: Path | str | None, *args: str, **kwargs: object) -> str:
    """stdout of a git command that must succeed, decoded, without the trailing newline."""
    return out(root, *args, **kwargs).decode("utf-8", "replace").rstrip("\n")


def start(root: Path | str | None, *args: str, stdin: int | None = None,
          env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A git process left running (`cat-file --batch`, a threaded `grep`): the caller
    reads its pipes and checks its status with `finish()`."""
    try:
        return subprocess.Popen(_command(root, args), stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=_env(env))
    except FileNotFoundError as exc:
        raise GitError("git is not installed (Debian: apt-get install git)") from exc


def finish(proc: subprocess.Popen[bytes], args: Sequence[str],
           ok: Sequence[int] = (0,)) -> bytes:
    """Wait for a started git process; its stdout, or GitError with its message."""
    stdout, stderr = proc.communicate()
    if proc.returncode not in ok:
        raise GitError(f"git {_verb(args)}: {git_message(stderr)}", proc.returncode)
    return stdout


def _verb(args: Sequence[str]) -> str:
    """The git subcommand of `args` (after global options such as `-c x=y`)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("-c", "-C", "--git-dir", "--work-tree"):
            skip = True
            continue
        if not arg.startswith("-"):
            return arg
    return "command"


# --- values from users -------------------------------------------------------------

_BAD_REV = re.compile(r"[\x00-\x20\x7f]|^-|\.\.\.\.|@\{-")


def revision(value: str, what: str = "revision") -> str:
    """A revision from a user, checked to be one: never empty, never option-like
    (`--output=FILE`), no whitespace or control characters.  Returned unchanged."""
    if not value or _BAD_REV.search(value):
        raise KfuncfixError(f"{what} {value!r} is not a revision")
    return value


def revision_range(value: str, what: str = "range") -> str:
    """`A..B`, `A...B` or a single revision, each side checked by `revision()`."""
    sep = "..." if "..." in value else ".." if ".." in value else None
    if sep is None:
        return revision(value, what)
    left, _, right = value.partition(sep)
    for side in (left, right):
        if side:  # `..B` and `A..` are git's own shorthand for HEAD
            revision(side, what)
    if not left and not right:
        raise KfuncfixError(f"{what} {value!r} is not a revision range")
    return value


def literal(path: str) -> str:
    """A tree-relative path as a pathspec that means exactly that file (`:(literal)`)."""
    return f":(literal){path}"


def resolve_commit(root: Path | str, rev: str) -> str | None:
    """The full commit id `rev` names in the repository at root, or None if it names none.

    Git's other refusals (dubious ownership, a broken repository) raise GitError
    with git's message rather than reading as "no such commit".
    """
    revision(rev)
    done = run(root, "rev-parse", "--verify", "--quiet", "--end-of-options",
               f"{rev}^{{commit}}", check=False, env=C_LOCALE)
    if done.returncode == 0:
        return done.stdout.decode().strip()
    if done.stderr.strip():
        raise GitError(f"git rev-parse: {done.message}", done.returncode)
    return None


# --- repositories ------------------------------------------------------------------

def work_tree(path: Path | str) -> Path | None:
    """The top of the git work tree holding `path` (resolved), or None outside any repository.

    None also when git is not installed: then nothing can be a git tree for us.  Any
    other refusal (dubious ownership, a broken `.git`) is git's own message: reading
    it as "not a git tree" would drop what git protects.
    """
    try:
        done = run(path, "rev-parse", "--show-toplevel", check=False, env=C_LOCALE)
    except GitError:
        return None
    if done.returncode == 0:
        return Path(os.fsdecode(done.stdout.rstrip(b"\n"))).resolve()
    message = done.message
    if "not a git repository" in message:
        return None
    if "must be run in a work tree" in message:
        raise KfuncfixError(f"{path} is a bare git repository: kfuncfix needs a work tree")
    raise GitError(f"{path}: git: {message}", done.returncode)


@dataclass(frozen=True)
class Repo:
    """A git repository, named by the directory git is run in (`git -C root`)."""

    root: Path

    def run(self, *args: str, **kwargs: object) -> Completed:
        return run(self.root, *args, **kwargs)  # type: ignore[arg-type]

    def out(self, *args: str, **kwargs: object) -> bytes:
        return out(self.root, *args, **kwargs)

    def text(self, *args: str, **kwargs: object) -> str:
        return text(self.root, *args, **kwargs)


def open_repo(path: Path | str) -> Repo:
    """The repository at path (its work tree's top, or the directory of a bare one).

    Not a repository: one line naming the path; any other refusal: git's message.
    """
    if not Path(path).is_dir():
        raise KfuncfixError(f"{path} is not a git repository")
    done = run(path, "rev-parse", "--is-bare-repository", check=False, env=C_LOCALE)
    if done.returncode != 0:
        if "not a git repository" in done.message:
            raise KfuncfixError(f"{path} is not a git repository")
        raise GitError(f"{path}: git: {done.message}", done.returncode)
    if done.stdout.strip() == b"true":
        return Repo(Path(path).resolve())
    top = work_tree(path)
    assert top is not None
    return Repo(top)


def stdout_str(data: bytes) -> str:
    """Git's output as text the way GitPython gave it: bytes kept (surrogateescape),
    one trailing newline dropped."""
    decoded = data.decode("utf-8", "surrogateescape")
    return decoded[:-1] if decoded.endswith("\n") else decoded


def ref_value(root: Path | str, ref: str) -> str | None:
    """The object id a full ref (`refs/heads/x`) points at, or None when it does not exist."""
    done = run(root, "rev-parse", "--verify", "--quiet", "--end-of-options", ref, check=False,
               env=C_LOCALE)
    if done.returncode == 0:
        return done.stdout.decode().strip()
    if done.stderr.strip():
        raise GitError(f"git rev-parse: {done.message}", done.returncode)
    return None


def branch_ref(name: str) -> str:
    """The full ref of a branch name as a user gives it: `x` and `refs/heads/x` are both
    branch x (never `refs/heads/refs/heads/x`)."""
    return name if name.startswith("refs/heads/") else f"refs/heads/{name}"


def branch_name(name: str) -> str:
    """A branch name as a user gives it, without a leading `refs/heads/`."""
    return name.removeprefix("refs/heads/")


# --- scratch worktrees ---------------------------------------------------------------

@contextmanager
def temporary_worktree(root: Path | str, commit: str, where: Path | str,
                       config: Sequence[str] = ()) -> Iterator[Path]:
    """A detached worktree of `commit` at `where` (which must not exist), removed after.

    Only this worktree is ever removed: never `git worktree prune`, which would also
    drop another worktree whose directory is briefly absent (a removable disk).
    `config` are `-c name=value` pairs for git (e.g. `core.hooksPath`).
    """
    tree = Path(where)
    options = [a for pair in config for a in ("-c", pair)]
    run(root, *options, "worktree", "add", "--detach", "--quiet", "--", str(tree), commit)
    admin = None
    try:
        admin = Path(text(tree, "rev-parse", "--absolute-git-dir"))
        yield tree
    finally:
        remove_worktree(root, tree, admin)


def remove_worktree(root: Path | str, tree: Path, admin: Path | None = None) -> None:
    """Remove one worktree made by kfuncfix: `git worktree remove --force`, else its
    directory and its own administrative directory (`.git/worktrees/NAME`) by hand."""
    if admin is None and tree.exists():
        done = run(tree, "rev-parse", "--absolute-git-dir", check=False)
        admin = Path(done.stdout.decode().strip()) if done.returncode == 0 else None
    done = run(root, "worktree", "remove", "--force", "--", str(tree), check=False)
    if done.returncode != 0:
        shutil.rmtree(tree, ignore_errors=True)
        if admin is not None and admin.parent.name == "worktrees":
            shutil.rmtree(admin, ignore_errors=True)


def not_option(value: str, what: str) -> str:
    """A word from a user that git (or a program it runs) will see on its command line
    where an option could stand: refused when it starts with `-`.  Returned unchanged."""
    if value.startswith("-"):
        raise KfuncfixError(f"{what} {value!r} looks like an option; write ./{value} "
                            "if it is a name")
    return value
