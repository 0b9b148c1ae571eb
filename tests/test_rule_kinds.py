"""The tag rule's `kinds`: which registrations it rewrites (kfuncs and dtors by
default; fmodret targets when asked, as upstream tagged some in test_run.c)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kfuncfix.discover import discover
from kfuncfix.engine import RuleError, load_rule, parse_rule, plan
from tests.conftest import builtin_rule_text

CASE = Path(__file__).resolve().parent / "cases/bpf_kfunc_tag/fmodret_and_dtor/before"


def tag_rule(kinds: str | None) -> bytes:
    text = builtin_rule_text("bpf_kfunc_tag")
    if kinds is not None:
        text = text.replace('type = "insert_prefix"\n',
                            f'type = "insert_prefix"\nkinds = {kinds}\n')
    return text.encode()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(CASE, tmp_path / "t")
    (tmp_path / "t/Kconfig").touch()
    return tmp_path / "t"


def test_default_kinds_leave_fmodret_targets(tree: Path) -> None:
    result = plan(discover(tree), load_rule("bpf_kfunc_tag"))
    new = result.files["kernel/bpf/fmod.c"].new
    assert b"__bpf_kfunc int case_both(" in new  # a kfunc too
    assert b"noinline int case_hook(" in new  # fmodret only: left alone


def test_fmodret_kind_tags_them(tree: Path) -> None:
    rule = parse_rule(tag_rule('["kfunc", "dtor", "fmodret"]'), "own.toml")
    result = plan(discover(tree), rule)
    assert b"__bpf_kfunc int case_hook(" in result.files["kernel/bpf/fmod.c"].new


def test_unknown_kind_is_a_one_line_error() -> None:
    with pytest.raises(RuleError, match=r"own.toml: actions\[1\].kinds: unknown kind 'lsm'"):
        parse_rule(tag_rule('["kfunc", "lsm"]'), "own.toml")
