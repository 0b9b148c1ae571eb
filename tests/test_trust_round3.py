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


# -- 8: no value of a user reaches git as an option ----------------------------------

HOSTILE = ["--output={sent}/out", "-x", "--exec=touch {sent}/exec", "-o{sent}/dir"]
# Every option whose value reaches a git command line (a revision, a range, a branch,
# a path, a date) or a commit (a trailer, an address); `=` attaches the value, so
# click takes it as the option's even when it looks like an option itself.
GIT_OPTIONS = [
    ("check", "--git"),
    ("series -o {out}", "--base"),
    ("series -o {out} -v2", "--range-diff"),
    ("series -o {out}", "--from-branch"),
    ("series -o {out}", "--link"),
    ("series -o {out}", "--in-reply-to"),
    ("series -o {out}", "--to"),
    ("series -o {out}", "--cc"),
    ("series -o {out}", "--from"),
    ("series -o {out}", "--date"),
    ("series -o {out} -v2", "--changes"),
    ("series -o {out} --cover", "--cover-from"),
    ("series -o {out} --build", "--build-dir"),
    ("series -o {out}", "--config"),
    ("apply", "--branch"),
    ("apply --branch b", "--base"),
    ("apply --branch b", "--date"),
    ("apply --branch b", "--from"),
    ("apply --branch b --build", "--build-dir"),
    ("apply --branch b --build", "--build-config"),
]


def one_line_error(output: str) -> bool:
    errors = [ln for ln in output.splitlines() if "error" in ln.lower()]
    return "Traceback" not in output and len(errors) == 1


@pytest.fixture(scope="module")
def target(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clone for every refused run (a refused run writes nothing: checked)."""
    dest = tmp_path_factory.mktemp("target") / "tree"
    subprocess.run(["git", "clone", "-q", str(template), str(dest)], check=True)
    git(dest, "config", "user.email", "test@example.invalid")
    git(dest, "config", "user.name", "Test")
    return dest


@pytest.mark.parametrize(("command", "option"), GIT_OPTIONS,
                         ids=[f"{c.split()[0]}{o}" for c, o in GIT_OPTIONS])
def test_option_like_values_never_reach_git(target: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, command: str,
                                            option: str) -> None:
    for n, value in enumerate(HOSTILE):
        sent = tmp_path / f"sentinel{n}"
        sent.mkdir()
        monkeypatch.chdir(sent)  # a relative `-x` would land here
        out = tmp_path / f"out{n}"
        args = [*command.format(out=out).split(), f"{option}={value.format(sent=sent)}",
                str(target)]
        done = run(*args)
        assert done.exit_code == 2, (args, done.output)
        assert one_line_error(done.output), done.output
        assert list(sent.iterdir()) == [], f"{args}: a file was made from an option value"
        assert not out.exists() or list(out.iterdir()) == []
        assert git(target, "status", "--porcelain") == ""
        assert git(target, "branch", "--list", "b") == ""
