"""`kfuncfix list` and `kfuncfix check`: what discovery knows, as a table or a lint."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click

from kfuncfix.cli import global_flag
from kfuncfix.discover import discover
from kfuncfix.engine import Plan
from kfuncfix.model import TreeIndex
from kfuncfix.notes import no_kfunc_sets_note
from kfuncfix.patchcheck import apply_in_memory
from kfuncfix.pathquote import quote_path
from kfuncfix.pipeline import Conventions
from kfuncfix.report import Record, records, summary

if TYPE_CHECKING:
    from kfuncfix.lint import Finding

TREE = click.argument("tree", default=".", type=click.Path(path_type=Path))
FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output format.",
)


def load_index(
    tree: Path, overlay: dict[str, bytes | None] | None = None, rev: str | None = None,
    conventions: Conventions | None = None,
) -> TreeIndex:
    """Discovery with the CLI's conventions: warnings on stderr when --verbose.

    `conventions` (from the rules, see `kfuncfix.pipeline`) say which words mark
    a kfunc definition and which macros' headers to read; default: the tag rule's.
    """
    verbose = global_flag("verbose")
    status = StatusLine(enabled=sys.stderr.isatty() and not global_flag("quiet"))
    words = conventions or Conventions()
    try:
        index = discover(tree, overlay, status, rev, words.tags, words.wrappers, words.macros)
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
        where = quote_path(rec.file) if rec.file else f"{quote_path(rec.set_file)} (unresolved)"
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
@click.option("--rule", "rule_names", multiple=True, metavar="NAME|FILE|all",
              help="Lint these rules (repeat, or comma-separated; `all`: every built-in "
                   "convention). Default: every convention the tree has adopted.")
@click.option(
    "--patch", "patch_file", type=click.File("rb"),
    help="Report only what this patch adds or changes ('-' reads stdin); the patch may "
         "be applied already or not. The tree is not written.",
)
@click.option("--git", "git_rev", metavar="REV|A..B", is_flag=False, flag_value="HEAD",
              default=None,
              help="Report only what commit REV (default HEAD) changed, or each commit of "
                   "A..B; REV need not be checked out.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "b4"]), default="text",
              show_default=True, help="Output format (b4: b4's review check JSON).")
def check_command(tree: Path, rule_names: tuple[str, ...], patch_file: BinaryIO | None,
                  git_rev: str | None, fmt: str) -> None:
    """Lint TREE: every change a rule would make is a finding.

    \b
    One line per finding on stdout, `path:line: ERROR: rule: message`
    (ERROR: a kfunc definition the compiler may inline or drop; WARNING: a
    convention, or a kfunc that resolves to no definition).  Without
    --rule, the tag rule is linted on every tree with kfunc sets, and each
    later convention where the tree defines its macros.  Exit 0 when clean,
    1 on findings, 2 on errors.  With -q a clean run prints nothing.

    \b
    Examples:
      kfuncfix check ~/linux
      kfuncfix check --git HEAD~3..HEAD
      git format-patch -1 --stdout | kfuncfix -q check --patch -
    """
    from kfuncfix.cli.planning import planned
    from kfuncfix.lint import added_lines, commits_of, findings

    if patch_file is not None and git_rev is not None:
        raise click.UsageError("give --patch or --git, not both")
    blocks: list[tuple[str, list[Finding]]] = []
    unreadable = False
    note = None
    if git_rev is not None:
        root = tree.resolve()
        for commit in commits_of(root, git_rev):
            run = planned(tree, rule_names, rev=commit.sha, lint=True)
            added = added_lines(commit.diff)
            blocks.append((f"{commit.sha[:12]} (\"{commit.subject}\")",
                           findings(run.index, run.plan, added, fmt == "json")))
            unreadable = unreadable or bool(run.index.unreadable)
            note = note or _tree_note(run.index, run.plan)
    elif patch_file is not None:
        patched = apply_in_memory(tree, _mail_newlines(patch_file.read()))
        run = planned(tree, rule_names, overlay=patched.overlay, lint=True)
        blocks.append(("the patch", findings(run.index, run.plan, patched.added_lines,
                                                    fmt == "json")))
        unreadable = bool(run.index.unreadable)
        note = _tree_note(run.index, run.plan)
    else:
        run = planned(tree, rule_names, lint=True)
        blocks.append(("the tree", findings(run.index, run.plan, None, fmt == "json")))
        unreadable = bool(run.index.unreadable)
        note = _tree_note(run.index, run.plan)
    _print_findings(blocks, fmt, note, run.plan)
    found = any(items for _, items in blocks)
    sys.exit(1 if found or unreadable else 0)


def _mail_newlines(data: bytes) -> bytes:
    """A patch whose every line ends in CRLF (a mail saved by a client or a Windows
    editor) with LF, as `git am` reads mail; a patch with LF lines and CRLF only in
    its files' lines is a patch of CRLF files and stays as it is."""
    body = data.split(b"\n")[:-1]  # the lines an LF ends
    if body and all(line.endswith(b"\r") for line in body):
        return data.replace(b"\r\n", b"\n")
    return data


def _tree_note(index: TreeIndex, result: Plan) -> str | None:
    from kfuncfix.lint import has_kfunc_sets

    if not has_kfunc_sets(index):
        return None  # load_index said so (kfuncfix.notes)
    if result.needs_definition:
        return (f"this tree does not define {result.needs_definition} yet: "
                "`kfuncfix series` adds its definition in patch 1")
    return None


def _print_findings(blocks: list[tuple[str, list[Finding]]], fmt: str, note: str | None,
                    result: Plan) -> None:
    from kfuncfix.lint import b4_report

    everything = [f for _, items in blocks for f in items]
    if fmt == "json":
        click.echo(json.dumps([f.to_json() for f in everything], indent=2))
        return
    if fmt == "b4":
        click.echo(b4_report(everything, blocks[0][0] if len(blocks) == 1 else
                             f"{len(blocks)} commits"))
        return
    quiet = global_flag("quiet")
    for title, items in blocks:
        if len(blocks) > 1 and not quiet:
            click.echo(f"commit {title}: {len(items)} finding(s)")
        for finding in items:
            click.echo(finding.text())
    if quiet:
        return
    if note:
        click.echo(f"kfuncfix: note: {note}", err=True)
    errors = sum(1 for f in everything if f.severity == "error")
    rules = ", ".join(r.name for r in result.rules) or "none adopted"
    counts = (f"{len(everything)} finding(s) ({errors} error(s), "
              f"{len(everything) - errors} warning(s))" if everything else "no findings")
    click.echo(f"{counts}; rules: {rules}", err=True)


COMMANDS = [list_command, check_command]
