"""The fetch/prepare scripts delete only what they made, and take VERSION as a version.

No network: the tarball is a small one made here and placed where the script
keeps its downloads (DEST/debs), so fetch goes straight to prepare.  Every test
works in its own tmp directory, never in the shared cache.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import FETCH, REPO

PREPARE = REPO / "scripts" / "prepare-linux-source.sh"


def script(path: Path, *args: str, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(path), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def fake_tarball(path: Path, version: str) -> Path:
    """linux-source-VERSION.tar.xz as Debian ships it: one top directory."""
    src = path.parent / f"src-{version}" / f"linux-source-{version}"
    (src / "kernel").mkdir(parents=True)
    (src / ".gitignore").write_text("*.o\n# Debian packaging: ignore everything\n/*\n")
    (src / "kernel" / "a.c").write_text("int a;\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:xz") as tar:
        tar.add(src, arcname=f"linux-source-{version}")
    return path


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    dest = tmp_path / "dest"
    fake_tarball(dest / "debs" / "linux-source-6.1.tar.xz", "6.1")
    return dest


def test_fetch_prepares_a_tree_from_the_kept_tarball(dest: Path) -> None:
    done = script(FETCH, "6.1", str(dest))
    assert done.returncode == 0, done.stderr
    tree = dest / "linux-source-6.1"
    assert done.stdout.splitlines()[-1] == str(tree)
    assert (tree / ".git" / "kfuncfix-ready").is_file()
    assert (tree / "kernel" / "a.c").read_text() == "int a;\n"
    assert not (dest / "linux-source-6.1.partial").exists()
    # Ready: a second run reuses it as it is.
    (tree / "kernel" / "mine.c").write_text("x")
    again = script(FETCH, "6.1", str(dest))
    assert again.returncode == 0 and (tree / "kernel" / "mine.c").exists()


@pytest.mark.parametrize("path", [FETCH, PREPARE])
def test_a_users_own_tree_is_never_deleted(dest: Path, path: Path) -> None:
    """A directory of that name the script did not make (no ready marker) stays."""
    mine = dest / "linux-source-6.1"
    (mine / "kernel").mkdir(parents=True)
    (mine / "kernel" / "work.c").write_text("uncommitted work\n")
    env = {"LINUX_SOURCE_TARBALL": str(dest / "debs" / "linux-source-6.1.tar.xz")}
    done = script(path, "6.1", str(dest), env=env)
    assert done.returncode == 2, done.stderr
    assert str(mine) in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (mine / "kernel" / "work.c").read_text() == "uncommitted work\n"
    assert not (dest / "linux-source-6.1.partial").exists()


@pytest.mark.parametrize("path", [FETCH, PREPARE])
def test_a_partial_directory_not_of_its_making_stays(dest: Path, path: Path) -> None:
    partial = dest / "linux-source-6.1.partial"
    partial.mkdir()
    (partial / "notes.txt").write_text("mine\n")
    env = {"LINUX_SOURCE_TARBALL": str(dest / "debs" / "linux-source-6.1.tar.xz")}
    done = script(path, "6.1", str(dest), env=env)
    assert done.returncode == 2, done.stderr
    assert str(partial) in done.stderr
    assert (partial / "notes.txt").read_text() == "mine\n"
    assert not (dest / "linux-source-6.1").exists()


def test_its_own_interrupted_partial_is_replaced(dest: Path) -> None:
    """A run stopped half way leaves a marked .partial; the next run starts it over."""
    partial = dest / "linux-source-6.1.partial"
    (partial / ".git").mkdir(parents=True)
    (partial / ".git" / "kfuncfix-partial").write_text("")
    (partial / "half.c").write_text("")
    done = script(FETCH, "6.1", str(dest))
    assert done.returncode == 0, done.stderr
    tree = dest / "linux-source-6.1"
    assert (tree / ".git" / "kfuncfix-ready").is_file()
    assert not (tree / "half.c").exists() and not partial.exists()
    assert not (tree / ".git" / "kfuncfix-partial").exists()


BAD_VERSIONS = ['6.1"', '6.1";\nDir::Etc "/tmp', "6", "6.1.2", "../6.1", "-6.1", "6.1 ",
                "6.1\n7.2", "", "a.b"]


@pytest.mark.parametrize("version", BAD_VERSIONS)
@pytest.mark.parametrize("args", [["--print-sources"], ["--candidate"], []],
                         ids=["print-sources", "candidate", "fetch"])
def test_fetch_takes_only_a_version(tmp_path: Path, version: str, args: list[str]) -> None:
    done = script(FETCH, *args, version, str(tmp_path / "dest"))
    assert done.returncode == 2, (version, done.stdout, done.stderr)
    assert "VERSION" in done.stderr or "usage" in done.stderr
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_prepare_takes_only_a_version(tmp_path: Path, version: str) -> None:
    done = script(PREPARE, version, str(tmp_path / "dest"),
                  env={"LINUX_SOURCE_TARBALL": "/nonexistent"})
    assert done.returncode == 2, (version, done.stdout, done.stderr)
    assert not (tmp_path / "dest").exists()


def test_print_sources_takes_a_good_version(tmp_path: Path) -> None:
    done = script(FETCH, "--print-sources", "6.1", str(tmp_path / "dest"))
    assert done.returncode == 0 and "bookworm" in done.stdout
