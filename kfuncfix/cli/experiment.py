"""`kfuncfix experiment`: which marker keeps which kfunc callable, per compiler."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kfuncfix.cli import global_flag
from kfuncfix.errors import KfuncfixError
from kfuncfix.experiment.run import Result


@click.command("experiment")
@click.argument("tree", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--file", "files", multiple=True, metavar="PATH",
              help="A kfunc file of TREE to measure (repeatable; default: a few chosen "
                   "from the tree's kfuncs: statics, unused parameters, address taken).")
@click.option("--marker", "markers", multiple=True, metavar="NAME=ATTRS",
              help="A marker to put on every kfunc (repeatable; default: none, __used, "
                   "noinline, __used noinline, __used __weak noinline, "
                   "visibility(\"hidden\"), optimize(\"O0\")).")
@click.option("--cc", "compilers", default="gcc,clang", show_default=True,
              help="Compilers, comma-separated (Debian's clang-N by name).")
@click.option("--no-probe", is_flag=True, help="Leave out the bundled probe file.")
@click.option("--budget", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop starting compiles after this long; the rest are `not-run`.")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the prepared Kbuild directories live (default: the user's cache).")
@click.option("--mode", type=click.Choice(["object", "lto"]), default="object",
              show_default=True,
              help="object: each file compiled alone; lto: the probe linked into a clang "
                   "ThinLTO vmlinux of TREE, relinked per marker (long: about 20 min for "
                   "the first marker on 2 cores, then 2-3 min each).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json", "csv"]),
              default="markdown", show_default=True, help="Output format.")
def experiment(tree: Path | None, files: tuple[str, ...], markers: tuple[str, ...],
               compilers: str, no_probe: bool, budget: float | None, build_dir: Path | None,
               mode: str, fmt: str) -> None:
    """Compile kfunc files under each marker and compiler; judge each kfunc's BTF.

    \b
    For each kfunc: in BTF with the source's prototype (ok), gone, only a
    .isra/.constprop clone, in BTF under its name while only a clone exists,
    DW_CC_nocall or a parameter folded to a constant (BTF describes it
    wrongly), a parameter without a DWARF location, or a compile error.
    Without TREE only the bundled probe (eight kfunc shapes) is compiled,
    with `cc -O2 -g -c` and kernel-like flags: no kernel tree needed.  With
    TREE, its files are compiled through its own Kbuild (a prepared
    allnoconfig + BPF/BTF build directory, cached), replaying Kbuild's
    command line with the marker.  `--mode lto` links the probe into a
    clang ThinLTO vmlinux of TREE instead (same configuration plus
    CONFIG_LTO_CLANG_THIN), relinked per marker, and adds resolve_btfids'
    warnings.  Exit 1 when the budget cut the run short.

    \b
    Examples:
      kfuncfix experiment
      kfuncfix experiment --cc gcc,clang-16 --format csv
      kfuncfix experiment ~/linux --file net/ipv4/tcp_cubic.c --budget 600
      kfuncfix experiment ~/linux --mode lto --cc clang-16 --marker none= \
          --marker 'noinline=noinline' --marker 'kfunc=__used noinline'
    """
    from kfuncfix.cli.planning import StatusLine
    from kfuncfix.experiment import compilers as cc
    from kfuncfix.experiment.markers import default_markers, parse_marker
    from kfuncfix.experiment.probe import ProbeTarget
    from kfuncfix.experiment.render import to_csv, to_json, to_markdown
    from kfuncfix.experiment.run import Target, run_matrix

    if not tree and files:
        raise KfuncfixError("--file names files of a kernel tree: give TREE")
    if no_probe and not tree:
        raise KfuncfixError("--no-probe leaves nothing to measure without TREE")
    if mode == "lto" and (tree is None or files or no_probe):
        raise KfuncfixError("--mode lto links the probe into TREE's vmlinux: give TREE, "
                            "without --file or --no-probe")
    chosen_markers = [parse_marker(m) for m in markers] or default_markers()
    result = Result()
    found = []
    for name in dict.fromkeys(n.strip() for n in compilers.split(",") if n.strip()):
        compiler = cc.find(name)
        if compiler is None:
            line = f"{name}: not installed (Debian package {cc.package_for(name)}); skipped"
            click.echo(f"kfuncfix: {line}", err=True)
            result.notes.append(line)
        else:
            found.append(compiler)
    if not found:
        raise KfuncfixError(f"--cc {compilers}: none of these compilers is installed")
    status = StatusLine(enabled=sys.stderr.isatty() and not global_flag("quiet"))
    try:
        targets: list[Target] = [] if no_probe or mode == "lto" else [ProbeTarget()]
        if mode == "lto" and tree is not None:
            from kfuncfix.experiment.lto import run_lto

            run_lto(tree, found, chosen_markers, build_dir, budget, status, result)
        elif tree is not None:
            from kfuncfix.experiment.realtree import tree_runs

            for compiler, tree_targets in tree_runs(tree, list(files), found, build_dir,
                                                    status, result):
                run_matrix(tree_targets, [compiler], chosen_markers, _left(budget, result),
                           status, result)
        if targets:
            run_matrix(targets, found, chosen_markers, _left(budget, result), status, result)
    finally:
        status.clear()
    render = {"json": to_json, "csv": to_csv}.get(fmt, to_markdown)
    click.echo(render(result).rstrip("\n"))
    if not result.complete:
        click.get_current_context().exit(1)


def _left(budget: float | None, result: Result) -> float | None:
    """What the budget leaves after the runs so far."""
    return None if budget is None else max(0.0, budget - result.seconds)


COMMANDS = [experiment]
