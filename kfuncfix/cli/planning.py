"""The options every planning command shares, and the printing of a plan's remarks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click

from kfuncfix.cli import global_flag
from kfuncfix.cli.tree import load_index
from kfuncfix.engine import Plan
from kfuncfix.pipeline import Planned, Request, run_plan

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
