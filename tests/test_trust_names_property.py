"""Random file names, modes and sizes at `apply --branch` and `series --check`:
what lands in git is exactly the plan's edits, whatever the tree looks like.

Names with newlines, quotes, backslashes, leading dashes and non-UTF-8 bytes;
files that are executable, read-only, or symbolic links to other kfunc files;
kfunc files of a few lines or padded to many.  The branch must differ from
the base by exactly `git diff` of the planned changes written into a scratch
copy, and the series must pass its own check and touch the same files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfuncfix.cli import main
from kfuncfix.pipeline import Request, run_plan
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source

DATE = "2024-06-01T00:00:00Z"
BTF_H = b"#ifndef _BTF_H\n#define _BTF_H\n#define __bpf_kfunc __used noinline\n#endif\n"
ODD = ["\n", '"', "\\", " ", "-", "\u00e9", "\udcff", "\t", "'"]  # \udcff: the byte 0xff
ENV = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org",
       "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.org"}


@st.composite
def odd_files(draw: st.DrawFn) -> list[tuple[str, str, int]]:
    """(name, mode, padding lines) for 1 to 3 kfunc files."""
    files = []
    for i in range(draw(st.integers(1, 3))):
        odd = "".join(draw(st.lists(st.sampled_from(ODD), min_size=1, max_size=3)))
        lead = "-" if draw(st.booleans()) else ""
        name = f"kernel/{lead}k{i}{odd}x.c"
        mode = draw(st.sampled_from(["regular", "exec", "readonly", "symlink"]))
        files.append((name, mode, draw(st.sampled_from([0, 3, 2000]))))
    return files


def git(tree: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          env={**os.environ, **ENV}).stdout


def make_tree(root: Path, files: list[tuple[str, str, int]]) -> Path:
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/btf.h").write_bytes(BTF_H)
    (root / "Kconfig").touch()
    real = None
    for i, (name, mode, pad) in enumerate(files):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "symlink" and real is not None:
            os.symlink(os.path.basename(real), path)
            continue
        body = "".join(f"/* padding {n} */\n" for n in range(pad))
        body += f"\nint bpf_odd{i}(int a)\n{{\n\treturn a;\n}}\n"
        path.write_bytes(kfunc_source(body, [f"bpf_odd{i}"], f"odd{i}_ids").encode())
        os.chmod(path, {"exec": 0o755, "readonly": 0o444}.get(mode, 0o644))
        real = path
    return git_init(root)


def planned_diff(tree: Path, scratch: Path) -> bytes:
    """`git diff` of the plan's changes written into a scratch clone of the tree."""
    subprocess.run(["git", "clone", "-q", str(tree), str(scratch)], check=True)
    result = run_plan(Request(tree, ("bpf_kfunc_tag",), rev="HEAD")).plan
    for change in result.changes(with_definition=True):
        target = scratch / change.path
        mode = target.stat().st_mode
        target.chmod(0o644)
        target.write_bytes(change.new)
        target.chmod(mode & 0o7777)
    git(scratch, "add", "-A")
    return git(scratch, "diff", "--cached", "--binary", "HEAD")


@settings(max_examples=int(os.environ.get("NAME_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=odd_files())
def test_branch_and_series_carry_exactly_the_plan(files: list[tuple[str, str, int]],
                                                  tmp_path_factory) -> None:
    work = tmp_path_factory.mktemp("names")
    tree = make_tree(work / "tree", files)
    want = planned_diff(tree, work / "scratch")
    runner = CliRunner()
    made = runner.invoke(main, ["apply", "--branch", "tagged", "--date", DATE, str(tree)],
                         env=ENV)
    assert made.exit_code == 0, made.output
    assert git(tree, "diff", "--binary", "HEAD", "tagged") == want
    assert git(tree, "status", "--porcelain") == b""  # the worktree untouched

    out = work / "out"
    sent = runner.invoke(main, ["series", "--no-maintainers", "--check", "--date", DATE,
                                "-o", str(out), str(tree)], env=ENV)
    assert sent.exit_code == 0, sent.output
    patched = {p for patch in out.glob("0*.patch") if "cover-letter" not in patch.name
               for p in _paths(work, patch)}
    assert patched == set(git(tree, "diff", "-z", "--name-only", "HEAD", "tagged")
                          .split(b"\0")) - {b""}
    shutil.rmtree(work, ignore_errors=True)


def _paths(work: Path, patch: Path) -> set[bytes]:
    """The files a patch changes, as git reads them (quoted names decoded)."""
    out = subprocess.run(["git", "apply", "--numstat", "-z", str(patch)], cwd=work,
                         capture_output=True, check=True).stdout
    fields = [entry.split(b"\t", 2) for entry in out.split(b"\0")]
    return {f[2] for f in fields if len(f) == 3 and f[0].isdigit() and f[1].isdigit()}
