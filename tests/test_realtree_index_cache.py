"""Linux 7.2: a warm `list --format json` is the cold one, byte for byte.

Unchanged, with a kfunc file changed in the worktree (the cache must search and
scan it again), and at a commit.  About 35 s: one worktree of the tree, five
`list` runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kfuncfix.grepcache import RACY_SECONDS
from tests.conftest import REPO, git_worktree

pytestmark = pytest.mark.realtree

CHANGED = "kernel/bpf/cpumask.c"


def list_json(tree: Path, cache: Path, *options: str) -> bytes:
    env = dict(os.environ, PYTHONPATH=str(REPO), KFUNCFIX_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-m", "kfuncfix", "list", "--format", "json",
                          *options, str(tree)], capture_output=True, env=env)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


def test_warm_list_equals_cold_list_on_72(linux72: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    tree = git_worktree(linux72, tmp_path / "tree")
    time.sleep(RACY_SECONDS + 1)  # an index just written is never trusted: let it age
    cold = list_json(tree, cache)
    assert list(cache.rglob("grep/*/*"))
    assert b'"bpf_cpumask_create"' in cold and list(cache.rglob("scan/*/*"))
    assert list_json(tree, cache) == cold
    # One kfunc file changed in the worktree: its definition loses the tag.
    path = tree / CHANGED
    text = path.read_bytes()
    assert text.count(b"__bpf_kfunc struct bpf_cpumask *bpf_cpumask_create(") == 1
    path.write_bytes(text.replace(b"__bpf_kfunc struct bpf_cpumask *bpf_cpumask_create(",
                                  b"struct bpf_cpumask *bpf_cpumask_create("))
    warm = list_json(tree, cache)
    assert warm != cold and warm == list_json(tree, cache, "--no-cache")
    # At the commit (its tree id is the state): the stored scans of the commit's files.
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    env = dict(os.environ, PYTHONPATH=str(REPO), KFUNCFIX_CACHE_DIR=str(cache))
    from_rev = [subprocess.run([sys.executable, "-c",
                                "import json, sys; from pathlib import Path; "
                                "from kfuncfix.discover import discover; "
                                "from kfuncfix.report import records; "
                                f"i = discover(Path({str(tree)!r}), rev={head!r}); "
                                "print(json.dumps([r.to_json() for r in records(i)], indent=2))"],
                               capture_output=True, env=env, check=True).stdout
                for _ in range(2)]
    assert from_rev[0] == from_rev[1] == cold
