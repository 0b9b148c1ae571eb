"""Trust, round three (issue 18): what the tool adds, reads and hands to git.

* A tree already tagged by a plain `apply` still gets the macro's definition
  from `apply --with-definition` (and `diff`, `series`, `apply --branch`): the
  definition is needed because the tree uses the macro, not because this run
  changes a kfunc.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.sample import copy_sample_tree
from tests.conftest import git_init

DATE = "2024-01-01 00:00 +0000"
SENDER = "Test Sender <sender@example.org>"
IDENT = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENT, "-C", str(root), *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return git_init(copy_sample_tree(tmp_path_factory.mktemp("template") / "tree"))


@pytest.fixture
def sample(template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "tree"
    subprocess.run(["git", "clone", "-q", str(template), str(dest)], check=True)
    return dest


# -- 5: the definition of a macro the tree already uses ----------------------------


@pytest.fixture
def tagged(sample: Path) -> Path:
    """The sample tree after a plain `apply`, committed: tagged, and no definition."""
    done = run("apply", str(sample))
    assert done.exit_code == 0, done.output
    git(sample, "commit", "-q", "-am", "tag kfuncs")
    assert b"define __bpf_kfunc" not in (sample / "include/linux/btf.h").read_bytes()
    return sample


def test_apply_with_definition_on_a_tagged_tree_adds_the_definition(tagged: Path) -> None:
    done = run("apply", "--with-definition", str(tagged))
    assert done.exit_code == 0, done.output
    assert b"#define __bpf_kfunc" in (tagged / "include/linux/btf.h").read_bytes()
    assert "0 files changed" not in done.output
    # Once there, a second run has nothing left to add.
    again = run("apply", "--with-definition", str(tagged))
    assert again.exit_code == 0 and "0 files changed" in again.output


def test_plain_apply_on_a_tagged_tree_says_the_definition_is_missing(tagged: Path) -> None:
    done = run("apply", str(tagged))
    assert done.exit_code == 0
    assert "does not define __bpf_kfunc" in done.output


def test_diff_with_definition_on_a_tagged_tree(tagged: Path) -> None:
    done = run("diff", "--with-definition", str(tagged))
    assert done.exit_code == 0, done.output
    assert "+#define __bpf_kfunc" in done.output


def test_series_on_a_tagged_tree_is_the_definition_patch(tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("series", str(tagged), "-o", str(out), "--date", DATE, "--from", SENDER)
    assert done.exit_code == 0, done.output
    patches = sorted(out.glob("*.patch"))
    assert len(patches) == 1, patches
    assert "+#define __bpf_kfunc" in patches[0].read_text()


def test_apply_branch_on_a_tagged_tree_commits_the_definition(tagged: Path) -> None:
    done = run("apply", str(tagged), "--branch", "def", "--date", DATE, "--from", SENDER)
    assert done.exit_code == 0, done.output
    assert "#define __bpf_kfunc" in git(tagged, "show", "def:include/linux/btf.h")
    assert git(tagged, "rev-list", "--count", "master..def").strip() == "1"


def test_b4_branch_on_a_tagged_tree_commits_the_definition(tagged: Path) -> None:
    git(tagged, "config", "user.email", "test@example.invalid")
    git(tagged, "config", "user.name", "Test")
    done = run("apply", str(tagged), "--branch", "def", "--b4")
    assert done.exit_code == 0, done.output
    assert "#define __bpf_kfunc" in git(tagged, "show", "def:include/linux/btf.h")
