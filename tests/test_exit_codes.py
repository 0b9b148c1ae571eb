"""The README's exit-code table, command by command (kfuncfix.runreport owns the code).

0 done or clean; 1 findings, or something planned that was not done (a skipped
target, a file that could not be read, a failed check); 2 usage or environment errors.
Skipped targets and unreadable files count the same in every command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kfuncfix.cli import main
from kfuncfix.treefiles import TreeFiles
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, small_tree

IDENT = ["--from", "Test Person <test@example.org>", "--date", "2024-01-01 00:00 +0000"]
TAGGED = kfunc_source("\n__bpf_kfunc int f(int x)\n{\n\treturn x;\n}\n", ["f"], "t_ids")
UNTAGGED = kfunc_source("\nnoinline int u(int x)\n{\n\treturn x;\n}\n", ["u"], "u_ids")
# f cannot be rewritten (an inline definition): a skipped target; g can.
SKIPPING = kfunc_source("\nstatic inline int s(void)\n{\n\treturn 0;\n}\n\nvoid g(void)\n{\n}\n",
                        ["s", "g"], "s_ids")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def tree_of(tmp_path: Path, files: dict[str, str]) -> Path:
    return git_init(small_tree(tmp_path / "linux", {"include/linux/btf.h":
                                                    "#define __bpf_kfunc __used noinline\n",
                                                    **files}))


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return tree_of(tmp_path, {"kernel/t.c": TAGGED})


@pytest.fixture
def untagged(tmp_path: Path) -> Path:
    return tree_of(tmp_path, {"kernel/t.c": TAGGED, "kernel/u.c": UNTAGGED})


@pytest.fixture
def skipping(tmp_path: Path) -> Path:
    return tree_of(tmp_path, {"kernel/s.c": SKIPPING})


def series_args(tree: Path) -> list[str]:
    return ["series", str(tree), "-o", str(tree.parent / "out"), *IDENT, "--force"]


def branch_args(tree: Path) -> list[str]:
    return ["apply", str(tree), "--branch", "kf", *IDENT]


# -- 0: done or clean ----------------------------------------------------------------------

@pytest.mark.parametrize("command", ["list", "check", "diff", "apply"])
def test_clean_tree_is_0(clean: Path, command: str) -> None:
    result = run(command, str(clean))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["diff", "apply", "branch", "series"])
def test_done_is_0(untagged: Path, command: str) -> None:
    args = {"branch": branch_args(untagged), "series": series_args(untagged)}.get(
        command, [command, str(untagged)])
    result = run(*args)
    assert result.exit_code == 0, result.output


# -- 1: findings, or planned but not done -----------------------------------------------------

def test_check_findings_are_1(untagged: Path) -> None:
    assert run("check", str(untagged)).exit_code == 1
    assert run("check", "--git", "HEAD", str(untagged)).exit_code == 1


@pytest.mark.parametrize("command", ["diff", "apply", "branch", "series"])
def test_skipped_targets_are_1_in_every_output(skipping: Path, command: str) -> None:
    args = {"branch": branch_args(skipping), "series": series_args(skipping)}.get(
        command, [command, str(skipping)])
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.count("kfuncfix: skipped kernel/s.c:5: s: inline definition") == 1


@pytest.mark.parametrize("command", ["list", "check", "diff", "apply", "branch", "series"])
def test_unreadable_files_are_1_in_every_command(
        untagged: Path, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_read = TreeFiles.read

    def failing_read(self: TreeFiles, rel: str) -> bytes:
        if rel == "kernel/t.c":
            raise PermissionError(13, "Permission denied", rel)
        return real_read(self, rel)

    monkeypatch.setattr(TreeFiles, "read", failing_read)
    args = {"branch": branch_args(untagged), "series": series_args(untagged)}.get(
        command, [command, str(untagged)])
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "the result below is incomplete" in result.stderr


# -- 2: usage and environment errors ----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["list", "{tmp}/nowhere"],
    ["check", "--rule", "no_such_rule", "{tree}"],
    ["diff", "--rule", "no_such_rule", "{tree}"],
    ["apply", "--branch", "-x", "{tree}"],
    ["check", "--git", "--output=/tmp/x", "{tree}"],
    ["check", "--git", "--output={tmp}/x..HEAD", "{tree}"],
    ["series", "{tmp}/nowhere", "-o", "{tmp}/out"],
])
def test_usage_and_environment_errors_are_2(clean: Path, tmp_path: Path,
                                            args: list[str]) -> None:
    result = run(*[a.replace("{tree}", str(clean)).replace("{tmp}", str(tmp_path))
                   for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("x*"))  # no value reached git as an option
