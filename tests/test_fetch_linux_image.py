"""scripts/fetch-linux-image.sh: the built kernel of the cached tree's version, kept cached."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import FETCH_IMAGE, write_tree

REFUSED = {"sources.list": "deb http://127.0.0.1:9/debian bookworm main\n"}


def fetch(*args: str, etc: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KFUNCFIX_APT_ETC=str(etc))
    return subprocess.run([str(FETCH_IMAGE), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_usage_and_version_errors_exit_2(tmp_path: Path) -> None:
    etc = write_tree(tmp_path / "etc", REFUSED)
    assert fetch(etc=etc).returncode == 2
    assert fetch("--bogus", "6.1", etc=etc).returncode == 2
    bad = fetch('6.1";', str(tmp_path / "cache"), etc=etc)
    assert bad.returncode == 2
    assert bad.stderr.startswith("fetch-linux-image: VERSION must be MAJOR.MINOR")
    assert not (tmp_path / "cache").exists()


def test_cached_image_of_the_tree_version_needs_no_network(tmp_path: Path) -> None:
    debs = write_tree(tmp_path / "cache" / "debs", {
        "linux-source-6.1.version": "6.1.192-3\n",
        "linux-image-6.1-amd64.deb": b"!<arch>\n",
        "linux-image-6.1-amd64.version": "linux-image-6.1.0-57-amd64-unsigned 6.1.192-3\n",
    })
    etc = write_tree(tmp_path / "etc", REFUSED)
    done = fetch("6.1", str(tmp_path / "cache"), etc=etc)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == str(debs / "linux-image-6.1-amd64.deb")
    assert not (tmp_path / "cache" / "apt").exists()

