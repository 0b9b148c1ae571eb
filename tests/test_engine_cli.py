"""`kfuncfix rules`, `diff` and `apply`: output, exit codes, and what they write."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from unidiff import PatchSet

from kfuncfix.cli import main
from kfuncfix.engine.actions import ACTIONS
from kfuncfix.sample import copy_sample_tree
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, read_tree, small_tree

SKIPPING = kfunc_source("\nstatic inline int f(void)\n{\n\treturn 0;\n}\n\nvoid g(void)\n{\n}\n",
                        ["f", "g"])


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return copy_sample_tree(tmp_path / "sample")


REPO_ROOT = Path(__file__).resolve().parent.parent


def test_rules_lists_every_rule() -> None:
    result = run("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    # Every rule file of rules/, the default first, then by name.
    files = sorted(p.stem for p in (REPO_ROOT / "rules").glob("*.toml"))
    assert [line.split()[0] for line in lines] == [
        "bpf_kfunc_tag", *(name for name in files if name != "bpf_kfunc_tag")]
    assert {"bpf_kfunc_macro", "btf_kfuncs_set", "kfunc_defs_block"} <= set(files)
    assert lines[0].endswith("(default)")


def test_diff_writes_nothing(sample: Path) -> None:
    before = read_tree(sample)
    result = run("diff", str(sample))
    assert result.exit_code == 0, result.output
    patch = PatchSet(result.stdout)
    assert sorted(f.path for f in patch) == [
        "kernel/bpf/taskref.c", "kernel/softlockup_dump.c", "net/ipv4/tcp_softcc.c",
        "net/netfilter/nf_flowmark_bpf.c",
        "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c"]
    assert "does not define __bpf_kfunc" in result.stderr
    assert read_tree(sample) == before


def test_diff_stat_and_color(sample: Path) -> None:
    stat = run("diff", "--stat", str(sample))
    assert stat.stdout.endswith(" 5 files changed, 30 insertions(+), 28 deletions(-)\n")
    assert "\x1b[" not in run("diff", str(sample)).stdout  # auto: not a terminal
    assert "\x1b[32m+__bpf_kfunc" in run("diff", "--color", "always", str(sample)).stdout
    assert "\x1b[" not in run("diff", "--color", "never", str(sample)).stdout


def test_diff_paths_limit_the_files(sample: Path) -> None:
    result = run("diff", str(sample), "net")
    assert sorted(f.path for f in PatchSet(result.stdout)) == [
        "net/ipv4/tcp_softcc.c", "net/netfilter/nf_flowmark_bpf.c"]
    absolute = run("diff", str(sample), str(sample / "net/ipv4/tcp_softcc.c"))
    assert [f.path for f in PatchSet(absolute.stdout)] == ["net/ipv4/tcp_softcc.c"]


def test_diff_with_definition(sample: Path) -> None:
    result = run("diff", "--with-definition", str(sample))
    paths = [f.path for f in PatchSet(result.stdout)]
    # The note in the documentation, the definition, then the five rewritten files
    # (the note first, so that an apply stopped between the two loses neither).
    assert paths[:2] == ["Documentation/bpf/kfuncs.rst", "include/linux/btf.h"]
    assert len(paths) == 7
    assert "does not define" not in result.stderr


def test_skipped_kfunc_exits_1(tmp_path: Path) -> None:
    tree = small_tree(tmp_path, {"kernel/a.c": SKIPPING})
    result = run("diff", str(tree))
    assert result.exit_code == 1
    assert "+__bpf_kfunc void g(void)" in result.stdout
    assert "kfuncfix: skipped kernel/a.c:5: f: inline definition" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["diff", "--rule", "nope"], "no rule named 'nope'"),
    (["diff", "--color", "sometimes"], "Invalid value for '--color'"),
    (["diff", "{tree}", "/etc"], "not inside the tree"),
    (["diff", "{tree}", "no/such/dir"], "no such file or directory"),
    (["apply", "{tree}/kernel"], "not a kernel tree"),
])
def test_usage_errors_exit_2(args: list[str], message: str, sample: Path) -> None:
    result = run(*[a.replace("{tree}", str(sample)) for a in args])
    assert result.exit_code == 2
    assert message in result.output


def test_broken_rule_file_is_one_line(tmp_path: Path, sample: Path) -> None:
    rule = tmp_path / "own.toml"
    rule.write_text('name = "own"\ndescription = "x"\n[[actions]]\ntype = "shell"\n')
    result = run("diff", "--rule", str(rule), str(sample))
    assert result.exit_code == 2
    # Every action the engine knows is named (built-in ones always among them).
    known = ", ".join(sorted(ACTIONS))
    assert {"add_include", "diag_block", "drop_specifiers", "insert_prefix",
            "rename_set_macro", "wrap_prototype"} <= set(ACTIONS)
    assert result.stderr == (f"kfuncfix: error: {rule}: actions[0].type: unknown action "
                             f"'shell' (known: {known})\n")


def test_apply_then_nothing_left(sample: Path) -> None:
    expected = run("diff", str(sample)).stdout_bytes
    before = read_tree(sample)
    result = run("apply", str(sample))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == (
        "5 files changed, 23 kfuncs rewritten, 0 skipped")
    changed = {p for p, data in read_tree(sample).items() if before[p] != data}
    assert changed == {f.path for f in PatchSet(expected.decode())}
    again = run("diff", str(sample))
    assert (again.exit_code, again.stdout) == (0, "")


def test_apply_refuses_uncommitted_work(sample: Path) -> None:
    git_init(sample)
    edited = sample / "kernel/bpf/taskref.c"
    edited.write_bytes(edited.read_bytes() + b"/* mine */\n")
    before = read_tree(sample)
    result = run("apply", str(sample))
    assert result.exit_code == 1
    assert ("kfuncfix: refused kernel/bpf/taskref.c: has uncommitted changes "
            "(commit them, or use --force)") in result.stderr
    assert read_tree(sample) == before
    forced = run("apply", "--force", str(sample))
    assert forced.exit_code == 0
    assert edited.read_bytes().endswith(b"/* mine */\n")
    assert b"__bpf_kfunc struct bpf_taskref *bpf_taskref_create(" in edited.read_bytes()


def test_apply_other_rules_summary(sample: Path) -> None:
    result = run("apply", "--rule", "btf_kfuncs_set", str(sample))
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == "5 files changed, 5 sets renamed, 0 skipped"
