"""Click callbacks that check an option's value before any work: a revision, a range,
a directory.  Values that reach git are checked here, once, at the door (gitrun
checks again where the call is made); the error is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import click

from kfuncfix.gitrun import not_option, revision, revision_range


def _name(param: click.Parameter) -> str:
    return max(param.opts, key=len) if param.opts else str(param.name)


def a_revision(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else revision(value, _name(param))


def a_range(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else revision_range(value, _name(param))


def a_directory(ctx: click.Context, param: click.Parameter,
                value: Path | None) -> Path | None:
    """A directory git will be told about: not option-like as given, and absolute (git
    reads a relative path from the tree it runs in, not from the cwd)."""
    if value is None:
        return None
    not_option(str(value), _name(param))
    return value.absolute()
