"""Every command takes its tree from `run_plan`: under a `.kfuncfix.toml` naming a rule
of the tree's own (a `__my_kfunc` tag), `list`, `check`, `diff`, `apply`, `apply -i`,
`apply --branch`, `series` and `audit TREE` all count the kfunc tagged `__my_kfunc` as
tagged and the other one as not.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from unidiff import PatchSet

from kfuncfix.cli import main
from kfuncfix.interactive import review
from kfuncfix.outputs.diff import unified_diff
from kfuncfix.pipeline import Request, run_plan
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, small_tree

RULE = """name = "my_tag"
description = "Put __my_kfunc in front of every kfunc definition"
lint = "always"

[[actions]]
type = "insert_prefix"
text = "__my_kfunc"
already = ["__my_kfunc"]

[series]
subject_prefix = "PATCH"
commit_prefix = "kfunc:"
commit_subject = "Tag kfuncs in {where} with __my_kfunc"
commit_body = "Tag {kfuncs}."
cover_subject = "Tag kfuncs with __my_kfunc"
cover_body = "Tag {count} kfuncs."
"""
BODY = ("\n__my_kfunc int f_mine(int x)\n{\n\treturn x;\n}\n\n"
        "int f_plain(int x)\n{\n\treturn x;\n}\n")
IDENT = "Test Person <test@example.org>"
DATE = "2024-01-01 00:00 +0000"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    rule = tmp_path / "my_tag.toml"
    rule.write_text(RULE)
    root = small_tree(tmp_path / "linux", {
        "kernel/a.c": kfunc_source(BODY, ["f_mine", "f_plain"], "a_ids"),
        ".kfuncfix.toml": f'rule = "{rule}"\n',
    })
    return git_init(root)


def changed_lines(diff_text: str) -> list[str]:
    return [str(line.value).strip() for pf in PatchSet(diff_text) for hunk in pf
            for line in hunk if line.is_added]


WANTED = ["__my_kfunc int f_plain(int x)"]


def test_list(tree: Path) -> None:
    result = run("list", str(tree), "--format", "json")
    assert result.exit_code == 0, result.output
    status = {r["name"]: r["status"] for r in json.loads(result.stdout)}
    assert status == {"f_mine": "tagged", "f_plain": "untagged"}


def test_check(tree: Path) -> None:
    result = run("check", str(tree))
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "kernel/a.c:10: ERROR: my_tag: kfunc f_plain is not tagged __my_kfunc"]


def test_diff_and_apply(tree: Path) -> None:
    diff = run("diff", str(tree))
    assert diff.exit_code == 0, diff.output
    assert changed_lines(diff.stdout) == WANTED
    applied = run("apply", str(tree))
    assert applied.exit_code == 0, applied.output
    done = subprocess.run(["git", "-C", str(tree), "diff"], capture_output=True, text=True)
    assert changed_lines(done.stdout) == WANTED


def test_apply_interactive_plans_the_same(tree: Path) -> None:
    planned = run_plan(Request(tree))
    taken = review(planned.index, planned.plan, lambda prompt: "y", lambda text: None, False)
    assert changed_lines(unified_diff(taken.changes(False)).decode()) == WANTED


def test_branch(tree: Path) -> None:
    result = run("apply", str(tree), "--branch", "kf", "--from", IDENT, "--date", DATE)
    assert result.exit_code == 0, result.output
    diff = subprocess.run(["git", "-C", str(tree), "diff", "master", "kf"],
                          capture_output=True, text=True).stdout
    assert changed_lines(diff) == WANTED


def test_series(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("series", str(tree), "-o", str(out), "--from", IDENT, "--date", DATE,
                 "--no-cover")
    assert result.exit_code == 0, result.output
    patches = sorted(out.glob("*.patch"))
    assert [changed_lines(p.read_text().split("\n---\n", 1)[1]) for p in patches] == [WANTED]


def test_audit_tree(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kfuncfix.cli import audit

    seen: dict[str, Any] = {}

    def fake_audit_tree(index: Any, source: Any) -> Any:
        seen.update({k.name: k.tagged for k in source})
        return audit.audit_btf(index)

    btf = tmp_path / "vmlinux"
    btf.write_bytes(b"")
    monkeypatch.setattr(audit, "open_kfuncs", lambda *args: _EmptyIndex())
    monkeypatch.setattr(audit, "audit_tree", fake_audit_tree)
    monkeypatch.setattr(audit, "audit_btf", lambda index: _EmptyReport())
    monkeypatch.setattr(audit, "to_text", lambda *args: "")
    result = run("audit", "--btf", str(btf), str(tree))
    assert result.exit_code == 0, result.output
    assert seen == {"f_mine": True, "f_plain": False}


class _EmptyIndex:
    kfuncs: dict[str, Any] = {}


class _EmptyReport:
    findings: list[Any] = []
