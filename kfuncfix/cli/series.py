"""`kfuncfix series`: the rewrite as a `git format-patch` series, ready to mail."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kfuncfix.cli.tree import load_index
from kfuncfix.config import fill_defaults, load_config
from kfuncfix.engine import DEFAULT_RULE, load_rule, plan
from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.checkseries import SeriesCheck, check_series
from kfuncfix.outputs.formatpatch import CoverLetter, MailOptions, write_series
from kfuncfix.outputs.gitseries import (
    Identity,
    Series,
    build_series,
    committer_ident,
    open_repo,
    read_branch,
    resolve_date,
)
from kfuncfix.outputs.maintainers import recipients_for_patch
from kfuncfix.series import SPLITS, plan_series

CONFIG_KEYS = {"rule": "rule_name", "subject_prefix": "subject_prefix", "split": "split",
               "to": "to", "cc": "cc"}


def git_root(tree: Path) -> Path:
    """The tree as a git work tree root; exit 2 with a clear line when it is not one."""
    if not tree.is_dir():
        raise KfuncfixError(f"{tree}: no such directory")
    repo = open_repo(tree)
    top = Path(repo.working_tree_dir or tree).resolve()
    if top != tree.resolve():
        raise KfuncfixError(f"{tree}: not the top of a git work tree (that is {top})")
    return top


def build_from_rule(tree: Path, rule_name: str, split: str, base: str, sender: str | None,
                    date: str | None, paths: list[str] | None = None,
                    history: bool = True) -> tuple[Series, object] | None:
    """Commits for the rule's plan on top of base; None when there is nothing to change."""
    rule = load_rule(rule_name)
    index = load_index(tree, rev=base)
    result = plan(index, rule, paths)
    if not result.files:
        return None
    planned = plan_series(index, result, split, base, history)
    series = build_series(tree, base, planned.patches, sender=sender, date=date)
    return series, planned


@click.command("series")
@click.argument("tree", default=".", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", type=click.Path(path_type=Path), required=True,
              help="Directory for the patch files (created if missing).")
@click.option("--rule", "rule_name", default=DEFAULT_RULE, show_default=True,
              metavar="NAME|FILE", help="Built-in rule or rule file.")
@click.option("--split", type=click.Choice(SPLITS), default="none", show_default=True,
              help="One patch for the tree, one per MAINTAINERS section, or one per file.")
@click.option("--base", default="HEAD", show_default=True,
              help="Commit the series applies to; the rewrite reads the tree as committed there.")
@click.option("--subject-prefix", default=None,
              help="Subject prefix, default from the rule (e.g. 'PATCH bpf-next').")
@click.option("-v", "--reroll-count", type=click.IntRange(1), default=None,
              help="Mark the series as version N: [PATCH v2 ...].")
@click.option("--cover/--no-cover", default=None,
              help="Cover letter (default: when there is more than one patch).")
@click.option("--cover-from", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Cover letter text: subject on the first line, body after a blank line.")
@click.option("--changes", "changes_file",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Changelog since the previous version (v2 and later).")
@click.option("--range-diff", metavar="REV", help="Range-diff against the previous version.")
@click.option("--in-reply-to", metavar="MESSAGE-ID", help="Thread under this message.")
@click.option("--to", multiple=True, help="Add a To: address (repeatable).")
@click.option("--cc", multiple=True, help="Add a Cc: address (repeatable).")
@click.option("--from", "sender", metavar="'NAME <EMAIL>'",
              help="Sign off and send as this identity instead of git's user.name/email.")
@click.option("--date", help="Commit and mail date, for reproducible output "
                             "(default: SOURCE_DATE_EPOCH, else now).")
@click.option("--maintainers/--no-maintainers", default=True, show_default=True,
              help="Address each patch to its MAINTAINERS (get_maintainer.pl when present).")
@click.option("--from-branch", metavar="NAME",
              help="Mail the commits of branch NAME (from `apply --branch`) instead of "
                   "rewriting.")
@click.option("--check", is_flag=True,
              help="Prove the series: git am on a scratch worktree, checkpatch.pl, mail parse.")
@click.option("--force", is_flag=True, help="Replace .patch files already in the directory.")
@click.option("--config", "config_path", type=click.Path(exists=True, path_type=Path),
              help="Settings file (default: TREE/.kfuncfix.toml).")
@click.pass_context
def series_command(ctx: click.Context, tree: Path, **opts) -> None:
    """Write the rule's rewrite of TREE as a patch series with git format-patch.

    \b
    The rewrite is computed from the tree as committed at --base (HEAD by
    default), not from uncommitted changes in the worktree, and the commits
    are made with git's object machinery: the worktree, index, HEAD and
    branches are never changed.  When the tree lacks the macro the rule
    uses, patch 1 adds it.  Exit 0 when written (and checked), 1 when
    --check finds a problem, 2 on errors.

    \b
    Examples:
      kfuncfix series ~/linux -o outgoing/ --split subsystem --check
      kfuncfix series -o v2/ -v 2 --changes changes.txt --range-diff v1-branch
      kfuncfix apply --branch kfunc-tags && kfuncfix series --from-branch kfunc-tags -o out/
    """
    root = git_root(tree)
    opts = fill_defaults(ctx, opts, load_config(root, opts["config_path"]), CONFIG_KEYS)
    repo = open_repo(root)
    date = resolve_date(opts["date"])
    committer_ident(repo, opts["sender"], date)  # no identity: say so before any work
    _refuse_existing(opts["outdir"], opts["force"])
    rule = load_rule(opts["rule_name"])

    if opts["from_branch"]:
        series = read_branch(root, opts["from_branch"], opts["base"])
        cover = None
        if not series.commits:
            raise KfuncfixError(f"branch {opts['from_branch']} has no commits on {opts['base']}")
    else:
        built = build_from_rule(root, opts["rule_name"], opts["split"], opts["base"],
                                opts["sender"], date)
        if built is None:
            click.echo("kfuncfix: nothing to change; no series written", err=True)
            sys.exit(0)
        series, planned = built
        cover = planned.cover  # type: ignore[attr-defined]
    if opts["cover_from"]:
        cover = CoverLetter.from_file(opts["cover_from"])
    changelog = None
    if opts["changes_file"]:
        changelog = Path(opts["changes_file"]).read_text(encoding="utf-8")
    options = MailOptions(
        subject_prefix=opts["subject_prefix"] or rule.series.subject_prefix,
        reroll=opts["reroll_count"],
        cover=opts["cover"],
        cover_letter=cover,
        changelog=changelog,
        range_diff=opts["range_diff"],
        in_reply_to=opts["in_reply_to"],
        to=tuple(opts["to"]),
        cc=tuple(opts["cc"]),
        sender=Identity.parse(opts["sender"]) if opts["sender"] else None,
        date=date,
        force=opts["force"],
    )
    per_patch = (lambda path: recipients_for_patch(root, path)) if opts["maintainers"] else None
    files = write_series(series, opts["outdir"], options, per_patch)
    for path in files:
        click.echo(str(path))
    if not ctx.obj.get("quiet"):
        click.echo(f"kfuncfix: {len(series.commits)} patch(es) on {series.base[:12]} in "
                   f"{opts['outdir']}", err=True)
    if opts["check"]:
        report = check_series(root, files, series.base)
        print_check(report)
        sys.exit(0 if report.ok else 1)


def _refuse_existing(outdir: Path, force: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise KfuncfixError(f"{outdir} exists and is not a directory")
    if outdir.is_dir() and not force and any(outdir.glob("*.patch")):
        raise KfuncfixError(f"{outdir} already holds .patch files (use --force to replace them)")


def print_check(report: SeriesCheck) -> None:
    for patch in report.patches:
        if patch.is_cover:
            state = "cover letter" + ("" if not patch.problems else ": " + "; ".join(
                patch.problems))
        elif patch.applied is None:
            state = "not tried (an earlier patch failed)"
        elif not patch.applied:
            state = f"does not apply: {patch.apply_error}"
        else:
            cp = patch.checkpatch
            state = "applies" + ("" if cp is None else (
                f", checkpatch: {len(cp.errors)} errors, {len(cp.warnings)} warnings, "
                f"{len(cp.checks)} checks"))
        click.echo(f"  {'ok  ' if patch.ok else 'FAIL'} {patch.path.name}: {state}", err=True)
        for line in (patch.checkpatch.errors if patch.checkpatch else []):
            click.echo(f"       {line}", err=True)
    click.echo(f"kfuncfix: series check {'passed' if report.ok else 'FAILED'}", err=True)


COMMANDS = [series_command]
