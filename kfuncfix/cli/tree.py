"""`kfuncfix list` and `kfuncfix check`: what discovery knows, as a table or a lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click

from kfuncfix.cli import NO_CACHE, global_flag
from kfuncfix.engine import Plan
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex
from kfuncfix.pathquote import quote_path
from kfuncfix.report import Record, records, summary
from kfuncfix.runreport import RunReport
from kfuncfix.words import plural

if TYPE_CHECKING:
    from kfuncfix.lint import Finding

TREE = click.argument("tree", default=".", type=click.Path(path_type=Path))
FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output format.",
)


@click.command("list")
@TREE
@FORMAT
@NO_CACHE
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
    from kfuncfix.cli.planning import planned

    # Through the one pipeline: the tree's .kfuncfix.toml rules say what is tagged.
    index = planned(tree, (), lint=True).index
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
    click.get_current_context().exit(RunReport().planned(index).return_code)


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
@NO_CACHE
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
    from kfuncfix.cli.planning import planned, report_index
    from kfuncfix.lint import findings

    if patch_file is not None and git_rev is not None:
        raise click.UsageError("give --patch or --git, not both")
    blocks: list[tuple[str, list[Finding]]] = []
    report = RunReport()
    note = None
    if git_rev is not None:
        from kfuncfix.commitlint import lint_range
        from kfuncfix.commitscope import scoped_plans

        linted = lint_range(tree.resolve(), git_rev,
                            lambda listed: scoped_plans(tree, rule_names, listed, report_index,
                                                        not global_flag("no_cache")),
                            fmt == "json")
        for one in linted:
            blocks.append((one.title, one.findings))
            report.planned(one.run.index)
            note = note or _tree_note(one.run.index, one.run.plan)
        run = linted[-1].run
    elif patch_file is not None:
        from kfuncfix.commitlint import lint_patch

        one = lint_patch(tree, rule_names, _mail_newlines(_read_patch(patch_file)), report_index,
                         fmt == "json", cache=not global_flag("no_cache"))
        blocks.append((one.title, one.findings))
        run = one.run
        report.planned(run.index)
        note = _tree_note(run.index, run.plan)
    else:
        run = planned(tree, rule_names, lint=True)
        blocks.append(("the tree", findings(run.index, run.plan, None, fmt == "json")))
        report.planned(run.index)
        note = _tree_note(run.index, run.plan)
    _print_findings(blocks, fmt, note, run.plan)
    report.found(sum(len(items) for _, items in blocks))
    click.get_current_context().exit(report.return_code)


# Far above any patch a list takes; /dev/zero or an endless pipe stops here.
PATCH_LIMIT = 256 << 20


def _read_patch(handle: BinaryIO) -> bytes:
    data = handle.read(PATCH_LIMIT + 1)
    if len(data) > PATCH_LIMIT:
        name = getattr(handle, "name", "the patch")
        raise KfuncfixError(f"{name}: the patch is larger than {PATCH_LIMIT >> 20} MiB")
    return data


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
            click.echo(f"commit {title}: {plural(len(items), 'finding')}")
        for finding in items:
            click.echo(finding.text())
    if quiet:
        return
    if note:
        click.echo(f"kfuncfix: note: {note}", err=True)
    errors = sum(1 for f in everything if f.severity == "error")
    rules = ", ".join(r.name for r in result.rules) or "none adopted"
    counts = (f"{plural(len(everything), 'finding')} ({plural(errors, 'error')}, "
              f"{plural(len(everything) - errors, 'warning')})" if everything else "no findings")
    click.echo(f"{counts}; rules: {rules}", err=True)


COMMANDS = [list_command, check_command]
