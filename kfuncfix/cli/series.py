"""`kfuncfix series`: the rewrite as a `git format-patch` series, ready to mail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from kfuncfix.cli import NO_CACHE, global_flag
from kfuncfix.cli.buildopts import build_options, print_build, run_build
from kfuncfix.cli.planning import RULES, index_at, load_index, planned
from kfuncfix.cli.values import a_range, a_revision
from kfuncfix.config import SPLITS, fill_defaults
from kfuncfix.engine import Plan
from kfuncfix.errors import KfuncfixError
from kfuncfix.gitrun import work_tree
from kfuncfix.mailheaders import check_address, check_message_id
from kfuncfix.outputs.checkseries import PatchCheck, SeriesCheck, check_series
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
from kfuncfix.outputs.listrules import (
    MAX_PATCHES,
    check_patch_count,
    link_trailer,
    patch_counts,
    with_trailers,
)
from kfuncfix.outputs.maintainers import (
    Recipients,
    has_get_maintainer,
    has_maintainers,
    recipients_for_patch,
    worktree_script_note,
)
from kfuncfix.pipeline import Planned, Request, rules_of, run_plan
from kfuncfix.runreport import RunReport
from kfuncfix.series import (
    SeriesPlan,
    expected_findings,
    plan_series,
    read_maintainers,
    series_cover,
)
from kfuncfix.snapshot import at_revision
from kfuncfix.userfiles import read_small_text
from kfuncfix.words import plural

CONFIG_KEYS = {"subject_prefix": "subject_prefix", "split": "split", "to": "to", "cc": "cc"}


def git_root(tree: Path) -> Path:
    """The tree as a git work tree root; exit 2 with a clear line when it is not one."""
    if not tree.is_dir():
        raise KfuncfixError(f"{tree}: no such directory")
    # The one "is this a work tree" check (git's own error when it refuses the repository).
    top = work_tree(tree)
    if top is None:
        raise KfuncfixError(f"{tree} is not a git repository")
    if top != tree.resolve():
        raise KfuncfixError(f"{tree}: not the top of a git work tree (that is {top})")
    return top


def build_from_plan(tree: Path, run: Planned, split: str, base: str, sender: str | None,
                    date: str | None, history: bool = True, max_patches: int | None = None,
                    trailers: Sequence[str] = (), split_docs: bool = False
                    ) -> tuple[Series, SeriesPlan] | None:
    """Commits for the plan (made at `base`) on top of base; None when it changes nothing."""
    result = run.plan
    # As diff and apply do: what the rule could not change is not silently left out.
    for skip in result.skipped:
        click.echo(f"kfuncfix: skipped {skip}", err=True)
    if not result.changes(with_definition=True):  # the definition alone is a change
        return None
    planned_series = plan_series(run.index, result, split, base, history, split_docs)
    if max_patches is not None:
        counts = patch_counts(read_maintainers(tree, run.index.rev), list(result.files),
                              len(planned_series.patches) - len(planned_series.groups))
        check_patch_count(len(planned_series.patches), max_patches, counts)
    planned_series.patches = [with_trailers(p, trailers) for p in planned_series.patches]
    series = build_series(tree, base, planned_series.patches, sender=sender, date=date)
    return series, planned_series


def branch_cover(result: Plan, series: Series) -> CoverLetter | None:
    """The rule's cover letter for the files a branch changes; None if it changes none.

    The branch may have been edited by hand, so the plan is made on the base,
    limited to the files the branch touches.
    """
    return series_cover(result, len(series.commits)) if result.files else None


@click.command("series")
@click.argument("tree", default=".", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", type=click.Path(path_type=Path), required=True,
              help="Directory for the patch files (created if missing).")
@RULES
@click.option("--split", type=click.Choice(SPLITS), default="none", show_default=True,
              help="One patch for the tree, one per MAINTAINERS section, one per mailing "
                   "list (sections grouped by their L: list), or one per file.")
@click.option("--split-docs", is_flag=True,
              help="The macro's documentation in a patch of its own after its definition "
                   "(default: with it, in patch 1), for the documentation maintainers.")
@click.option("--max-patches", type=click.IntRange(1), default=MAX_PATCHES, show_default=True,
              metavar="N", help="Refuse a series of more than N patches (the lists' limit).")
@click.option("--recipients", type=click.Choice(["per-patch", "all"]), default="per-patch",
              show_default=True,
              help="Each patch to its own MAINTAINERS recipients, or every patch to all of "
                   "them (as b4 sends); the rule's list gets every patch either way.")
@click.option("--link", metavar="URL", multiple=True,
              help="Add a Link: trailer to the discussion to each commit (repeatable: "
                   "the report of the failure, the earlier versions).")
@click.option("--base", default="HEAD", show_default=True, callback=a_revision,
              help="Commit the series applies to; the rewrite reads the tree as committed there.")
@click.option("--subject-prefix", default=None,
              help="Subject prefix, default from the rule (e.g. 'PATCH bpf-next').")
@click.option("-v", "--reroll-count", type=click.IntRange(1), default=None,
              help="Mark the series as version N: [PATCH v2 ...].")
@click.option("--cover/--no-cover", default=None,
              help="Cover letter (default: with more than one patch, or with --cover-from).")
@click.option("--cover-from", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Cover letter text: subject on the first line, body after a blank line.")
@click.option("--changes", "changes_file",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Changelog since the previous version (v2 and later).")
@click.option("--range-diff", metavar="REV", callback=a_range,
              help="Range-diff against the previous version.")
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
              help="Mail the commits of branch NAME (from `apply --branch`, perhaps edited) "
                   "instead of rewriting; the cover letter is the rule's for its files.")
@click.option("--check", is_flag=True,
              help="Prove the series: git am on a scratch worktree, the tree's checkpatch.pl "
                   "--strict and kernel-doc -none on what each patch adds (findings the "
                   "old lines had already are not counted), mail parse. The macro-shape "
                   "findings the definition patch explains do not fail it.")
@click.option("--force", is_flag=True,
              help="Replace files of the names the series writes (others always stay).")
@click.option("--config", "config_path", type=click.Path(exists=True, path_type=Path),
              help="Settings file (default: TREE/.kfuncfix.toml).")
@build_options(cover=True)
@NO_CACHE
@click.pass_context
def series_command(ctx: click.Context, /, tree: Path, **opts: Any) -> None:
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
    # The settings of the tree the series is made from: .kfuncfix.toml as committed at base.
    base_tree = at_revision(root, opts["base"])
    opts = fill_defaults(ctx, opts, base_tree.config(opts["config_path"]), CONFIG_KEYS)
    repo = open_repo(root)
    date = resolve_date(opts["date"])
    committer_ident(repo, opts["sender"], date)  # no identity: say so before any work
    _refuse_existing(opts["outdir"], opts["force"])
    # Values that end up in headers and trailers: refused before any work is done
    # (write_series checks them again as the last line of defence).
    for key in ("to", "cc"):
        for address in opts[key]:
            check_address(address, f"--{key}")
    if opts["in_reply_to"] is not None:
        check_message_id(opts["in_reply_to"], "--in-reply-to")
    for url in opts["link"]:
        link_trailer(url)
    rule_names = tuple(opts["rule_names"])
    rule = rules_of(Request(root, rule_names, rev=opts["base"], config=opts["config_path"]))[0]

    cover_wanted = opts["cover"]
    if opts["cover_from"] and cover_wanted is None:
        cover_wanted = True  # a cover letter supplied is a cover letter wanted
    cover = CoverLetter.from_file(opts["cover_from"]) if opts["cover_from"] else None
    run: Planned | None = None
    if opts["from_branch"]:
        if opts["link"]:
            raise KfuncfixError("--link adds a trailer to the commits kfuncfix makes; "
                                "with --from-branch, add it to the branch's commits")
        series = read_branch(root, opts["from_branch"], opts["base"])
        if cover is None and series.cover_message is not None:
            cover = CoverLetter.from_text(series.cover_message, f"{series.cover_commit}")
            cover_wanted = True if cover_wanted is None else cover_wanted
        wants_cover = cover_wanted if cover_wanted is not None else len(series.commits) > 1
        # Planned at the base for the files the branch touches, as git names them:
        # a file the branch adds (absent at the base and perhaps in the worktree)
        # is simply not there to rewrite.
        scope = tuple(sorted({p for c in series.commits for p in c.paths}))
        run = run_plan(Request(root, rule_names, scope, series.base, config=opts["config_path"]),
                       load_index)
        if wants_cover and cover is None:
            cover = branch_cover(run.plan, series)
            if cover is None:
                raise KfuncfixError(
                    f"rule {rule.name} changes none of the files of branch "
                    f"{opts['from_branch']}: give --cover-from FILE or --no-cover")
    else:
        run = planned(root, rule_names, rev=opts["base"], config=opts["config_path"])
        trailers = [link_trailer(url) for url in opts["link"]]
        built = build_from_plan(root, run, opts["split"], opts["base"], opts["sender"],
                                date, max_patches=opts["max_patches"], trailers=trailers,
                                split_docs=opts["split_docs"])
        if built is None:
            click.echo("kfuncfix: nothing to change; no series written", err=True)
            ctx.exit(RunReport().planned(run.index, run.plan).return_code)
        series, series_plan = built
        cover = cover or series_plan.cover
    build = run_build(root, series.base, series.commits, opts,  # --build: before the cover
                      index_at(root, rule_names, run, opts["config_path"]))
    if build is not None and opts["cover_build_report"] and cover is not None:
        cover = cover.with_paragraph(build.cover_paragraph())
    changelog = None
    if opts["changes_file"]:
        changelog = read_small_text(opts["changes_file"], "the changelog (--changes)")
    options = MailOptions(
        subject_prefix=opts["subject_prefix"] or rule.series.subject_prefix,
        reroll=opts["reroll_count"],
        cover=cover_wanted,
        cover_letter=cover,
        changelog=changelog,
        range_diff=opts["range_diff"],
        in_reply_to=opts["in_reply_to"],
        # The target tree's list takes every patch, whoever MAINTAINERS names.
        to=tuple(dict.fromkeys([*opts["to"], *([rule.series.mailing_list]
                                               if rule.series.mailing_list else [])])),
        cc=tuple(opts["cc"]),
        recipients_all=opts["recipients"] == "all",
        sender=Identity.parse(opts["sender"]) if opts["sender"] else None,
        date=date,
        force=opts["force"],
    )
    files = write_series(series, opts["outdir"], options,
                         _per_patch(root, opts["maintainers"], series.base))
    for path in files:
        click.echo(str(path))
    if not global_flag("quiet"):
        click.echo(f"kfuncfix: {plural(len(series.commits), 'patch')} on {series.base[:12]} in "
                   f"{opts['outdir']}", err=True)
    if opts["check"]:
        report = check_series(root, files, series.base, expected=expected_findings(rule))
        print_check(report)
    build_ok = print_build(build)
    # Skipped targets and unreadable files count as in diff, apply and --branch: a
    # series that leaves planned kfuncs out is not done (kfuncfix.runreport).
    outcome = RunReport().fail(not build_ok)
    if opts["check"]:
        outcome.fail(not report.ok)
    if run is not None and not opts["from_branch"]:
        outcome.planned(run.index, run.plan)
    ctx.exit(outcome.return_code)


def _per_patch(root: Path, wanted: bool, base: str) -> Callable[[Path], Recipients] | None:
    """Recipients of each patch file from MAINTAINERS, when asked for and the tree has one.

    As the rest of the series, from the tree as committed at base: the script too.
    """
    if not wanted:
        return None
    if not has_get_maintainer(root, base) and not has_maintainers(root, base):
        click.echo(f"kfuncfix: note: {root} has no MAINTAINERS: the patches go only to "
                   "--to/--cc", err=True)
        return None
    note = worktree_script_note(root, base)
    if note:
        click.echo(f"kfuncfix: note: {note}", err=True)
    return lambda path: recipients_for_patch(root, path, base)


def _refuse_existing(outdir: Path, force: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise KfuncfixError(f"{outdir} exists and is not a directory")
    # Which files would be replaced is known once git has named them: write_series
    # refuses then, before anything is written (only those names, as git format-patch -o).


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
            state = "applies" + _findings_summary(patch)
        click.echo(f"  {'ok  ' if patch.ok else 'FAIL'} {patch.path.name}: {state}", err=True)
        for line in ([] if patch.is_cover else patch.problems):
            click.echo(f"       {line}", err=True)
        cp = patch.checkpatch
        for line in [*(cp.errors if cp else []), *(cp.warnings if cp else []),
                     *(cp.checks if cp else [])]:
            click.echo(f"       {line}", err=True)
        for line in (cp.expected if cp else []):
            click.echo(f"       expected: {line}", err=True)
        for line in patch.kernel_doc or []:
            click.echo(f"       kernel-doc: {line}", err=True)
    click.echo(f"kfuncfix: series check {'passed' if report.ok else 'FAILED'}", err=True)


def _findings_summary(patch: PatchCheck) -> str:
    """`, checkpatch --strict: 0 new errors, 0 new warnings, 0 new checks (...)`."""
    cp = patch.checkpatch
    text = ""
    if cp is not None:
        text += (f", checkpatch --strict: {plural(len(cp.errors), 'new error')}, "
                 f"{plural(len(cp.warnings), 'new warning')}, "
                 f"{plural(len(cp.checks), 'new check')}")
        extra = []
        if cp.expected:
            extra.append(f"{len(cp.expected)} expected, explained in the commit message")
        if cp.inherited:
            extra.append(f"{len(cp.inherited)} on lines that had them before")
        if extra:
            text += f" ({'; '.join(extra)})"
    if patch.kernel_doc is not None:
        text += f", kernel-doc: {plural(len(patch.kernel_doc), 'new warning')}"
    return text


COMMANDS = [series_command]
