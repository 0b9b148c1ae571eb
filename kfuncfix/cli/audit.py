"""`kfuncfix audit`: which kfuncs of a built kernel lost their BTF."""

from __future__ import annotations

from pathlib import Path

import click

from kfuncfix.btf.audit import audit_btf, audit_tree, from_tree
from kfuncfix.btf.errors import BTFError, SplitBTFError
from kfuncfix.btf.kfuncs import open_kfuncs
from kfuncfix.btf.report import to_json, to_text
from kfuncfix.errors import KfuncfixError
from kfuncfix.runreport import RunReport

SYSFS_BTF = Path("/sys/kernel/btf")


def _default_base(btf: Path) -> Path | None:
    """Module BTF under /sys/kernel/btf is split against the running kernel's vmlinux."""
    if btf.parent == SYSFS_BTF and btf.name != "vmlinux":
        return SYSFS_BTF / "vmlinux"
    return None


@click.command("audit")
@click.option(
    "--btf",
    "btf_path",
    required=True,
    type=click.Path(path_type=Path),
    help="BTF to audit: /sys/kernel/btf/*, a raw .BTF dump, or vmlinux/.ko/.o (ELF); "
    "a directory like /sys/kernel/btf audits vmlinux and every module in it; "
    "a Debian linux-image-*.deb or a bzImage is unpacked (by TREE's "
    "scripts/extract-vmlinux, as committed).",
)
@click.option(
    "--modules",
    "modules_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="With --btf vmlinux: also every module (*.ko, *.ko.xz) under this directory, "
    "e.g. /lib/modules/VERSION; one table for the whole kernel.",
)
@click.option(
    "--base",
    "base_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Base BTF for split (module) BTF, e.g. /sys/kernel/btf/vmlinux.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format."
)
@click.argument("tree", required=False, type=click.Path(file_okay=False, path_type=Path))
def audit(btf_path: Path, modules_dir: Path | None, base_path: Path | None, fmt: str,
          tree: Path | None) -> None:
    """Check the kfuncs of a built kernel's BTF, against TREE's source if given.

    \b
    Without TREE: list the kfuncs BTF declares (bpf_kfunc decl tag or id set)
    and report id set entries BTF lost. With TREE: for every kfunc of the tree,
    whether BTF has its FUNC, the bpf_kfunc decl tag and the same prototype.
    Each finding names the likely cause and the fix.  Exit 1 when there is a
    finding, 2 on unreadable or malformed input.

    \b
    Examples:
      kfuncfix audit --btf /sys/kernel/btf/vmlinux
      kfuncfix audit --btf vmlinux ~/linux --format json
      kfuncfix audit --btf /sys/kernel/btf/nf_conntrack ~/linux
      kfuncfix audit --btf vmlinux --modules /lib/modules/6.1.0-57-amd64 ~/linux
      kfuncfix audit --btf /sys/kernel/btf ~/linux
      kfuncfix audit --btf linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb ~/linux
    """
    from kfuncfix.btf.images import is_boot_image
    from kfuncfix.cli.planning import planned

    kernel = (btf_path.is_dir() or modules_dir is not None or btf_path.name.endswith(".deb")
              or is_boot_image(btf_path))
    if kernel and base_path is not None:
        raise KfuncfixError("--base is for one module's BTF; a whole kernel brings its vmlinux")
    if btf_path.is_dir() and modules_dir is not None:
        raise KfuncfixError(f"--btf {btf_path} is a directory of BTF files: drop --modules")
    if btf_path.is_dir() and not (btf_path / "vmlinux").is_file():
        raise KfuncfixError(f"--btf {btf_path}: a directory must hold vmlinux (as /sys/kernel/btf)")
    try:
        if kernel:
            from kfuncfix.btf.images import load_kernel, needs_extractor
            from kfuncfix.btf.kernelaudit import audit_kernel

            sources = from_tree(planned(tree, (), lint=True).index) if tree is not None else None
            script = extractor(tree) if tree is not None and needs_extractor(btf_path) else None
            report = audit_kernel(load_kernel(btf_path, modules_dir, script), sources)
        elif tree is None:
            report = audit_btf(open_kfuncs(btf_path, base_path or _default_base(btf_path)))
        else:
            index = open_kfuncs(btf_path, base_path or _default_base(btf_path))
            report = audit_tree(index, from_tree(planned(tree, (), lint=True).index))
    except SplitBTFError as exc:
        raise KfuncfixError(f"{btf_path}: {exc}: pass --base (the vmlinux it extends)") from exc
    except BTFError as exc:
        raise KfuncfixError(f"{btf_path}: {exc}") from exc
    if fmt == "json":
        click.echo(to_json(report, str(btf_path), str(tree) if tree else None))
    else:
        click.echo(to_text(report, tree is not None))
    click.get_current_context().exit(RunReport().found(len(report.findings)).return_code)


def extractor(tree: Path) -> bytes | None:
    """scripts/extract-vmlinux of TREE: as committed at HEAD in a git tree (an untracked
    or modified copy in the worktree never runs), the file itself in a plain tree."""
    from kfuncfix import gitrun
    from kfuncfix.snapshot import Snapshot
    from kfuncfix.treefiles import TreeFiles
    from kfuncfix.userfiles import read_small_file

    script = "scripts/extract-vmlinux"
    files = TreeFiles(tree)
    head = gitrun.resolve_commit(files.root, "HEAD") if files.is_git else None
    if head is not None:
        snapshot = Snapshot(files.root, head)
        try:
            return snapshot.committed([script]).get(script)
        finally:
            snapshot.close()
    if files.kind(script) != "file":
        return None
    return read_small_file(files.root / script, "the kernel image extractor")


COMMANDS = [audit]
