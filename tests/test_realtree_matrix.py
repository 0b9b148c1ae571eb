"""The tree matrix: Linux 5.10, before kfuncs were registered through BTF id sets.

5.10 has BTF id sets (BTF_ID_LIST, BTF_SET for verifier allowlists) but registers
none as kfuncs.  Every command must say so in one line and succeed: a user
running kfuncfix on an old LTS tree gets an answer, not an empty screen, an
error or a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.realtree

NOTE = ("kfuncfix: note: this tree has no registered kfunc sets (no register_btf_kfunc_id_set() "
        "or its fmodret and dtor variants): no kfuncs to list, check or rewrite")


def kfuncfix(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))  # this checkout's kfuncfix
    return subprocess.run([sys.executable, "-m", "kfuncfix", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=600)


@pytest.mark.parametrize("command", [
    ["list"], ["list", "--format", "json"], ["check"], ["check", "--format", "json"],
    ["diff"], ["diff", "--stat"],
], ids=" ".join)
def test_510_commands_say_there_are_no_kfunc_sets(linux510: Path, command: list[str]):
    result = kfuncfix(*command, str(linux510))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines().count(NOTE) == 1
    assert "Traceback" not in result.stderr and "error" not in result.stderr
    if "--format" in command:
        assert json.loads(result.stdout) in ([], {"findings": [], "unresolved": []})
    else:
        assert result.stdout == ""


def test_510_series_writes_nothing_and_says_why(linux510: Path, tmp_path: Path):
    out = tmp_path / "outgoing"
    result = kfuncfix("series", "-o", str(out), str(linux510))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [NOTE, "kfuncfix: nothing to change; no series written"]
    assert not out.exists()
    status = subprocess.run(["git", "-C", str(linux510), "status", "--porcelain"],
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_510_quiet_prints_nothing(linux510: Path):
    result = kfuncfix("-q", "check", str(linux510))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_note_is_only_for_trees_without_registered_sets(linux61: Path):
    result = kfuncfix("check", str(linux61))
    assert NOTE not in result.stderr
