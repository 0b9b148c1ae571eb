"""Is this directory in a git work tree?  One answer for every command.

Git may refuse a repository it finds (owned by another user: "detected
dubious ownership"; a broken `.git`; a bare repository).  Reading that as
"not a git tree" would silently drop what git protects (the uncommitted-changes
refusal of `apply`, the committed content `series` reads), so every git error
other than "not a git repository" stops the run with git's own message.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kfuncfix.errors import KfuncfixError

# The C locale: the one git message that means "no repository here" is matched as text.
_C_LOCALE = {"LC_ALL": "C", "LANGUAGE": ""}


def work_tree(path: Path) -> Path | None:
    """The top of the git work tree holding `path` (resolved), or None outside any repository.

    None also when git is not installed: then nothing can be a git tree for us.
    Any other git failure raises a KfuncfixError carrying git's first line.
    """
    try:
        proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"],
                              capture_output=True, env={**os.environ, **_C_LOCALE})
    except OSError:
        return None
    if proc.returncode == 0:
        return Path(os.fsdecode(proc.stdout.rstrip(b"\n"))).resolve()
    message = git_message(proc.stderr)
    if "not a git repository" in message:
        return None
    if "must be run in a work tree" in message:
        raise KfuncfixError(f"{path} is a bare git repository: kfuncfix needs a work tree")
    raise KfuncfixError(f"{path}: git: {message}")


def git_message(stderr: bytes) -> str:
    """Git's own error, one line: the first line of its stderr without `fatal: `."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return "unknown error"
    return lines[0].removeprefix("fatal: ").removeprefix("error: ").strip()
