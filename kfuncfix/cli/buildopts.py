"""`--build` for `series` and `apply --branch`: the options, and the one call a command makes.

Kept apart from the commands so that each of them only adds the options and
calls `run_build()` once its commits exist.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kfuncfix.cli import global_flag
from kfuncfix.cli.values import a_directory
from kfuncfix.errors import KfuncfixError

F = TypeVar("F", bound=Callable[..., Any])


def build_options(cover: bool) -> Callable[[F], F]:
    """--build, --build-config, --build-dir (and --cover-build-report for series)."""

    def decorate(func: F) -> F:
        if cover:
            func = click.option(
                "--cover-build-report", is_flag=True,
                help="With --build: a Build-tested: paragraph in the cover letter.")(func)
        func = click.option(
            "--build-dir", type=click.Path(file_okay=False, path_type=Path),
            callback=a_directory,
            help="With --build: keep the build output here, one subdirectory per config "
                 "(default: ~/.cache/kfuncfix/build).")(func)
        func = click.option(
            "--build-config", "build_configs", multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="With --build: a .config to build with (repeatable; default: allmodconfig "
                 "with CONFIG_DEBUG_INFO_BTF).")(func)
        func = click.option(
            "--build", "build", is_flag=True,
            help="Compile every patch with the tree's Kbuild (W=1) and audit the BTF of "
                 "the objects it touches; fails on a patch that breaks the build, a new "
                 "warning, or a kfunc it loses from BTF.")(func)
        return func

    return decorate


def run_build(root: Path, base: str, commits: Any, opts: dict[str, Any],
              index_at: Callable[[str], Any]) -> Any:
    """The build check of the series' commits (print it with print_build); None without
    --build.  `index_at(commit)` is the pipeline's index of the tree there."""
    if not opts.get("build"):
        if opts.get("cover_build_report"):
            raise KfuncfixError("--cover-build-report reports a build: add --build")
        return None
    from kfuncfix.cli.planning import StatusLine
    from kfuncfix.outputs.build import build_check

    status = StatusLine(enabled=sys.stderr.isatty() and not global_flag("quiet"))
    verbose = global_flag("verbose")

    def progress(text: str) -> None:
        if verbose and not status.enabled:
            click.echo(f"kfuncfix: {text}", err=True)
        status(text)

    try:
        configs = list(opts.get("build_configs") or []) or [None]
        build_dir = opts.get("build_dir")
        if build_dir is not None:  # relative: to the current directory, one way for all
            build_dir = Path(os.path.abspath(build_dir))
        report = build_check(root, base, list(commits), configs, build_dir,
                             os.cpu_count() or 1, progress, index_at)
    finally:
        status.clear()
    return report


def print_build(report: Any) -> bool:
    """Print the build check (if one ran); True when it passed or did not run."""
    if report is None:
        return True
    from kfuncfix.outputs.build import report_lines

    for line in report_lines(report):
        click.echo(line, err=True)
    click.echo(f"kfuncfix: build check {'passed' if report.ok else 'FAILED'}", err=True)
    return bool(report.ok)
