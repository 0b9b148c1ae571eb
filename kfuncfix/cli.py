"""Command line: options in, library calls, printing out."""

import click


@click.group()
def cli() -> None:
    """kfuncfix: find and rewrite the kfuncs of a Linux kernel tree."""


def main() -> None:
    cli()
