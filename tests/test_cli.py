"""The command group: every command is found, documented, and loaded lazily."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

from click.testing import CliRunner

import kfuncfix.cli as cli
from kfuncfix.cli import COMMAND_MODULES, main


def test_lazy_table_matches_the_modules():
    defined = {}
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"kfuncfix.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            defined[command.name] = info.name
    assert defined == COMMAND_MODULES


def test_every_command_has_help_with_examples_or_a_description():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    for name in COMMAND_MODULES:
        assert name in top.output
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert len(result.output.splitlines()) > 5, name


def test_list_does_not_load_git_machinery():
    code = ("import sys; from kfuncfix.cli import main; main.get_command(None, 'list'); "
            "print('git' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command" in result.output
