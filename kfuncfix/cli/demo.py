"""`kfuncfix demo`: the whole job on the bundled sample tree, in one command."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from kfuncfix import gitrun
from kfuncfix.sample import copy_sample_tree

# Fixed identity and date: the demo writes the same series on every machine,
# which is how patches/demo/ in the repository is kept honest by a test.
DEMO_NAME = "Kfunc Fixer"
DEMO_EMAIL = "kfuncfix@example.org"
DEMO_DATE = "2024-01-01T12:00:00+00:00"


def make_sample_repo(dest: Path) -> Path:
    """The sample tree in dest as a git repository with one commit (fixed identity, date)."""
    copy_sample_tree(dest)
    env = dict(os.environ, GIT_AUTHOR_DATE=DEMO_DATE, GIT_COMMITTER_DATE=DEMO_DATE,
               GIT_AUTHOR_NAME=DEMO_NAME, GIT_AUTHOR_EMAIL=DEMO_EMAIL,
               GIT_COMMITTER_NAME=DEMO_NAME, GIT_COMMITTER_EMAIL=DEMO_EMAIL)
    for args in (["init", "-q", "-b", "master"], ["add", "-A"],
                 ["-c", "commit.gpgsign=false", "commit", "-q", "-m",
                  "Sample tree for kfuncfix"]):
        gitrun.run(dest, *args, env=env)
    return dest


def demo_series_args(tree: Path, outdir: Path) -> list[str]:
    return ["series", str(tree), "-o", str(outdir), "--split", "subsystem", "--check",
            "--force", "--from", f"{DEMO_NAME} <{DEMO_EMAIL}>", "--date", DEMO_DATE]


def _run(ctx: click.Context, args: list[str], shown: str) -> int:
    """Run one of our own commands as the user would type it; return its exit code."""
    click.echo(click.style(f"$ kfuncfix {shown}", bold=True))
    from kfuncfix.cli import main

    try:
        main.main(args, prog_name="kfuncfix", standalone_mode=False, obj=dict(ctx.obj))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:
        code = 0
    click.echo()
    return code


@click.command("demo")
@click.option("-o", "--output", "outdir", type=click.Path(path_type=Path),
              default=Path("patches/demo"), show_default=True,
              help="Where to leave the series (files of the same names are replaced; "
                   "others stay).")
@click.pass_context
def demo_command(ctx: click.Context, outdir: Path) -> None:
    """Run the whole job on the bundled sample kernel tree.

    \b
    Copies the sample tree (written for kfuncfix: include/linux/btf.h, kernel/bpf,
    net/netfilter, net/ipv4, a selftest module, MAINTAINERS) to a temporary
    git repository, then runs `list`, `diff --stat` and
    `series --split subsystem --check`, and leaves the series in DIR.
    """
    with tempfile.TemporaryDirectory(prefix="kfuncfix-demo-") as scratch:
        tree = make_sample_repo(Path(scratch) / "linux")
        click.echo(f"kfuncfix demo: sample tree in {tree} (a git repository, one commit)\n")
        _run(ctx, ["list", str(tree)], "list")
        _run(ctx, ["diff", "--stat", str(tree)], "diff --stat")
        code = _run(ctx, demo_series_args(tree, outdir),
                    f"series --split subsystem --check -o {outdir}")
    if code == 0:
        click.echo(f"The series is in {outdir}/: read the cover letter first, "
                   f"then try `kfuncfix list` on your own tree.")
    ctx.exit(code)


COMMANDS = [demo_command]
