"""The options every planning command shares, and the printing of a plan's remarks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import click

from kfuncfix.cli import global_flag
from kfuncfix.discover import discover
from kfuncfix.engine import Plan
from kfuncfix.model import TreeIndex
from kfuncfix.notes import no_kfunc_sets_note
from kfuncfix.pipeline import Conventions, Planned, Request, run_plan
from kfuncfix.snapshot import Snapshot

RULES = click.option(
    "--rule", "rule_names", multiple=True, metavar="NAME|FILE|all",
    help="A built-in rule (see `kfuncfix rules`) or a rule file (.toml); repeat it or "
         "separate names with commas for several; `all` is every built-in convention. "
         "Default: the tree's .kfuncfix.toml `rule`, else bpf_kfunc_tag.",
)


def planned(tree: Path, rule_names: tuple[str, ...], paths: tuple[Path, ...] = (),
            rev: str | None = None, overlay: Mapping[str, bytes | None] | None = None,
            lint: bool = False, config: Path | None = None) -> Planned:
    """The plan for a command's options, with the CLI's index loader (warnings, progress)."""
    scope = tree_paths(tree.resolve(), paths) if paths else None
    request = Request(tree, tuple(rule_names), tuple(scope) if scope is not None else None,
                      rev, overlay, lint, config)
    return run_plan(request, load_index)


def index_at(tree: Path, rule_names: tuple[str, ...], run: Planned | None,
             config: Path | None = None) -> Callable[[str], TreeIndex]:
    """The pipeline's index of the tree at a commit (for `--build`): the run's own
    index at its revision, another run of the same rules elsewhere."""

    def at(commit: str) -> TreeIndex:
        if run is not None and run.index.rev is not None and commit == run.index.rev:
            return run.index
        return planned(tree, rule_names, rev=commit, config=config).index

    return at


def tree_paths(root: Path, paths: tuple[Path, ...]) -> list[str] | None:
    """PATH arguments as tree-relative POSIX paths; each must exist inside the tree."""
    if not paths:
        return None
    out = []
    for path in paths:
        full = path if path.is_absolute() else root / path
        rel = os.path.relpath(os.path.abspath(full), root)
        if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
            raise click.UsageError(f"{path}: not inside the tree {root}")
        if not os.path.lexists(full):
            raise click.UsageError(f"{path}: no such file or directory in {root}")
        out.append(rel.replace(os.sep, "/"))
    return out


def report_plan(result: Plan, with_definition: bool) -> None:
    """Skipped items always (they fail the run); notes unless --quiet."""
    for skip in result.skipped:
        click.echo(f"kfuncfix: skipped {skip}", err=True)
    if global_flag("quiet"):
        return
    for note in result.notes:
        click.echo(f"kfuncfix: note: {note}", err=True)
    if result.needs_definition and not with_definition:
        header = next((r.definition.header for r in result.rules if r.definition
                       and r.definition.macro == result.needs_definition), "its header")
        click.echo(f"kfuncfix: note: this tree does not define {result.needs_definition}, "
                   f"which the changes use; add it to {header} first "
                   "(or use --with-definition)", err=True)


def load_index(snapshot: Snapshot, conventions: Conventions) -> TreeIndex:
    """Discovery of the run's snapshot, the pipeline's index loader for the CLI: a
    progress line on a terminal, warnings on stderr (all of them with --verbose).

    `conventions` (from the rules, see `kfuncfix.pipeline`) say which words mark
    a kfunc definition and which macros' headers to read.
    """
    status = StatusLine(enabled=sys.stderr.isatty() and not global_flag("quiet"))
    words = conventions
    try:
        index = discover(snapshot.files, None, status, None, words.tags, words.wrappers,
                         words.macros, cache=False if global_flag("no_cache") else None)
    finally:
        status.clear()
    report_index(index)
    return index


def report_index(index: TreeIndex) -> None:
    """An index's warnings and notes on stderr, as every command says them."""
    verbose = global_flag("verbose")
    # File-level problems are warnings (all of them with --verbose); a file
    # discovery needed but could not read makes the result incomplete: say so.
    # Prototypes pycparser could not parse only matter to the curious.
    shown = index.warnings if verbose else [w for w in index.warnings if "prototype" not in w]
    if not global_flag("quiet"):
        for warning in shown:
            click.echo(f"kfuncfix: warning: {warning}", err=True)
        if note := no_kfunc_sets_note(index):  # e.g. Linux 5.10: say so, once, in every command
            click.echo(f"kfuncfix: note: {note}", err=True)
    if index.unreadable:
        click.echo(f"kfuncfix: warning: {len(index.unreadable)} file(s) could not be read; "
                   "the result below is incomplete", err=True)


class StatusLine:
    """One self-overwriting progress line on stderr, only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.width = 0

    def __call__(self, text: str) -> None:
        if self.enabled:
            line = f"kfuncfix: {text}..."
            click.echo("\r" + line.ljust(self.width), err=True, nl=False)
            self.width = len(line)

    def clear(self) -> None:
        if self.enabled and self.width:
            click.echo("\r" + " " * self.width + "\r", err=True, nl=False)
            self.width = 0
