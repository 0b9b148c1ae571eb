"""`kfuncfix rules`, `kfuncfix diff` and `kfuncfix apply`: run a rule over a tree."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from kfuncfix.cli import NO_CACHE
from kfuncfix.cli.buildopts import build_options, print_build, run_build
from kfuncfix.cli.planning import RULES, index_at, planned, report_plan
from kfuncfix.cli.tree import TREE
from kfuncfix.cli.values import a_revision
from kfuncfix.config import SPLITS
from kfuncfix.engine import DEFAULT_RULE, FileChange, list_rules
from kfuncfix.errors import KfuncfixError
from kfuncfix.interactive import review
from kfuncfix.model import TreeIndex
from kfuncfix.outputs.apply import ApplyResult, apply_changes
from kfuncfix.outputs.diff import diffstat, unified_diff
from kfuncfix.runreport import RunReport

PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
WITH_DEFINITION = click.option(
    "--with-definition", is_flag=True,
    help="Also add the macro definition the rule needs when the tree lacks it.",
)


def _ask(question: str) -> str:
    return str(click.prompt(question, prompt_suffix="", default="", show_default=False))


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def rules_command(fmt: str) -> None:
    """List the built-in rules, with what each one does.

    \b
    Use one with --rule NAME, or write your own TOML file (see rules/ in the
    source) and pass --rule path/to/rule.toml.
    """
    rules = list_rules()
    if fmt == "json":
        click.echo(json.dumps([{"name": r.name, "description": r.description,
                                "default": r.name == DEFAULT_RULE} for r in rules], indent=2))
        return
    width = max(len(r.name) for r in rules)
    for rule in rules:
        mark = " (default)" if rule.name == DEFAULT_RULE else ""
        click.echo(f"{rule.name:<{width}}  {rule.description}{mark}")


@click.command("diff")
@TREE
@PATHS
@RULES
@click.option("--stat", is_flag=True, help="Print a diffstat instead of the diff.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Color the diff (auto: when writing to a terminal).")
@WITH_DEFINITION
@NO_CACHE
def diff_command(tree: Path, paths: tuple[Path, ...], rule_names: tuple[str, ...], stat: bool,
                 color: str, with_definition: bool) -> None:
    """Print, as a git-style diff, what a rule would change in TREE (default: .).

    \b
    Nothing is written.  PATHs (relative to TREE) limit the files rewritten;
    discovery still reads the whole tree.  Exit 0 when every change could
    be made, 1 when some could not (they are listed on stderr), 2 on errors.

    \b
    Examples:
      kfuncfix diff ~/linux | git -C ~/linux apply --check
      kfuncfix diff --stat --rule bpf_kfunc_macro ~/linux net/netfilter
    """
    run = planned(tree, rule_names, paths)
    index, result = run.index, run.plan
    changes = result.changes(with_definition)
    if stat:
        output = diffstat(changes)
    else:
        painted = color == "always" or (color == "auto" and sys.stdout.isatty())
        output = unified_diff(changes, _modes(index, changes), painted)
    stdout = sys.stdout.buffer  # bytes as they are: the diff may hold non-UTF-8 lines
    stdout.write(output)
    stdout.flush()  # the diff before the remarks on stderr, when both reach a terminal
    report_plan(result, with_definition)
    _exit(RunReport().planned(index, result))


@click.command("apply")
@TREE
@PATHS
@RULES
@click.option("--force", is_flag=True,
              help="Write files even when git reports uncommitted changes in them or "
                   "they are read-only or hard-linked; with --branch, replace an existing "
                   "branch.")
@WITH_DEFINITION
@click.option("-i", "--interactive", is_flag=True,
              help="Review each change (y/n/a/q/?) before writing, as git add -p does.")
@click.option("--branch", metavar="NAME",
              help="Commit the rewrite to branch NAME (one commit per patch of the series) "
                   "instead of writing the worktree.")
@click.option("--base", default="HEAD", show_default=True, callback=a_revision,
              help="With --branch: the commit to build on (read as committed there).")
@click.option("--split", type=click.Choice(SPLITS), default="none", show_default=True,
              help="With --branch: one commit, one per MAINTAINERS section, or one per file.")
@click.option("--from", "sender", metavar="'NAME <EMAIL>'",
              help="With --branch: sign off as this identity.")
@click.option("--date", help="With --branch: commit date, for reproducible commits.")
@click.option("--b4", "b4", is_flag=True,
              help="With --branch: make it a `b4 prep` branch (cover letter commit first).")
@click.option("--b4-cc-trailers", is_flag=True,
              help="With --b4: Cc: trailers in each commit for its MAINTAINERS recipients.")
@build_options(cover=False)
@NO_CACHE
def apply_command(tree: Path, paths: tuple[Path, ...], rule_names: tuple[str, ...], force: bool,
                  with_definition: bool, interactive: bool, branch: str | None, base: str,
                  split: str, sender: str | None, date: str | None, b4: bool,
                  b4_cc_trailers: bool, **build_opts: Any) -> None:
    """Rewrite TREE (default: .) in place with a rule, or onto a branch.

    \b
    Each file is replaced atomically and keeps its mode (and owner and group
    where allowed).  A file with uncommitted changes (in a git tree), a
    read-only file and a hard-linked one are refused unless --force; a file
    reached through a symbolic link, or in a directory that cannot be
    written, is always refused; when any file is refused, none is written.
    With --branch, nothing in the worktree, index or HEAD changes: the
    commits are made from the tree as committed at --base, as `series` makes
    them (the macro definition first when the tree lacks it).
    Exit 0 when everything was rewritten, 1 when something was skipped or
    refused, 2 on errors.  A write that fails (disk full, Ctrl-C, SIGTERM)
    stops the run and lists the files written and not written; each holds
    its old or new bytes.

    \b
    Examples:
      kfuncfix apply ~/linux
      kfuncfix apply -i ~/linux net/netfilter
      kfuncfix apply --rule btf_kfuncs_set ~/linux kernel/bpf
      kfuncfix apply --branch kfunc-tags --split subsystem ~/linux
    """
    if interactive and not sys.stdin.isatty():
        raise KfuncfixError("--interactive needs a terminal on stdin; "
                            "use `kfuncfix diff` to review non-interactively")
    if (b4 or b4_cc_trailers) and not branch:
        raise click.UsageError("--b4 and --b4-cc-trailers need --branch NAME")
    if b4_cc_trailers and not b4:
        raise click.UsageError("--b4-cc-trailers goes with --b4")
    if b4 and date:
        raise click.UsageError("--b4 commits carry the current date (b4 looks for its cover "
                               "letter among the last year's commits): drop --date")
    if build_opts["build"] and not branch:
        raise KfuncfixError("--build compiles commits: use it with --branch")
    if branch:
        _exit(_apply_to_branch(tree, paths, rule_names, branch, base, split, sender, date,
                               force, interactive, b4, b4_cc_trailers, build_opts))
    run = planned(tree, rule_names, paths)
    index, result = run.index, run.plan
    if interactive:
        result = review(index, result, _ask, click.echo, sys.stdout.isatty())
    changes = result.changes(with_definition)
    outcome = apply_changes(Path(index.root), changes, force)
    for refusal in outcome.refused:
        click.echo(f"kfuncfix: refused {refusal}", err=True)
    for stale in outcome.removed:
        click.echo(f"kfuncfix: removed {stale}, left by an interrupted run", err=True)
    report_plan(result, with_definition)
    click.echo(outcome.summary(len(result.kfuncs), len(result.sets), len(result.already_done),
                               len(result.skipped)), err=True)
    report = RunReport().planned(index, result).fail(bool(outcome.refused))
    if outcome.failed is not None:
        _report_failure(outcome)
        report.stop = outcome.stop_status
    _exit(report)


def _exit(report: RunReport) -> NoReturn:
    """The one exit of these commands: the run's report decides (see kfuncfix.runreport)."""
    click.get_current_context().exit(report.return_code)
    raise AssertionError("unreachable")  # ctx.exit raises


def _report_failure(outcome: ApplyResult) -> None:
    """Which files a stopped apply wrote, by name: the tree is partly rewritten."""
    failed = outcome.failed
    assert failed is not None
    total = len(outcome.written) + len(outcome.unwritten)
    click.echo(f"kfuncfix: error: writing {failed.path} failed: {failed.reason}", err=True)
    click.echo(f"kfuncfix: stopped after writing {len(outcome.written)} of {total} files; "
               "each file holds either its old or its new contents", err=True)
    for path in outcome.written:
        click.echo(f"kfuncfix: written: {path}", err=True)
    for path in outcome.unwritten:
        click.echo(f"kfuncfix: not written: {path}", err=True)
    click.echo("kfuncfix: run the same command again to write the rest; "
               "`git checkout -- FILE...` undoes the written ones", err=True)


def _apply_to_branch(tree: Path, paths: tuple[Path, ...], rule_names: tuple[str, ...],
                     branch: str,
                     base: str, split: str, sender: str | None, date: str | None,
                     force: bool, interactive: bool, b4: bool = False,
                     b4_cc_trailers: bool = False,
                     build_opts: dict[str, Any] | None = None) -> RunReport:
    # The series machinery only when a branch is asked for: diff stays light.
    from kfuncfix.cli.series import git_root
    from kfuncfix.gitrun import branch_name
    from kfuncfix.outputs.gitseries import (
        build_series,
        check_branch_name,
        committer_ident,
        open_repo,
        resolve_date,
        update_branch,
    )
    from kfuncfix.series import plan_series

    root = git_root(tree)
    branch = branch_name(branch)  # `refs/heads/x` is branch x
    when = resolve_date(date)
    committer_ident(open_repo(root), sender, when)  # no identity: say so before any work
    check_branch_name(open_repo(root), branch)  # nor a name git would refuse
    run = planned(root, rule_names, paths, rev=base)
    index, result = run.index, run.plan
    if interactive:
        result = review(index, result, _ask, click.echo, sys.stdout.isatty())
    report = RunReport().planned(index, result)
    if not result.changes(with_definition=True):  # the definition alone is a change
        report_plan(result, True)
        click.echo("kfuncfix: nothing to change; no branch made", err=True)
        return report
    series_plan = plan_series(index, result, split, base)
    if b4:
        from kfuncfix.cli.b4 import b4_branch
        b4_branch(root, base, branch, series_plan, result.rule, sender, force, b4_cc_trailers)
        report_plan(result, True)
        return report
    series = build_series(root, base, series_plan.patches, sender=sender, date=when)
    # The commits exist as objects; the branch is made only once the build passed, so a
    # failed build leaves nothing behind and a rerun does not find the branch taken.
    build_ok = print_build(run_build(root, series.base, series.commits, build_opts or {},
                                     index_at(root, rule_names, run)))
    report_plan(result, True)
    if not build_ok:
        click.echo(f"kfuncfix: the build check failed: branch {branch} not made", err=True)
        return report.fail()
    ref = update_branch(series, branch, force=force)
    click.echo(f"{ref} at {series.tip[:12]}: {len(series.commits)} commit"
               f"{'s' if len(series.commits) != 1 else ''} on {series.base[:12]}", err=True)
    return report


def _modes(index: TreeIndex, changes: list[FileChange]) -> dict[str, int]:
    modes = {}
    for change in changes:
        try:
            modes[change.path] = os.stat(Path(index.root) / change.path).st_mode
        except OSError:
            continue
    return modes


COMMANDS = [rules_command, diff_command, apply_command]
