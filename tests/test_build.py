"""`--build`: every patch compiled with the tree's Kbuild (W=1), and the BTF it yields audited.

The kernel tests build Debian's linux-source-6.1 with allmodconfig plus the
BTF fragment, in ONE build directory for the whole session (allmodconfig and
`make prepare` are paid once; set KFUNCFIX_TEST_BUILD_DIR to keep it between
sessions).  The series are made with `kfuncfix apply --branch` on a shared
clone of the read-only cache and checked with the same call `series --build`
makes.  The small-tree test at the end needs only gcc and pahole.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.btf.audit import from_tree
from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import load_rule, plan
from kfuncfix.outputs.build import BuildReport, build_check
from kfuncfix.outputs.buildbtf import OK, STATE_MISSING, changes, encode_btf, kfunc_states
from kfuncfix.outputs.gitseries import read_branch
from kfuncfix.outputs.kbuild import (
    CompilerWarning,
    missing_packages,
    parse_compile_output,
    source_deps,
)
from kfuncfix.pipeline import Request, run_plan
from tests.conftest import git_init, write_tree

pytestmark = pytest.mark.build

DATE = "2024-05-01T09:00:00Z"
IDENT = "Test Person <test@example.org>"


def need_toolchain() -> None:
    missing = missing_packages()
    if missing:
        pytest.skip(f"kernel build toolchain missing: apt-get install {' '.join(missing)}")


# -- the kernel: one clone, one build directory ------------------------------------


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kept = os.environ.get("KFUNCFIX_TEST_BUILD_DIR")
    return Path(kept) if kept else tmp_path_factory.mktemp("kbuild")


@pytest.fixture(scope="session")
def clone61(linux61: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone sharing the cache's objects: the series' commits go into the clone."""
    need_toolchain()
    dest = tmp_path_factory.mktemp("linux61-build") / "linux"
    subprocess.run(["git", "clone", "-q", "--shared", str(linux61), str(dest)], check=True)
    for key, value in (("user.name", "Test Person"), ("user.email", "test@example.org")):
        subprocess.run(["git", "-C", str(dest), "config", key, value], check=True)
    return dest


def branch_report(tree: Path, build_dir: Path, branch: str, *args: str) -> BuildReport:
    """`apply --branch` with the given rule options, then the build check of its commits."""
    result = CliRunner().invoke(main, ["apply", str(tree), "--branch", branch, "--date", DATE,
                                       "--from", IDENT, *args])
    assert result.exit_code in (0, 1), result.output
    series = read_branch(tree, branch, "HEAD")
    return build_check(tree, series.base, series.commits, [None], build_dir, 2, lambda _: None,
                       lambda rev: run_plan(Request(tree, rev=rev)).index)


def test_tag_series_builds_patch_by_patch_and_puts_every_kfunc_in_btf(
        clone61: Path, build_dir: Path) -> None:
    report = branch_report(clone61, build_dir, "tag-subsystem", "--split", "subsystem")
    config = report.configs[0]
    assert not config.base_failures
    # The selftests' module is not part of the kernel build: listed, never forced.
    assert "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.o" in config.not_built
    # Patch 1 adds __bpf_kfunc to include/linux/btf.h: every object that
    # includes it is rebuilt; each later patch rebuilds its own objects.
    assert "net/bpf/test_run.o" in {r.obj for r in config.patches[0].compiled}
    for patch in config.patches:
        assert patch.new_warnings == [], patch.subject
        assert not patch.broke, patch.subject
    checked = {k.name: k for p in config.patches for k in p.kfuncs}
    assert {"cgroup_rstat_flush", "crash_kexec", "bbr_main", "bpf_kfunc_call_test1",
            "bpf_skb_ct_lookup"} <= set(checked)
    wrong = {name: k.after.describe() for name, k in checked.items() if not k.after.ok}
    assert wrong == {}
    assert report.ok
    assert "new warnings: 0." in " ".join(report.cover_paragraph().split())


def test_macro_series_adds_no_warning_because_the_test_run_diag_block_stays(
        clone61: Path, build_dir: Path) -> None:
    # net/bpf/test_run.c's __diag_push() block also covers bpf_fentry_test1..8
    # and bpf_modify_return_test, globals that are not kfuncs: BPF_KFUNC()
    # declares only the kfuncs, so the rule keeps that block, and W=1 stays quiet.
    report = branch_report(clone61, build_dir, "macro", "--rule", "bpf_kfunc_macro")
    config = report.configs[0]
    test_run = [r for p in config.patches for r in p.compiled if r.obj == "net/bpf/test_run.o"]
    assert test_run and all(r.ok for r in test_run)
    assert [w for p in config.patches for w in p.new_warnings] == []
    assert report.ok


def test_trusted_args_series_compiles_with_no_new_warning(clone61: Path,
                                                          build_dir: Path) -> None:
    # 6.1 already has KF_TRUSTED_ARGS on the netfilter kfuncs: dropping it
    # from their set entries compiles without a new W=1 warning, and every
    # kfunc keeps its BTF (the flags live in .BTF_ids, the kfuncs do not move).
    report = branch_report(clone61, build_dir, "trusted-args", "--rule",
                           "kf_trusted_args_default", "--split", "file")
    config = report.configs[0]
    objects = {r.obj for p in config.patches for r in p.compiled}
    assert {"net/netfilter/nf_conntrack_bpf.o", "net/netfilter/nf_nat_bpf.o"} <= objects
    for patch in config.patches:
        assert patch.new_warnings == [], patch.subject
        assert not patch.broke, patch.subject
    assert report.ok


DROP_ALL_DIAG = """\
name = "drop_all_diag"
description = "Replace every __diag_push() block around kfuncs with a comment"

[[actions]]
type = "diag_block"
warnings = ["-Wmissing-prototypes", "-Wmissing-declarations"]
# A replacement is made even where other globals still need the block.
start = "/* kfuncs */"
end = "/* end of kfuncs */"

[series]
commit_subject = "Drop the diag blocks in {where}"
commit_body = "Drop them.\\n"
cover_subject = "Drop the diag blocks"
cover_body = "Drop them all.\\n"
"""


def test_dropping_the_diag_block_fails_the_build_check_with_the_robots_warning(
        clone61: Path, build_dir: Path, tmp_path: Path) -> None:
    rule = tmp_path / "drop_all_diag.toml"
    rule.write_text(DROP_ALL_DIAG)
    result = CliRunner().invoke(main, [
        "series", str(clone61), "-o", str(tmp_path / "out"), "--rule", str(rule),
        "--check", "--build", "--build-dir", str(build_dir), "--date", DATE, "--from", IDENT])
    assert result.exit_code == 1, result.output
    new = [line for line in result.stderr.splitlines() if "new: net/bpf/test_run.c:" in line]
    robot = re.compile(r"new: net/bpf/test_run\.c:\d+:\d+: warning: no previous prototype "
                       r"for .bpf_fentry_test2. \[-Wmissing-prototypes\]")
    assert any(robot.search(line) for line in new), result.stderr
    assert "kfuncfix: build check FAILED" in result.stderr


# -- a small tree of our own: BTF before and after the tag patch ------------------

SMALL_TREE = {
    "Kconfig": "# a small kernel-like tree\n",
    "include/linux/btf.h": """\
/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H
#define KF_TRUSTED_ARGS (1 << 4)
#define __used __attribute__((__used__))
#define noinline __attribute__((__noinline__))
#define __bpf_kfunc __used noinline
#endif
""",
    "kernel/kf.c": """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/btf_ids.h>

struct kf_task {
	int pid;
	long stats[8];
};

void kf_sink(long v);

/* Static, with a parameter it never reads: gcc -O2 inlines or clones it. */
static long kf_scale(struct kf_task *t, int unused, long mul)
{
	for (int i = 0; i < 8; i++)
		kf_sink(t->stats[i] * mul + i);
	return t->pid;
}

long kf_caller(struct kf_task *t)
{
	return kf_scale(t, 1, 3) + kf_scale(t, 2, 5);
}

BTF_KFUNCS_START(kf_ids)
BTF_ID_FLAGS(func, kf_scale)
BTF_KFUNCS_END(kf_ids)

static const struct btf_kfunc_id_set kf_set = {
	.set = &kf_ids,
};

int kf_init(void)
{
	return register_btf_kfunc_id_set(0, &kf_set);
}
""",
}


def test_small_tree_kfunc_is_missing_from_btf_before_the_tag_and_right_after(
        tmp_path: Path) -> None:
    for tool in ("gcc", "pahole"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian packages gcc, dwarves)")
    ids = Path(__file__).parent / "btf_fixtures/include/linux/btf_ids.h"
    tree = git_init(write_tree(tmp_path / "tree", {
        **SMALL_TREE, "include/linux/btf_ids.h": ids.read_text()}))
    index = discover(tree)
    result = plan(index, load_rule("bpf_kfunc_tag"))
    tagged = {c.path: c.new for c in result.changes(with_definition=True)}
    assert b"__bpf_kfunc static long kf_scale(" in tagged["kernel/kf.c"]

    def build(state: str, files: dict[str, bytes]) -> dict:
        root = tmp_path / state
        shutil.copytree(tree, root, ignore=shutil.ignore_patterns(".git"))
        write_tree(root, files)
        obj = root / "kernel/kf.o"
        subprocess.run(["gcc", "-O2", "-g", "-c", "-I", root / "include", root / "kernel/kf.c",
                        "-o", obj], check=True)
        sources = from_tree(discover(root))
        return kfunc_states(encode_btf(obj, tmp_path / "pahole"), sources)

    before, after = build("before", {}), build("after", tagged)
    assert before["kf_scale"].state == STATE_MISSING
    assert "unused" in before["kf_scale"].detail  # the audit names the cause
    assert after["kf_scale"].state == OK
    [change] = changes(before, after, ["kf_scale"])
    assert change.fixed and not change.broken


# -- pieces that need no compiler ----------------------------------------------------


@pytest.mark.parametrize("line", ["  CC      kernel/kf.o", "  CC [M]  kernel/kf.o"])
def test_compile_output_is_split_per_object(line: str) -> None:
    out = "\n".join([
        line,
        "/src/kernel/kf.c: In function 'kf':",
        "/src/kernel/kf.c:12:5: warning: no previous prototype for 'kf' [-Wmissing-prototypes]",
        "   12 | int kf(void)",
        "  CC      kernel/other.o",
        "/src/include/linux/x.h:3:1: error: expected ';' before '}' token",
    ])
    results = parse_compile_output(out, Path("/src"), ["kernel/kf.o", "kernel/other.o"])
    [warning] = results["kernel/kf.o"].warnings
    assert str(warning) == ("kernel/kf.c:12:5: warning: no previous prototype for 'kf' "
                            "[-Wmissing-prototypes]")
    assert warning.flag == "-Wmissing-prototypes"
    assert warning.key == CompilerWarning("kernel/kf.c", 99, 1, warning.message).key
    assert results["kernel/other.o"].errors == [
        "include/linux/x.h:3:1: error: expected ';' before '}' token"]


def test_cmd_file_gives_the_tree_files_an_object_depends_on(tmp_path: Path) -> None:
    cmd = tmp_path / ".kf.o.cmd"
    cmd.write_text("source_kernel/kf.o := /src/kernel/kf.c\n\ndeps_kernel/kf.o := \\\n"
                   "    $(wildcard include/config/X) \\\n  /src/include/linux/btf.h \\\n"
                   "  include/generated/autoconf.h \\\n\nkernel/kf.o: $(deps_kernel/kf.o)\n")
    assert source_deps(cmd, Path("/src")) == ["include/linux/btf.h", "kernel/kf.c"]


def test_missing_toolchain_is_one_error_naming_the_packages(monkeypatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # git and nothing else of the toolchain
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(bin_dir))
    tree = tmp_path / "sample"
    shutil.copytree(Path(__file__).parent.parent / "kfuncfix/sample/tree", tree)
    git_init(tree)
    result = CliRunner().invoke(main, ["series", str(tree), "-o", str(tmp_path / "o"),
                                       "--build", "--from", IDENT, "--no-maintainers"])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("kfuncfix: error: --build needs a kernel build toolchain")
    for package in ("make", "gcc", "flex", "bison", "bc", "dwarves"):
        assert f" {package}" in line


def test_a_configuration_that_compiles_none_of_the_changed_objects_is_no_pass(
        tmp_path: Path) -> None:
    """Every object the series changes is outside the configuration: no compiler ran on
    the series, and the check says so instead of passing."""
    from kfuncfix.outputs.build import BuildConfig, ConfigReport, StepReport, report_lines
    from kfuncfix.outputs.buildcache import ObjectResult
    from kfuncfix.outputs.kbuild import NotBuilt

    config = BuildConfig(None)
    outside = ConfigReport(config, tmp_path, StepReport(0, "b" * 40, "base"),
                           [StepReport(1, "c" * 40, "bpf: Tag")],
                           {"net/x.o": NotBuilt("needs CONFIG_X (not set)", True)})
    report = BuildReport([outside], "gcc 12", "v1.24")
    assert not outside.ok and not report.ok
    assert any(line.startswith("  FAIL: this configuration compiles none of the 1 object")
               for line in report_lines(report))
    built = ConfigReport(config, tmp_path, StepReport(0, "b" * 40, "base"),
                         [StepReport(1, "c" * 40, "bpf: Tag", [ObjectResult("k.o", True)])],
                         {"net/x.o": NotBuilt("needs CONFIG_X (not set)", True)})
    docs_only = ConfigReport(config, tmp_path, StepReport(0, "b" * 40, "base"),
                             [StepReport(1, "c" * 40, "Documentation")], {})
    selftests = ConfigReport(config, tmp_path, StepReport(0, "b" * 40, "base"),
                             [StepReport(1, "c" * 40, "selftests/bpf: Tag")],
                             {"tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.o":
                              NotBuilt("tools/ is not part of the kernel build", False)})
    # Something compiled; nothing to compile; nothing any configuration compiles.
    assert built.ok and docs_only.ok and selftests.ok
