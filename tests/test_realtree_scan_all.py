"""The source model reads every .c and .h file of both real trees (issue: trust).

Files it cannot model are listed with the scanner's reason; the only ones
allowed are listed here, each with why.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from kfuncfix.source.scan import scan

pytestmark = pytest.mark.realtree

# Not C: a diff fragment perf keeps to compare headers, named .c.
NOT_C = {"tools/perf/check-header_ignore_hunks/lib/list_sort.c"}


def _scan_one(job: tuple[str, str]) -> tuple[str, list[str]]:
    root, rel = job
    try:
        data = (Path(root) / rel).read_bytes()
        src = scan(rel, data)
        if src.data != data or len(src.masked) != len(data):
            return rel, ["bytes changed"]
        return rel, src.warnings
    except Exception as exc:  # the point of the test is that none escapes
        return rel, [f"exception {exc!r}"]


def scan_every_file(tree: Path) -> dict[str, list[str]]:
    files = subprocess.run(["git", "-C", str(tree), "ls-files", "-z", "*.c", "*.h"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    jobs = [(str(tree), rel) for rel in files if rel]
    assert len(jobs) > 50_000
    with ProcessPoolExecutor() as pool:
        results = pool.map(_scan_one, jobs, chunksize=256)
        return {rel: warnings for rel, warnings in results if warnings}


@pytest.mark.parametrize("tree_fixture", ["linux61", "linux612"])
def test_every_c_and_h_file_is_modelled(tree_fixture, request):
    tree = request.getfixturevalue(tree_fixture)
    problems = scan_every_file(tree)
    assert set(problems) <= NOT_C, problems
