"""Set entries as rule targets: `set_entry_flags` and the kf_trusted_args_default rule.

The rewrites themselves are case directories (tests/cases/kf_trusted_args_default,
rename_kf_rcu, add_kf_sleepable); here: `check` with and without --rule, the
lint where btf.h retired the flag, the listing of flags, rule file errors, the
declared spans, and a linear cost.
"""

from __future__ import annotations

import gc
import json
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import RuleError, load_rule, load_rules, parse_rule, plan
from kfuncfix.engine.entryflags import FlagChange, same_call
from kfuncfix.interactive import review
from tests.conftest import git_init
from tests.rewrite_helper import CASES, case_rule, small_tree
from tests.span_helper import stray_edits, unchanged_outside

RULE = "kf_trusted_args_default"
HEAD = ("// SPDX-License-Identifier: GPL-2.0\n#include <linux/btf.h>\n"
        "#include <linux/btf_ids.h>\n")
REGISTER = ("\nstatic const struct btf_kfunc_id_set ids_set = {\n\t.owner = THIS_MODULE,\n"
            "\t.set   = &ids,\n};\n\nstatic int __init ids_init(void)\n{\n"
            "\treturn register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &ids_set);\n}\n")
BTF_H = ("#ifndef _LINUX_BTF_H\n#define _LINUX_BTF_H\n#define KF_ACQUIRE (1 << 0)\n"
         "#define __bpf_kfunc __used noinline\n{more}#endif\n")
WITH_FLAG = BTF_H.format(more="#define KF_TRUSTED_ARGS (1 << 4)\n")
WITHOUT_FLAG = BTF_H.format(more="")


def set_file(entries: str) -> str:
    return f"{HEAD}\nBTF_KFUNCS_START(ids)\n{entries}BTF_KFUNCS_END(ids)\n{REGISTER}"


COPIED = set_file("BTF_ID_FLAGS(func, bpf_old, KF_ACQUIRE)\n"
                  "BTF_ID_FLAGS(func, bpf_copied, KF_ACQUIRE | KF_TRUSTED_ARGS)\n").replace(
    "\nBTF_KFUNCS_START", "\n__bpf_kfunc int bpf_old(void)\n{\n\treturn 0;\n}\n\n"
    "__bpf_kfunc int bpf_copied(void)\n{\n\treturn 1;\n}\n\nBTF_KFUNCS_START")
COPIED_LINE = COPIED.splitlines().index(
    "BTF_ID_FLAGS(func, bpf_copied, KF_ACQUIRE | KF_TRUSTED_ARGS)") + 1


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_check_without_rule_reports_the_flag_only_where_btf_h_retired_it(tmp_path: Path) -> None:
    """A new kfunc copied from old code onto 7.x: the entry does not compile, and
    plain `check` (CI) says so; on a tree still defining the flag it says nothing."""
    retired = small_tree(tmp_path / "new", {"include/linux/btf.h": WITHOUT_FLAG,
                                            "kernel/k.c": COPIED})
    out = cli("check", str(retired))
    assert out.exit_code == 1
    assert out.stdout == (
        f"kernel/k.c:{COPIED_LINE}: ERROR: kf_trusted_args_default: set entry of kfunc "
        "bpf_copied carries KF_TRUSTED_ARGS: trusted arguments are the default; "
        "include/linux/btf.h no longer defines KF_TRUSTED_ARGS, so this does not compile\n")
    current = small_tree(tmp_path / "old", {"include/linux/btf.h": WITH_FLAG,
                                            "kernel/k.c": COPIED})
    assert RULE not in cli("check", str(current)).stdout
    asked = cli("check", "--rule", RULE, str(current))
    assert asked.exit_code == 1
    assert asked.stdout == (f"kernel/k.c:{COPIED_LINE}: WARNING: kf_trusted_args_default: "
                            "set entry of kfunc bpf_copied carries KF_TRUSTED_ARGS: trusted "
                            "arguments are the default\n")
    # No btf.h, or one from before kfunc flags (5.10), did not retire it: not linted.
    bare = small_tree(tmp_path / "bare", {"kernel/k.c": COPIED})
    assert RULE not in cli("check", str(bare)).stdout
    early = small_tree(tmp_path / "early", {"include/linux/btf.h": "#define BTF_TYPE_EMIT(t)\n",
                                            "kernel/k.c": COPIED})
    assert RULE not in cli("check", str(early)).stdout


def test_check_git_reports_the_commit_that_copies_the_flag(tmp_path: Path) -> None:
    """CI on 7.x: of a tree's entries only the one the commit adds is reported."""
    tree = git_init(small_tree(tmp_path / "t", {"include/linux/btf.h": WITHOUT_FLAG,
                                                "kernel/k.c": COPIED}))
    path = tree / "kernel/k.c"
    path.write_text(path.read_text().replace(
        "BTF_KFUNCS_END(ids)", "BTF_ID_FLAGS(func, bpf_new, KF_TRUSTED_ARGS)\nBTF_KFUNCS_END(ids)"))
    subprocess.run(["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@e",
                    "commit", "-qam", "bpf: Add bpf_new"], check=True)
    out = cli("check", "--git", "HEAD", str(tree))
    assert out.exit_code == 1
    ours = [line for line in out.stdout.splitlines() if RULE in line]
    assert [line.split(": ")[0] for line in ours] == [f"kernel/k.c:{COPIED_LINE + 1}"]
    assert "kfunc bpf_new carries KF_TRUSTED_ARGS" in out.stdout and "ERROR" in out.stdout


def test_apply_interactive_changes_only_the_entries_accepted(tmp_path: Path) -> None:
    entries = ("BTF_ID_FLAGS(func, bpf_a, KF_TRUSTED_ARGS)\n"
               "BTF_ID_FLAGS(func, bpf_b, KF_TRUSTED_ARGS)\n")
    tree = small_tree(tmp_path / "t", {"include/linux/btf.h": WITH_FLAG,
                                       "kernel/k.c": set_file(entries)})
    index = discover(tree)
    result = plan(index, load_rule(RULE))
    answers = iter(["n", "y"])
    kept = review(index, result, lambda _: next(answers), lambda _: None, False)
    new = kept.files["kernel/k.c"].new.decode()
    assert "BTF_ID_FLAGS(func, bpf_a, KF_TRUSTED_ARGS)\nBTF_ID_FLAGS(func, bpf_b)\n" in new


def test_rule_all_leaves_out_the_wave() -> None:
    """Dropping the flag is right only with the verifier change: never in bulk."""
    assert RULE not in [r.name for r in load_rules(["all"])]
    assert load_rule(RULE).lint == "when-retired"


@pytest.mark.parametrize(("rule_dir", "expected"), [
    ("rename_kf_rcu", ["bpf_rcu_first", "bpf_rcu_last", "bpf_rcu_already", "RCU_KFUNC"]),
    ("add_kf_sleepable", ["bpf_get_dentry_xattr", "bpf_get_file_xattr", "bpf_set_xattr"]),
])
def test_check_with_a_rule_written_in_toml(rule_dir: str, expected: list[str],
                                           tmp_path: Path) -> None:
    case = next((CASES / rule_dir).glob("*/before")).parent
    tree = small_tree(tmp_path / "t", {p.relative_to(case / "before").as_posix(): p.read_bytes()
                                       for p in (case / "before").rglob("*") if p.is_file()})
    out = cli("check", "--rule", case_rule(case), "--format", "json", str(tree))
    assert out.exit_code == 1, out.output
    found = json.loads(out.stdout)
    assert sorted(f["kfunc"] for f in found) == sorted(
        "bpf_rcu_macro" if n == "RCU_KFUNC" else n for n in expected)
    assert all("\n+++ b/" in f["fix"] for f in found)
    assert {f["rule"] for f in found} == {rule_dir}


def test_add_rule_names_a_kfunc_no_set_lists(tmp_path: Path) -> None:
    rule = load_rule(str(CASES / "add_kf_sleepable" / "rule.toml"))
    tree = small_tree(tmp_path / "t", {"kernel/k.c": set_file("BTF_ID_FLAGS(func, bpf_x)\n")})
    result = plan(discover(tree), rule)
    assert result.files == {}
    assert sorted(n.name for n in result.notes) == [
        "bpf_get_dentry_xattr", "bpf_get_file_xattr", "bpf_set_xattr", "bpf_sleeps_already"]


MULTI = set_file("BTF_ID_FLAGS(func, bpf_get_task_exe_file,\n"
                 "\t     KF_ACQUIRE | KF_TRUSTED_ARGS | KF_RET_NULL)\n"
                 "#define X(name) BTF_ID_FLAGS(func, name, KF_SLEEPABLE)\n"
                 "X(bpf_made)\n#undef X\n")


def test_list_shows_flags_as_parsed(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "t", {"kernel/k.c": MULTI})
    records = {r["name"]: r for r in json.loads(cli("list", "--format", "json",
                                                    str(tree)).stdout)}
    assert records["bpf_get_task_exe_file"]["flags"] == ["KF_ACQUIRE", "KF_TRUSTED_ARGS",
                                                         "KF_RET_NULL"]
    assert records["bpf_made"]["flags"] == ["KF_SLEEPABLE"]
    text = cli("list", str(tree)).stdout
    assert "KF_ACQUIRE | KF_TRUSTED_ARGS | KF_RET_NULL" in text
    assert "KF_SLEEPABLE" in text


def test_every_edit_is_inside_a_declared_span(tmp_path: Path) -> None:
    """The span helper checks this action as any other: what it declares, and that
    its check refuses an edit that changes more than the rule's flags."""
    rule = load_rule(RULE)
    tree = small_tree(tmp_path / "t", {"kernel/k.c": MULTI.replace("KF_SLEEPABLE",
                                                                   "KF_TRUSTED_ARGS")})
    index = discover(tree)
    changes = plan(index, rule).changes(with_definition=True)
    assert [c.path for c in changes] == ["kernel/k.c"] and len(changes[0].edits) == 2
    assert [s for c in changes for s in stray_edits(index, rule, c)] == []
    assert all(unchanged_outside(c.old, c.new, c.edits) for c in changes)
    drop = FlagChange(remove=("KF_TRUSTED_ARGS",))
    before = b"BTF_ID_FLAGS(func, bpf_a, KF_ACQUIRE | KF_TRUSTED_ARGS)"
    assert same_call(before, b"BTF_ID_FLAGS(func, bpf_a,\n\t     KF_ACQUIRE)", drop) is None
    assert same_call(before, b"BTF_ID_FLAGS(func, bpf_a)", drop) is not None
    assert same_call(before, b"BTF_ID_FLAGS(func, bpf_b, KF_ACQUIRE)", drop) is not None
    assert same_call(before, b"BTF_ID(func, bpf_a, KF_ACQUIRE)", drop) is not None


def test_a_btf_id_entry_gets_no_flag(tmp_path: Path) -> None:
    rule = parse_rule(b'name = "mine"\ndescription = "d"\n[[actions]]\n'
                      b'type = "set_entry_flags"\nadd = ["KF_SLEEPABLE"]\nkfuncs = ["bpf_a"]\n'
                      b'[series]\ncommit_subject = "s"\ncommit_body = "b"\n'
                      b'cover_subject = "c"\ncover_body = "b"\n', "own.toml")
    tree = small_tree(tmp_path / "t", {"kernel/k.c": set_file("BTF_ID(func, bpf_a)\n")})
    result = plan(discover(tree), rule)
    assert result.files == {}
    assert [(s.name, s.reason) for s in result.skipped] == [
        ("bpf_a", "a BTF_ID() entry takes no flags")]


def test_a_macro_also_making_unselected_entries_is_left_alone(tmp_path: Path) -> None:
    """Rewriting the #define would change an entry the rule does not select (here a
    fmodret set's): reported, not changed."""
    source = (f"{HEAD}\n#define X(name) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)\n"
              "BTF_KFUNCS_START(ids)\nX(bpf_kfunc)\nBTF_KFUNCS_END(ids)\n"
              "BTF_SET8_START(hooks)\nX(bpf_hook)\nBTF_SET8_END(hooks)\n"
              + REGISTER.replace("return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, "
                                 "&ids_set);",
                                 "register_btf_fmodret_id_set(&hooks_set);\n"
                                 "\treturn register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, "
                                 "&ids_set);")
              + "\nstatic const struct btf_kfunc_id_set hooks_set = {\n\t.set = &hooks,\n};\n")
    tree = small_tree(tmp_path / "t", {"kernel/k.c": source})
    result = plan(discover(tree), load_rule(RULE))
    assert result.files == {}
    assert [(s.name, "bpf_hook" in s.reason) for s in result.skipped] == [
        ("bpf_kfunc (written by macro X)", True)]


@pytest.mark.parametrize(("action", "problem"), [
    ('type = "set_entry_flags"\n', "give at least one of remove, add or rename"),
    ('type = "set_entry_flags"\nremove = ["KF_A"]\nadd = ["KF_A"]\n', "KF_A both removed"),
    ('type = "set_entry_flags"\nremove = ["KF A"]\n', "is not a C identifier"),
    ('type = "set_entry_flags"\nremove = ["KF_A"]\nkinds = ["lsm"]\n', "unknown kind 'lsm'"),
    ('type = "set_entry_flags"\nrename = { KF_A = 1 }\n', "must be a string"),
    ('type = "set_entry_flags"\nremove = ["KF_A"]\nreason = "a\\nb"\n', "one non-empty line"),
    ('type = "set_entry_flags"\nremove = ["KF_A"]\nflags = ["KF_B"]\n', "unknown key"),
])
def test_broken_set_entry_actions_name_the_key(action: str, problem: str) -> None:
    text = (f'name = "mine"\ndescription = "d"\n[[actions]]\n{action}\n[series]\n'
            'commit_subject = "s"\ncommit_body = "b"\ncover_subject = "c"\ncover_body = "b"\n')
    with pytest.raises(RuleError, match=r"^own\.toml: actions\[0\]") as info:
        parse_rule(text.encode(), "own.toml")
    assert problem in str(info.value)


def test_when_retired_needs_its_macro() -> None:
    text = (b'name = "mine"\ndescription = "d"\nlint = "when-retired"\n[[actions]]\n'
            b'type = "set_entry_flags"\nremove = ["KF_A"]\n[series]\ncommit_subject = "s"\n'
            b'commit_body = "b"\ncover_subject = "c"\ncover_body = "b"\n')
    with pytest.raises(RuleError, match="lint: when-retired needs a .retired. table"):
        parse_rule(text, "own.toml")
    bad = text + b'[retired]\nmacro = "KF_A"\nheader = "../btf.h"\n'
    with pytest.raises(RuleError, match="retired.header: '../btf.h' is not a relative path"):
        parse_rule(bad, "own.toml")


def _macro_tree(root: Path, n: int) -> Path:
    """n entries written in the set and n made by ten macros defined in the file (each
    macro rewritten once).  Few macros: discovery looks each one up per entry."""
    defines = "".join(f"#define M{j}(name) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)\n"
                      for j in range(10))
    lines = "".join(f"M{i % 10}(bpf_k{i})\nBTF_ID_FLAGS(func, bpf_d{i}, KF_ACQUIRE |\n"
                    "\t     KF_TRUSTED_ARGS)\n" for i in range(n))
    return small_tree(root, {"kernel/k.c": set_file(defines + lines)})


def test_cost_grows_linearly_with_entries(tmp_path: Path) -> None:
    rule = load_rule(RULE)
    times = []
    for n in (1000, 4000):  # 4x the entries: 4x the time if linear, 16x if quadratic
        index = discover(_macro_tree(tmp_path / str(n), n))
        best = float("inf")
        for _ in range(3):
            # CPU time without the cycle collector, whose passes grow with the
            # whole heap (the index), not with what planning does.
            gc.disable()
            try:
                start = time.process_time()
                result = plan(index, rule)
                best = min(best, time.process_time() - start)
            finally:
                gc.enable()
        assert len(result.findings) == n + 10
        times.append(best)
    assert times[1] < 5.0 and times[1] < 8 * times[0], times
