"""Every before/after case under tests/cases, each run through tests/rewrite_helper.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfuncfix.engine import list_rules
from tests.rewrite_helper import CASES, case_dirs, check_case


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_case(case: Path, tmp_path: Path) -> None:
    check_case(case, tmp_path)


def test_every_builtin_rule_has_cases() -> None:
    covered = {p.parent.name for p in case_dirs()}
    assert {r.name for r in list_rules()} <= covered
    assert len(case_dirs()) >= 20, CASES
