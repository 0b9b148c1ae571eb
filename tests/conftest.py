"""Shared fixtures: small trees written by the tests, and Debian's real kernels.

Real trees come from Debian's linux-source-6.1 and linux-source-6.12 packages
(tarballs under /usr/src), extracted once into a cache outside the repository
by scripts/prepare-linux-source.sh and made a git repository with one commit.
Tests must never write into the cached trees: use `realtree_worktree` for that.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KFUNCFIX_TEST_CACHE", "/var/tmp/kfuncfix-cache"))


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text or bytes) under root; return root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def git_init(root: Path) -> Path:
    """Make root a git repository with everything committed (fixed identity, date)."""
    env = dict(os.environ, GIT_AUTHOR_DATE="2024-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2024-01-01T00:00:00Z")
    run = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "master", str(root)], check=True)
    subprocess.run([*run, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*run, "-C", str(root), "commit", "-q", "-m", "base"], check=True, env=env)
    return root


def _real_tree(version: str) -> Path:
    tarball = Path(f"/usr/src/linux-source-{version}.tar.xz")
    ready = CACHE / f"linux-source-{version}" / ".git" / "kfuncfix-ready"
    if not ready.exists() and not tarball.exists():
        pytest.skip(f"{tarball} missing: apt-get install linux-source-{version}")
    out = subprocess.run(
        [str(REPO / "scripts" / "prepare-linux-source.sh"), version, str(CACHE)],
        check=True, capture_output=True, text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def linux61() -> Path:
    """Debian's linux-source-6.1 as a git repository (read only!)."""
    return _real_tree("6.1")


@pytest.fixture(scope="session")
def linux612() -> Path:
    """Debian's linux-source-6.12 as a git repository (read only!)."""
    return _real_tree("6.12")


def git_worktree(repo: Path, dest: Path) -> Path:
    """A detached worktree of repo at HEAD in dest: a writable copy of a real tree."""
    subprocess.run(["git", "-C", str(repo), "worktree", "prune"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(dest), "HEAD"],
        check=True,
    )
    return dest
