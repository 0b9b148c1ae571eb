"""Command line: options in, library calls, printing out; nothing else.

Each command group lives in its own module of this package and is
registered on the `main` group below.  Exit codes: 0 done or clean,
1 findings or partial result, 2 usage or environment error.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import click

from kfuncfix import __version__
from kfuncfix.errors import KfuncfixError

# Command name -> module of this package defining it (in its COMMANDS list).
# Modules are imported only when their command runs: `kfuncfix list` need not
# load the series, mail and build machinery.  tests/test_cli.py checks this table.
COMMAND_MODULES = {
    "list": "tree",
    "check": "tree",
    "rules": "rewrite",
    "diff": "rewrite",
    "apply": "rewrite",
    "series": "series",
    "audit": "audit",
    "demo": "demo",
    "experiment": "experiment",
}


def global_flag(name: str) -> bool:
    """A flag of the `kfuncfix` group (quiet, verbose, debug) seen from any command."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.obj and ctx.obj.get(name))


def _no_cache(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)["no_cache"] = True


# On every command that reads a tree's kfuncs: read as `global_flag("no_cache")`.
NO_CACHE = click.option(
    "--no-cache", is_flag=True, expose_value=False, callback=_no_cache,
    help="Read and scan every file again instead of using the index cache "
         "(~/.cache/kfuncfix/index; also KFUNCFIX_NO_CACHE=1).",
)


class KfuncfixGroup(click.Group):
    """Loads commands lazily; turns our errors into one line and exit 2 (no traceback)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        commands: list[click.Command] = importlib.import_module(
            f"{__name__}.{module}").COMMANDS
        return next(c for c in commands if c.name == cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KfuncfixError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"kfuncfix: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            # `kfuncfix list | head`: the reader left; that is not an error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            where = f" {exc.filename}" if exc.filename else ""
            click.echo(f"kfuncfix: error:{where}: {exc.strerror or exc}", err=True)
            ctx.exit(2)


@click.group(cls=KfuncfixGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kfuncfix")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False),
    help="Run as if kfuncfix was started in DIR (as git -C).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only findings and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print warnings and progress details.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(
    ctx: click.Context, directory: str | None, quiet: bool, verbose: bool, debug: bool
) -> None:
    """Find every kfunc of a Linux kernel tree and rewrite its definitions.

    \b
    Examples:
      kfuncfix list                 every kfunc of the tree in .
      kfuncfix check ~/linux        lint: untagged kfuncs, exit 1 if any
      kfuncfix diff --stat          what the default rule would change
      kfuncfix demo                 the whole job on the bundled sample tree
    """
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise click.UsageError(f"cannot change to {directory}: {exc.strerror}") from exc
    ctx.ensure_object(dict)
    ctx.obj.update(quiet=quiet, verbose=verbose, debug=debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
