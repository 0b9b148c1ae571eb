"""`kfuncfix apply --branch NAME --b4`: the planned series as a branch b4 prep takes over."""

from __future__ import annotations

from pathlib import Path

import click

from kfuncfix.engine import Rule
from kfuncfix.outputs.b4branch import make_b4_branch, next_commands
from kfuncfix.outputs.listrules import MAX_PATCHES, RULE_SOURCE
from kfuncfix.series import SeriesPlan


def b4_branch(root: Path, base: str, name: str, planned: SeriesPlan, rule: Rule,
              sender: str | None, force: bool, cc_trailers: bool) -> None:
    """Make the branch and say what to run next."""
    target = rule.series.mailing_list
    made = make_b4_branch(root, base, name, planned.patches, planned.cover,
                          subject_prefix=rule.series.subject_prefix,
                          to=[target] if target else [], per_patch_cc=cc_trailers,
                          sender=sender, force=force)
    patches = len(made.series.commits) - 1
    click.echo(f"{made.ref} at {made.series.tip[:12]}: b4 cover letter and {patches} "
               f"patch{'es' if patches != 1 else ''} on {made.series.base[:12]} "
               f"(change-id {made.change_id})", err=True)
    if patches > MAX_PATCHES:
        # A branch is edited before it is sent: say so, without refusing.
        click.echo(f"kfuncfix: note: {patches} patches, more than the lists take at once "
                   f"({MAX_PATCHES}, {RULE_SOURCE}); try --split list or --split none",
                   err=True)
    click.echo("kfuncfix: next, in the tree:", err=True)
    for command in next_commands(name):
        click.echo(f"  {command}", err=True)
