"""Before/after fixture cases for the rules, in the spirit of LibCST's assertCodemod.

A case is a directory `tests/cases/<rule>/<case>/` holding

    before/    a small tree (an empty Kconfig is added so discovery takes it)
    after/     the files the rule must change, byte for byte as they must end up
    case.toml  optional: `paths = [...]` limits the rewrite; what the plan must
               report besides its edits, each as `file:line: name: reason`, the
               line `diff` prints: `skipped = [...]` (not rewritten, exit 1) and
               `notes = [...]` (left alone on purpose, or a caveat); both are
               empty unless listed.  `findings = [...]`, when given, are the
               lines `check` prints (`file:line: SEVERITY: message`, without the
               rule's name), in its order: where a warning's wording or its
               severity is what the case is about.

The rule is the built-in one the parent directory is named after, or the
parent's own `rule.toml` (a rule written as data only, as a user would).

`check_case` runs the rule on a copy of before/ and checks, in order: the
plan's new bytes, that every edit lies in a span the rule's actions declared
(`Action.spans`, checked by tests/span_helper.py as on the real trees), what it
reports, that its diff is a patch unidiff and `git apply` read as the same
change, that `apply` writes exactly the expected tree, and that a second run
finds nothing left to do.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from unidiff import PatchSet

from kfuncfix.discover import discover
from kfuncfix.engine import Plan, Rule, load_rule, plan
from kfuncfix.engine.plan import Skip
from kfuncfix.lint import findings
from kfuncfix.model import TreeIndex
from kfuncfix.outputs.apply import apply_changes
from kfuncfix.outputs.diff import unified_diff
from tests.span_helper import stray_edits, unchanged_outside

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CASES = Path(__file__).resolve().parent / "cases"


def case_dirs() -> list[Path]:
    return sorted(p.parent for p in CASES.glob("*/*/before"))


def case_rule(case: Path) -> str:
    """The rule of a case: its directory's own rule.toml, else the built-in rule."""
    own = case.parent / "rule.toml"
    return str(own) if own.exists() else case.parent.name


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_same_files(got: dict[str, bytes], want: dict[str, bytes]) -> None:
    """Equal file sets and bytes; on failure, a diff of what differs."""
    if got == want:
        return
    report = [f"files: got {sorted(got)}, want {sorted(want)}"]
    for path in sorted(set(got) & set(want)):
        if got[path] != want[path]:
            report.extend(difflib.unified_diff(
                want[path].decode("latin-1").splitlines(keepends=True),
                got[path].decode("latin-1").splitlines(keepends=True),
                f"want/{path}", f"got/{path}"))
    raise AssertionError("".join(line if line.endswith("\n") else line + "\n"
                                 for line in report))


def check_case(case: Path, tmp_path: Path) -> Plan:
    spec_file = case / "case.toml"
    spec = tomllib.loads(spec_file.read_text()) if spec_file.exists() else {}
    rule = load_rule(case_rule(case))
    tree = tmp_path / "tree"
    shutil.copytree(case / "before", tree)
    (tree / "Kconfig").touch()
    before = read_tree(tree)
    after = read_tree(case / "after") if (case / "after").exists() else {}
    expected = {**before, **after}

    index = discover(tree)
    result = plan(index, rule, spec.get("paths"))
    changed = {path: data for path, data in after.items() if data != before.get(path)}
    assert_same_files({p: c.new for p, c in result.files.items()}, changed)
    check_spans(index, rule, result)
    # A remark on the rule itself (a kfunc it names that no set lists) is placed
    # in the rule's file: the case says `rule.toml`, wherever the checkout is.
    def said(lines: list[Skip]) -> list[str]:
        return sorted(str(s).replace(str(case.parent / "rule.toml"), "rule.toml")
                      for s in lines)

    assert said(result.skipped) == sorted(spec.get("skipped", []))
    assert said(result.notes) == sorted(spec.get("notes", []))
    if "findings" in spec:
        assert [f"{f.file}:{f.line}: {f.severity.upper()}: {f.message}"
                for f in findings(index, result)] == spec["findings"]

    diff = unified_diff(list(result.files.values()))
    patch = PatchSet(diff.decode("utf-8", "surrogateescape"))
    assert sorted(f.path for f in patch) == sorted(changed)
    if diff:
        env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp_path))
        subprocess.run(["git", "apply", "--check", "-"], input=diff, cwd=tree, check=True,
                       env=env, capture_output=True)

    outcome = apply_changes(tree, list(result.files.values()))
    assert outcome.refused == []
    assert_same_files(read_tree(tree), expected)

    again = plan(discover(tree), rule, spec.get("paths"))
    assert again.files == {}
    return result


def check_spans(index: TreeIndex, rule: Rule, result: Plan) -> None:
    """Every edit lies inside a span the rule's actions declared (tests/span_helper.py),
    with the text that action may put there, and the bytes outside the edits are kept."""
    changes = list(result.files.values())
    if not result.definition_error:
        changes = result.changes(with_definition=True)
    assert [s for c in changes for s in stray_edits(index, rule, c)] == []
    assert [c.path for c in changes if not unchanged_outside(c.old, c.new, c.edits)] == []


def kfunc_source(body: str, names: list[str], set_name: str = "test_kfunc_ids") -> str:
    """A .c file: `body`, then a kfunc set listing `names`, registered at init."""
    entries = "".join(f"BTF_ID_FLAGS(func, {n})\n" for n in names)
    return (
        "// SPDX-License-Identifier: GPL-2.0\n#include <linux/btf.h>\n"
        "#include <linux/btf_ids.h>\n"
        f"{body}\nBTF_SET8_START({set_name})\n{entries}BTF_SET8_END({set_name})\n\n"
        f"static const struct btf_kfunc_id_set {set_name}_set = {{\n"
        f"\t.owner = THIS_MODULE,\n\t.set   = &{set_name},\n}};\n\n"
        f"static int __init {set_name}_init(void)\n{{\n"
        f"\treturn register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &{set_name}_set);\n}}\n"
    )


def small_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """A tree discovery accepts (it has a Kconfig) holding `files`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Kconfig").touch()
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root
