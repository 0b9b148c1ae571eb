"""`kfuncfix rules`, `kfuncfix diff` and `kfuncfix apply`: run a rule over a tree."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from kfuncfix.cli import global_flag
from kfuncfix.cli.buildopts import build_options, print_build, run_build
from kfuncfix.cli.tree import TREE, load_index
from kfuncfix.config import SPLITS, fill_defaults, load_config
from kfuncfix.engine import (
    DEFAULT_RULE,
    FileChange,
    Plan,
    changes_with_definition,
    list_rules,
    load_rule,
    plan,
)
from kfuncfix.errors import KfuncfixError
from kfuncfix.interactive import review
from kfuncfix.model import TreeIndex
from kfuncfix.outputs.apply import ApplyResult, apply_changes
from kfuncfix.outputs.diff import diffstat, unified_diff

PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
RULE = click.option(
    "--rule", "rule_name", default=DEFAULT_RULE, show_default=True, metavar="NAME|FILE",
    help="A built-in rule (see `kfuncfix rules`) or the path of a rule file (.toml).",
)
WITH_DEFINITION = click.option(
    "--with-definition", is_flag=True,
    help="Also add the macro definition the rule needs when the tree lacks it.",
)


def _ask(question: str) -> str:
    return click.prompt(question, prompt_suffix="", default="", show_default=False)


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
@RULE
@click.option("--stat", is_flag=True, help="Print a diffstat instead of the diff.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Color the diff (auto: when writing to a terminal).")
@WITH_DEFINITION
def diff_command(tree: Path, paths: tuple[Path, ...], rule_name: str, stat: bool, color: str,
                 with_definition: bool) -> None:
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
    index, result, changes = _plan(tree, paths, rule_name, with_definition)
    if stat:
        output = diffstat(changes)
    else:
        painted = color == "always" or (color == "auto" and sys.stdout.isatty())
        output = unified_diff(changes, _modes(index, changes), painted)
    stdout = sys.stdout.buffer  # bytes as they are: the diff may hold non-UTF-8 lines
    stdout.write(output)
    stdout.flush()  # the diff before the remarks on stderr, when both reach a terminal
    _report(result, with_definition)
    sys.exit(1 if result.skipped else 0)


@click.command("apply")
@TREE
@PATHS
@RULE
@click.option("--force", is_flag=True,
              help="Write files even when git reports uncommitted changes in them; "
                   "with --branch, replace an existing branch.")
@WITH_DEFINITION
@click.option("-i", "--interactive", is_flag=True,
              help="Review each change (y/n/a/q/?) before writing, as git add -p does.")
@click.option("--branch", metavar="NAME",
              help="Commit the rewrite to branch NAME (one commit per patch of the series) "
                   "instead of writing the worktree.")
@click.option("--base", default="HEAD", show_default=True,
              help="With --branch: the commit to build on (read as committed there).")
@click.option("--split", type=click.Choice(SPLITS), default="none", show_default=True,
              help="With --branch: one commit, one per MAINTAINERS section, or one per file.")
@click.option("--from", "sender", metavar="'NAME <EMAIL>'",
              help="With --branch: sign off as this identity.")
@click.option("--date", help="With --branch: commit date, for reproducible commits.")
@build_options(cover=False)
def apply_command(tree: Path, paths: tuple[Path, ...], rule_name: str, force: bool,
                  with_definition: bool, interactive: bool, branch: str | None, base: str,
                  split: str, sender: str | None, date: str | None, **build_opts) -> None:
    """Rewrite TREE (default: .) in place with a rule, or onto a branch.

    \b
    Each file is replaced atomically and keeps its mode.  In a git tree, a
    file with uncommitted changes is refused unless --force; a file reached
    through a symbolic link is always refused; when any file is refused,
    none is written.  With --branch, nothing in the worktree, index or HEAD
    changes: the commits are made from the tree as committed at --base, as
    `series` makes them (the macro definition first when the tree lacks it).
    Exit 0 when everything was rewritten, 1 when something was skipped or
    refused, 2 on errors.  A write that fails (disk full) stops the run and
    lists the files written and not written; each holds its old or new bytes.

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
    if build_opts["build"] and not branch:
        raise KfuncfixError("--build compiles commits: use it with --branch")
    if branch:
        _apply_to_branch(tree, paths, rule_name, branch, base, split, sender, date, force,
                         interactive, build_opts)
        return
    index, result, changes = _plan(tree, paths, rule_name, with_definition)
    if interactive:
        result = review(index, result, _ask, click.echo, sys.stdout.isatty())
        changes = (changes_with_definition(index, result) if with_definition
                   else list(result.files.values()))
    outcome = apply_changes(Path(index.root), changes, force)
    for refusal in outcome.refused:
        click.echo(f"kfuncfix: refused {refusal}", err=True)
    _report(result, with_definition)
    kfuncs, sets = len(result.kfuncs), len(result.sets)
    parts = [f"{len(outcome.written)} file{'s' if len(outcome.written) != 1 else ''} changed"]
    if kfuncs:
        parts.append(f"{kfuncs} kfunc{'s' if kfuncs != 1 else ''} rewritten")
    if sets:
        parts.append(f"{sets} set{'s' if sets != 1 else ''} renamed")
    if result.already_done:
        parts.append(f"{len(result.already_done)} already done")
    parts.append(f"{len(result.skipped)} skipped")
    if outcome.refused:
        parts.append(f"{len(outcome.refused)} refused")
    click.echo(", ".join(parts), err=True)
    if outcome.failed is not None:
        _report_failure(outcome)
        sys.exit(130 if outcome.failed.reason == "interrupted" else 2)
    sys.exit(1 if result.skipped or outcome.refused else 0)


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


def _apply_to_branch(tree: Path, paths: tuple[Path, ...], rule_name: str, branch: str,
                     base: str, split: str, sender: str | None, date: str | None,
                     force: bool, interactive: bool, build_opts: dict) -> None:
    # Git machinery (GitPython) only when a branch is asked for: diff stays light.
    from kfuncfix.cli.series import git_root
    from kfuncfix.outputs.gitseries import (
        build_series,
        committer_ident,
        open_repo,
        resolve_date,
        update_branch,
    )
    from kfuncfix.series import plan_series

    root = git_root(tree)
    when = resolve_date(date)
    committer_ident(open_repo(root), sender, when)  # no identity: say so before any work
    rule = load_rule(configured_rule(root, rule_name))
    index = load_index(root, rev=base)
    result = plan(index, rule, tree_paths(root, paths))
    if interactive:
        result = review(index, result, _ask, click.echo, sys.stdout.isatty())
    if not result.files:
        click.echo("kfuncfix: nothing to change; no branch made", err=True)
        sys.exit(0)
    planned = plan_series(index, result, split, base)
    series = build_series(root, base, planned.patches, sender=sender, date=when)
    ref = update_branch(series, branch, force=force)
    _report(result, True)
    click.echo(f"{ref} at {series.tip[:12]}: {len(series.commits)} commit"
               f"{'s' if len(series.commits) != 1 else ''} on {series.base[:12]}", err=True)
    build_ok = print_build(run_build(root, series.base, series.commits, build_opts))
    sys.exit(1 if result.skipped or not build_ok else 0)


def configured_rule(tree: Path, rule_name: str) -> str:
    """The --rule given, else the tree's .kfuncfix.toml `rule`, else the default."""
    ctx = click.get_current_context()
    if tree.is_dir():
        config = load_config(tree)
        return fill_defaults(ctx, {"rule_name": rule_name}, config, {"rule": "rule_name"})[
            "rule_name"]
    return rule_name


def _plan(tree: Path, paths: tuple[Path, ...], rule_name: str,
          with_definition: bool) -> tuple[TreeIndex, Plan, list[FileChange]]:
    rule = load_rule(configured_rule(tree, rule_name))
    index = load_index(tree)
    result = plan(index, rule, tree_paths(Path(index.root), paths))
    if with_definition:
        return index, result, changes_with_definition(index, result)
    return index, result, list(result.files.values())


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


def _modes(index: TreeIndex, changes: list[FileChange]) -> dict[str, int]:
    modes = {}
    for change in changes:
        try:
            modes[change.path] = os.stat(Path(index.root) / change.path).st_mode
        except OSError:
            continue
    return modes


def _report(result: Plan, with_definition: bool) -> None:
    """Skipped items always (they fail the run); notes unless --quiet."""
    for skip in result.skipped:
        click.echo(f"kfuncfix: skipped {skip}", err=True)
    if global_flag("quiet"):
        return
    for note in result.notes:
        click.echo(f"kfuncfix: note: {note}", err=True)
    definition = result.rule.definition
    if result.needs_definition and definition and not with_definition:
        click.echo(f"kfuncfix: note: this tree does not define {result.needs_definition}, "
                   f"which the changes use; add it to {definition.header} first "
                   "(or use --with-definition)", err=True)


COMMANDS = [rules_command, diff_command, apply_command]
