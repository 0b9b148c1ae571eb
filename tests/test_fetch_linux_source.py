"""scripts/fetch-linux-source.sh: names its suites itself, finds the machine's mirror in either
sources format, and never changes the machine's apt configuration or state."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CACHE, FETCH, write_tree

MACHINE_APT = [Path("/etc/apt"), Path("/var/lib/apt/lists"), Path("/var/lib/dpkg/status")]


def fetch(*args: str, etc: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if etc is not None:
        env["KFUNCFIX_APT_ETC"] = str(etc)
    return subprocess.run([str(FETCH), *args], capture_output=True, text=True, env=env,
                          timeout=600)


def checksums(paths: list[Path]) -> dict[str, str]:
    """sha256 of every file (and the target of every symlink) under paths."""
    sums: dict[str, str] = {}
    for top in paths:
        files = [top] if not top.is_dir() else sorted(p for p in top.rglob("*"))
        for path in files:
            if path.is_symlink():
                sums[str(path)] = "-> " + os.readlink(path)
            elif path.is_file():
                sums[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                sums[str(path)] = "dir"
    return sums


BOOKWORM_STYLE = {  # Debian 12 as installed by debootstrap: one-line format
    "sources.list": "# deb http://old.example/debian bookworm main\n"
                    "deb http://mirror.example/debian/ bookworm main\n"
                    "deb http://mirror.example/debian-security bookworm-security main\n",
    "sources.list.d/other.list.disabled": "deb http://wrong.example/debian trixie main\n",
}
TRIXIE_STYLE = {  # Debian 13: deb822 in sources.list.d, no sources.list
    "sources.list.d/debian.sources":
        "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
        "URIs: http://mirror.example/debian\nSuites: trixie trixie-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: trixie-security\n"
        "Components: main\n",
    "sources.list.d/nodesource.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n",
}


@pytest.mark.parametrize("version, suites", [
    ("5.10", ["bullseye", "bullseye-security"]),
    ("6.1", ["bookworm", "bookworm-security"]),
    ("6.12", ["bookworm-security", "trixie", "trixie-security"]),
    ("7.2", ["trixie-backports"]),
])
def test_suites_and_mirror_are_the_same_on_debian_12_and_13(tmp_path, version, suites):
    outputs = []
    for name, files in (("12", BOOKWORM_STYLE), ("13", TRIXIE_STYLE)):
        result = fetch("--print-sources", version, etc=write_tree(tmp_path / name, files))
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    lines = outputs[0].splitlines()
    assert [line.split()[-2] for line in lines] == suites
    for line in lines:
        suite = line.split()[-2]
        uri = "http://mirror.example/debian" + ("-security" if "security" in suite else "")
        assert line.split()[-3] == uri
        assert "signed-by=/usr/share/keyrings/debian-archive-keyring." in line


def test_without_a_debian_source_the_mirror_is_deb_debian_org(tmp_path):
    result = fetch("--print-sources", "6.12", etc=write_tree(tmp_path, {"sources.list": "\n"}))
    assert [line.split()[-3:-1] for line in result.stdout.splitlines()] == [
        ["http://deb.debian.org/debian-security", "bookworm-security"],
        ["http://deb.debian.org/debian", "trixie"],
        ["http://deb.debian.org/debian-security", "trixie-security"],
    ]


def test_usage_error_exits_2():
    assert fetch().returncode == 2
    assert fetch("--bogus", "6.1").returncode == 2


def test_package_that_cannot_be_had_exits_3_naming_it(tmp_path):
    # A mirror that refuses connections: apt fails fast, the script says why and makes nothing.
    refused = "deb http://127.0.0.1:9/debian trixie main\n"
    etc = write_tree(tmp_path / "etc", {"sources.list": refused})
    result = fetch("7.2", str(tmp_path / "cache"), etc=etc)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("fetch-linux-source: linux-source-7.2 cannot be had: ")
    assert "trixie-backports" in result.stderr
    assert not (tmp_path / "cache" / "linux-source-7.2").exists()
    assert not list((tmp_path / "cache" / "debs").glob("*.tar.xz"))


@pytest.mark.realtree
def test_machine_apt_configuration_and_state_are_unchanged(tmp_path):
    before = checksums(MACHINE_APT)
    # A fresh private state: the script runs apt-get update against the real archive.
    fresh = fetch("--candidate", "7.2", str(tmp_path / "cache"))
    # An already-fetched version: the cached tree is reused.
    ready = [v for v in ("6.1", "6.12", "7.2", "5.10")
             if (CACHE / f"linux-source-{v}" / ".git" / "kfuncfix-ready").exists()]
    reused = fetch(ready[0], str(CACHE)) if ready else None
    assert checksums(MACHINE_APT) == before
    if fresh.returncode == 3:
        pytest.skip(f"archive not reachable: {fresh.stderr.strip()}")
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.startswith("7.2.")
    assert (tmp_path / "cache" / "apt" / "7.2" / "state" / "lists").is_dir()
    if reused is not None:
        assert reused.returncode == 0, reused.stderr
        assert reused.stdout.splitlines()[-1] == str(CACHE / f"linux-source-{ready[0]}")
