"""Shared fixtures: small trees written by the tests, and Debian's real kernels.

Real trees come from Debian's linux-source-{5.10,6.1,6.12,7.2} packages, fetched
from the suite that has each (on any Debian host) and made a git repository with
one commit by scripts/fetch-linux-source.sh, once, into $KFUNCFIX_TEST_CACHE
(default /var/tmp/kfuncfix-cache).  A tree that cannot be had here skips its
tests with a message naming the package.  Tests must never write into the cached
trees: use `git_worktree` for a writable copy.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KFUNCFIX_TEST_CACHE", "/var/tmp/kfuncfix-cache"))

# The index cache of this test session (kfuncfix.indexcache): never the user's
# ~/.cache, whatever the environment says; commands run as subprocesses inherit it.
os.environ.pop("KFUNCFIX_NO_CACHE", None)
os.environ["KFUNCFIX_CACHE_DIR"] = tempfile.mkdtemp(prefix="kfuncfix-test-index-cache-")
atexit.register(shutil.rmtree, os.environ["KFUNCFIX_CACHE_DIR"], True)


def builtin_rule_text(name: str) -> str:
    """The TOML text of a built-in rule (rules/NAME.toml), to start a test's own rule from."""
    return (REPO / "rules" / f"{name}.toml").read_text(encoding="utf-8")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`lto` tests build a whole ThinLTO kernel (~26 min): only when asked for by name
    (`-m lto`), never in a plain run, CI's included."""
    if "lto" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="a ~26 min ThinLTO kernel build: run it with -m lto")
    for item in items:
        if item.get_closest_marker("lto"):
            item.add_marker(skip)


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


FETCH = REPO / "scripts" / "fetch-linux-source.sh"


def _real_tree(version: str) -> Path:
    """The cached tree of linux-source-VERSION, fetched on first use; skip if it cannot be had."""
    tree = CACHE / f"linux-source-{version}"
    if (tree / ".git" / "kfuncfix-ready").exists():
        return tree
    out = subprocess.run([str(FETCH), version, str(CACHE)], capture_output=True, text=True)
    if out.returncode == 3:  # the script's "cannot be had here" (no network, not Debian, ...)
        why = (out.stderr.strip().splitlines() or ["no reason given"])[-1]
        pytest.skip(f"linux-source-{version} not available: {why}")
    if out.returncode != 0:
        pytest.fail(f"{FETCH.name} {version} failed (exit {out.returncode}): {out.stderr.strip()}")
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def linux510() -> Path:
    """Debian's linux-source-5.10 (bullseye) as a git repository (read only!): no BTF kfunc sets."""
    return _real_tree("5.10")


@pytest.fixture(scope="session")
def linux61() -> Path:
    """Debian's linux-source-6.1 (bookworm) as a git repository (read only!)."""
    return _real_tree("6.1")


@pytest.fixture(scope="session")
def linux612() -> Path:
    """Debian's linux-source-6.12 as a git repository (read only!)."""
    return _real_tree("6.12")


@pytest.fixture(scope="session")
def linux72() -> Path:
    """Debian's linux-source-7.2 (trixie-backports) as a git repository (read only!)."""
    return _real_tree("7.2")


FETCH_IMAGE = REPO / "scripts" / "fetch-linux-image.sh"


@pytest.fixture(scope="session")
def linux61_image(linux61: Path) -> Path:
    """Debian's built 6.1 kernel of linux61's version (vmlinuz + modules) as its .deb (read only!).

    Fetched once into $KFUNCFIX_TEST_CACHE/debs by scripts/fetch-linux-image.sh (~70 MB).
    """
    out = subprocess.run([str(FETCH_IMAGE), "6.1", str(CACHE)], capture_output=True, text=True)
    if out.returncode == 3:
        why = (out.stderr.strip().splitlines() or ["no reason given"])[-1]
        pytest.skip(f"linux-image-6.1 (linux-image-6.1.0-*-amd64-unsigned) not available: {why}")
    if out.returncode != 0:
        pytest.fail(f"{FETCH_IMAGE.name} 6.1 failed (exit {out.returncode}): {out.stderr.strip()}")
    return Path(out.stdout.strip().splitlines()[-1])


def git_worktree(repo: Path, dest: Path) -> Path:
    """A detached worktree of repo at HEAD in dest: a writable copy of a real tree."""
    subprocess.run(["git", "-C", str(repo), "worktree", "prune"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(dest), "HEAD"],
        check=True,
    )
    return dest
