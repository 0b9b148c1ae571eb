"""`kfuncfix list` and `kfuncfix check`: what discovery knows, as a table or a lint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kfuncfix.cli import global_flag
from kfuncfix.discover import discover
from kfuncfix.model import TreeIndex
from kfuncfix.notes import no_kfunc_sets_note
from kfuncfix.patchcheck import apply_in_memory, touched_by
from kfuncfix.report import Record, needs_tag, records, summary

TREE = click.argument("tree", default=".", type=click.Path(path_type=Path))
FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output format.",
)


def load_index(
    tree: Path, overlay: dict[str, bytes | None] | None = None, rev: str | None = None
) -> TreeIndex:
    """Discovery with the CLI's conventions: warnings on stderr when --verbose."""
    verbose = global_flag("verbose")
    status = StatusLine(enabled=sys.stderr.isatty() and not global_flag("quiet"))
    try:
        index = discover(tree, overlay, status, rev)
    finally:
        status.clear()
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
    return index


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


@click.command("list")
@TREE
@FORMAT
def list_command(tree: Path, fmt: str) -> None:
    """List every kfunc of TREE (default: .) with its definition, set and status.

    \b
    One record per kfunc definition: a kfunc defined per architecture or
    under #ifdef variants has several; one named by a set but defined
    nowhere is listed as unresolved, with the reason.

    \b
    Examples:
      kfuncfix list ~/linux
      kfuncfix list --format json | jq '.[] | select(.status == "untagged")'
    """
    index = load_index(tree)
    recs = records(index)
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in recs], indent=2))
        return
    current = None
    for rec in recs:
        where = rec.file or f"{rec.set_file} (unresolved)"
        if where != current:
            click.echo(("\n" if current else "") + click.style(where, bold=True))
            current = where
        click.echo("  " + _row(rec))
    if not global_flag("quiet"):
        click.echo(summary(index, recs), err=True)
    if index.unreadable:
        sys.exit(1)


def _row(rec: Record) -> str:
    line = f"{rec.line or rec.set_line:>5}"
    parts = [line, f"{rec.name:<32}", f"{'/'.join(rec.kinds):<6}", f"{rec.status:<10}",
             f"set {rec.set}"]
    if rec.flags:
        parts.append(" | ".join(rec.flags))
    if rec.condition:
        parts.append("if " + " && ".join(rec.condition))
    if rec.risks:
        parts.append("risks: " + ", ".join(rec.risks))
    if rec.reason:
        parts.append(rec.reason)
    return "  ".join(parts)


@click.command("check")
@TREE
@click.option(
    "--patch", "patch_file", type=click.File("rb"),
    help="Report only kfuncs whose set entry or definition this patch adds or changes "
         "('-' reads stdin). The tree is not written.",
)
@FORMAT
def check_command(tree: Path, patch_file, fmt: str) -> None:
    """Lint TREE: every kfunc definition must be tagged __bpf_kfunc.

    Prints `path:line: kfunc NAME is not tagged __bpf_kfunc` per finding, in
    the style of checkpatch.  Exit 0 when clean, 1 on findings, 2 on usage
    errors or an unreadable tree.  Kfuncs that cannot be resolved to a
    definition are printed as warnings; they do not fail the check.

    \b
    Examples:
      kfuncfix check ~/linux
      git format-patch -1 --stdout | kfuncfix check --patch - ~/linux
    """
    patched = None
    if patch_file is not None:
        patched = apply_in_memory(tree, patch_file.read())
        index = load_index(tree, patched.overlay)
    else:
        index = load_index(tree)
    recs = records(index)
    if patched is not None:
        recs = [r for r in recs if touched_by(r, index, patched)]
    findings = [r for r in recs if needs_tag(r)]
    unresolved = [r for r in recs if r.status == "unresolved"]
    if fmt == "json":
        out = {"findings": [r.to_json() for r in findings],
               "unresolved": [r.to_json() for r in unresolved]}
        click.echo(json.dumps(out, indent=2))
    else:
        for rec in findings:
            click.echo(f"{rec.file}:{rec.line}: kfunc {rec.name} is not tagged __bpf_kfunc")
        for rec in unresolved:
            click.echo(f"{rec.set_file}:{rec.set_line}: warning: kfunc {rec.name} "
                       f"not resolved: {rec.reason}")
        if not global_flag("quiet"):
            scope = "touched by the patch" if patched is not None else "checked"
            click.echo(f"{len(recs)} kfunc definitions {scope}, {len(findings)} not tagged",
                       err=True)
    sys.exit(1 if findings or index.unreadable else 0)


COMMANDS = [list_command, check_command]
