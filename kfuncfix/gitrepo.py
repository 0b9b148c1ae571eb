"""Is this directory in a git work tree?  One answer for every command (see `gitrun`)."""

from __future__ import annotations

from kfuncfix.gitrun import git_message, work_tree

__all__ = ["git_message", "work_tree"]
