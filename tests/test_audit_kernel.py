"""`audit --btf vmlinux --modules DIR`: one table for vmlinux and its modules.

A tiny "kernel" is built here: vmlinux.o with one kfunc set, and a module
whose BTF pahole encodes split against it (`--btf_base`), as Kbuild does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main

IDS_H = r"""
#define __used __attribute__((__used__))
#define noinline __attribute__((__noinline__))
#define __bpf_kfunc __used noinline
struct btf_id_set8;
struct btf_kfunc_id_set { void *owner; struct btf_id_set8 *set; };
#define THIS_MODULE 0
#define register_btf_kfunc_id_set(type, s) ((void)(s), 0)
#define BTF_SET8_START(name) extern struct btf_id_set8 name; \
	__asm__(".pushsection .BTF_ids,\"a\"\n" \
	"__BTF_ID__set8__" #name ":\n" #name ":\n.long 1\n.long 1\n.popsection\n");
#define BTF_ID_FLAGS(prefix, name, ...) __asm__(".pushsection .BTF_ids,\"a\"\n" \
	"__BTF_ID__func__" #name "__1:\n.zero 4\n.long 0\n.popsection\n");
#define BTF_SET8_END(name)
"""
CORE = r"""
#include "ids.h"
__bpf_kfunc int core_kfunc(int a)
{
	return a + 1;
}
BTF_SET8_START(core_ids)
BTF_ID_FLAGS(func, core_kfunc)
BTF_SET8_END(core_ids)

static const struct btf_kfunc_id_set core_set = {
	.owner = THIS_MODULE,
	.set = &core_ids,
};

int core_init(void);
int core_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &core_set);
}
"""
MODULE = r"""
#include "ids.h"
__bpf_kfunc long mod_kfunc(long x, int y)
{
	return x * y;
}
BTF_SET8_START(mod_ids)
BTF_ID_FLAGS(func, mod_kfunc)
BTF_SET8_END(mod_ids)

static const struct btf_kfunc_id_set mod_set = {
	.owner = THIS_MODULE,
	.set = &mod_ids,
};

int mod_init(void);
int mod_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &mod_set);
}
"""


@pytest.fixture
def kernel(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(tree, vmlinux, modules dir): a kernel of one core file and one module."""
    for tool in ("gcc", "pahole"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    tree = tmp_path / "tree"
    (tree / "kernel").mkdir(parents=True)
    (tree / "drivers").mkdir()
    (tree / "Kconfig").write_text("# a kernel tree, to discovery\n")
    (tree / "kernel/ids.h").write_text(IDS_H)
    (tree / "drivers/ids.h").write_text(IDS_H)
    (tree / "kernel/core.c").write_text(CORE)
    (tree / "drivers/mod.c").write_text(MODULE)
    vmlinux = tmp_path / "vmlinux"
    modules = tmp_path / "lib/modules/6.1.0-test/kernel/drivers"
    modules.mkdir(parents=True)
    ko = modules / "my-mod.ko"
    subprocess.run(["gcc", "-O2", "-g", "-c", str(tree / "kernel/core.c"), "-o", str(vmlinux)],
                   check=True)
    subprocess.run(["gcc", "-O2", "-g", "-c", str(tree / "drivers/mod.c"), "-o", str(ko)],
                   check=True)
    subprocess.run(["pahole", "-J", str(vmlinux)], check=True, capture_output=True)
    subprocess.run(["pahole", "-J", "--btf_base", str(vmlinux), str(ko)], check=True,
                   capture_output=True)
    return tree, vmlinux, tmp_path / "lib/modules/6.1.0-test"


def test_every_kfunc_of_vmlinux_and_modules_in_one_list(kernel: tuple[Path, Path, Path]) -> None:
    _, vmlinux, modules = kernel
    result = CliRunner().invoke(main, ["audit", "--btf", str(vmlinux), "--modules", str(modules),
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    found = {k["name"]: k.get("image") for k in json.loads(result.output)["btf_kfuncs"]}
    assert found == {"core_kfunc": "vmlinux", "mod_kfunc": "my_mod"}
    text = CliRunner().invoke(main, ["audit", "--btf", str(vmlinux), "--modules", str(modules)])
    assert "mod_kfunc(long int x, int y)  [set mod_ids, in my_mod]" in text.output


def test_tree_kfuncs_checked_where_they_live(kernel: tuple[Path, Path, Path]) -> None:
    tree, vmlinux, modules = kernel
    result = CliRunner().invoke(main, ["audit", "--btf", str(vmlinux), "--modules", str(modules),
                                       str(tree), "--format", "json"])
    report = json.loads(result.output)
    checks = {c["name"]: (c["image"], c["in_btf"], c["prototype"]) for c in report["checks"]}
    assert checks == {"core_kfunc": ("vmlinux", True, "match"),
                      "mod_kfunc": ("my_mod", True, "match")}
    assert not [f for f in report["findings"] if f["problem"] == "not-in-tree"]
    text = CliRunner().invoke(main, ["audit", "--btf", str(vmlinux), "--modules", str(modules),
                                     str(tree)]).output
    assert text.splitlines()[0].split()[:2] == ["KFUNC", "IMAGE"]


def test_a_kfunc_no_image_has_is_not_built_in_the_whole_kernel(
        kernel: tuple[Path, Path, Path]) -> None:
    # A module's kfunc that the kernel read does not ship (as bpf_testmod's): in no image.
    tree, vmlinux, modules = kernel
    (tree / "drivers/testmod.c").write_text(MODULE.replace("mod_", "testmod_"))
    result = CliRunner().invoke(main, ["audit", "--btf", str(vmlinux), "--modules", str(modules),
                                       str(tree)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("testmod_kfunc"))
    assert row.split()[1:5] == ["vmlinux", "no", "-", "not"]
    assert ("note: 1 kfuncs of the tree are in no id set of vmlinux or its 1 modules: "
            "not built, or their module not shipped") in result.output


def test_a_module_lost_kfunc_is_reported_in_its_module(kernel: tuple[Path, Path, Path],
                                                       tmp_path: Path) -> None:
    tree, vmlinux, modules = kernel
    ko = next(modules.rglob("*.ko"))
    # The module rebuilt with its kfunc static inline: gcc folds it away.
    src = tmp_path / "lost.c"
    src.write_text(MODULE.replace("__bpf_kfunc long", "static inline long").replace(
        "#include \"ids.h\"", (tree / "drivers/ids.h").read_text()))
    subprocess.run(["gcc", "-O2", "-g", "-c", str(src), "-o", str(ko)], check=True)
    subprocess.run(["pahole", "-J", "--btf_base", str(vmlinux), str(ko)], check=True,
                   capture_output=True)
    result = CliRunner().invoke(main, ["audit", "--btf", str(vmlinux), "--modules", str(modules),
                                       "--format", "json"])
    assert result.exit_code == 1
    findings = json.loads(result.output)["findings"]
    assert [(f["kfunc"], f["problem"], f.get("image")) for f in findings] == [
        ("mod_kfunc", "unresolved-in-set", "my_mod")]


def test_whole_kernel_usage_errors(kernel: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, vmlinux, modules = kernel
    runner = CliRunner()
    out = runner.invoke(main, ["audit", "--btf", str(vmlinux), "--modules", str(modules),
                               "--base", str(vmlinux)])
    assert out.exit_code == 2 and "--base" in out.output
    out = runner.invoke(main, ["audit", "--btf", str(tmp_path / "tree")])
    assert out.exit_code == 2 and "must hold vmlinux" in out.output


def test_boot_image_and_deb_errors_are_one_line(tmp_path: Path) -> None:
    """A bzImage needs TREE's extract-vmlinux; a .deb that is not a package says so."""
    image = tmp_path / "vmlinuz"
    image.write_bytes(b"\0" * 0x202 + b"HdrS" + b"\0" * 64)
    out = CliRunner().invoke(main, ["audit", "--btf", str(image)])
    assert out.exit_code == 2
    assert "compressed boot image: give TREE" in out.output
    deb = tmp_path / "linux-image-0.0.0-amd64.deb"
    deb.write_bytes(b"not an archive")
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    out = CliRunner().invoke(main, ["audit", "--btf", str(deb)])
    assert out.exit_code == 2 and "dpkg-deb -x" in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_boot_image_is_unpacked_by_the_committed_extractor_only(tmp_path: Path) -> None:
    """A modified (or untracked) scripts/extract-vmlinux in the worktree never runs: the
    script comes from the tree as committed at HEAD, run from a scratch directory."""
    from kfuncfix.sample import copy_sample_tree
    from tests.conftest import git_init

    tree = copy_sample_tree(tmp_path / "tree")
    script = tree / "scripts/extract-vmlinux"
    script.parent.mkdir(exist_ok=True)
    script.write_text("echo 'the committed extractor ran' >&2\nexit 1\n")
    git_init(tree)
    marker = tmp_path / "worktree-script-ran"
    script.write_text(f"touch '{marker}'\nexit 1\n")
    image = tmp_path / "vmlinuz"
    image.write_bytes(b"\0" * 0x202 + b"HdrS" + b"\0" * 64)
    out = CliRunner().invoke(main, ["audit", "--btf", str(image), str(tree)])
    assert out.exit_code == 2, out.output
    assert "the committed extractor ran" in out.output
    assert not marker.exists()
