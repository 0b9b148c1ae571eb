"""`experiment --mode lto`: the probe linked into a clang ThinLTO vmlinux, relinked per marker.

The configuration is the per-object one (allnoconfig + FRAGMENT) with
CONFIG_LTO_CLANG_THIN.  The probe must be part of vmlinux, and the tree is
never written: the build reads a source farm beside the build directory, the
tree's top-level entries as symlinks except kernel/, a directory of symlinks
to the tree's kernel/ except its Makefile (a copy with
`obj-y += kfuncfix_probe.o`) and kfuncfix_probe.c (the probe, the marker
defined on its first line).  Per marker the probe is rewritten and `make
vmlinux` recompiles that one object and relinks; Kbuild's ThinLTO cache keeps
every other module's code.  Then vmlinux is judged as an object is: its own
.BTF (what link-vmlinux.sh's pahole encoded), its symbols, the DWARF of the
probe's unit, and resolve_btfids' warnings from the link.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kfuncfix import gitrun
from kfuncfix.btf import elf
from kfuncfix.btf.dwarf import read_functions
from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.kfuncs import index_kfuncs
from kfuncfix.btf.reader import parse_btf_file, read_btf_file
from kfuncfix.errors import KfuncfixError
from kfuncfix.experiment.compilers import Compiler
from kfuncfix.experiment.markers import Marker
from kfuncfix.experiment.probe import first_error, probe_kfuncs, probe_source
from kfuncfix.experiment.realtree import (
    FRAGMENT,
    MARKER_MACRO,
    _Kbuild,
    _missing_llvm_tools,
    allnoconfig_with,
)
from kfuncfix.experiment.run import Result, Row
from kfuncfix.experiment.verdict import COMPILE_ERROR, NOT_RUN, Evidence, classify
from kfuncfix.outputs.build import default_build_root
from kfuncfix.outputs.kbuild import require_tools, tool_version

Progress = Callable[[str], None]
LTO_FRAGMENT = FRAGMENT + "CONFIG_LTO_CLANG_THIN=y\n"
PROBE_OBJECT = "kfuncfix_probe"  # kernel/kfuncfix_probe.c in the source farm
FARM_MARKER = ".kfuncfix-source-farm"
CONFIGURED = "kfuncfix-lto-configured"
LABEL = "probe.c in vmlinux"
# link-vmlinux.sh's resolve_btfids: a BTF id set names a function BTF does not have.
_UNRESOLVED = re.compile(r"resolve_btfids: unresolved symbol (\S+)")


def lto_compiler(compilers: Sequence[Compiler]) -> Compiler:
    """The first clang asked for: kernel LTO is clang's (CONFIG_LTO_CLANG_THIN)."""
    for compiler in compilers:
        if compiler.is_clang:
            return compiler
    raise KfuncfixError("--mode lto builds a clang ThinLTO vmlinux: give a clang in --cc "
                        "(Debian packages clang, lld, llvm)")


def make_variables(compiler: Compiler) -> list[str]:
    """Kbuild's LLVM= for the compiler: clang, ld.lld and the llvm tools of one version."""
    return [f"LLVM={compiler.llvm_suffix}"]


def relink_arguments(jobs: int) -> list[str]:
    """`make` arguments that rebuild what changed and relink vmlinux (BTF, resolve_btfids)."""
    return [f"-j{jobs}", "vmlinux"]


def probe_with_marker(marker: Marker) -> bytes:
    """The probe as linked in: the marker defined before the probe's own default."""
    return f"#define {MARKER_MACRO} {marker.c_text()}\n".encode() + probe_source()


def source_farm(tree: Path, farm: Path) -> None:
    """The tree as symlinks, with the probe added to kernel/ (see the module's docstring).

    Made once; a directory in the way that this function did not make is refused.
    """
    if (farm / FARM_MARKER).is_file():
        return
    if farm.exists() or farm.is_symlink():
        raise KfuncfixError(f"{farm} exists and is not kfuncfix's source farm; move it away")
    partial = farm.with_name(farm.name + ".partial")
    if partial.exists() and not (partial / FARM_MARKER).is_file():
        raise KfuncfixError(f"{partial} exists and is not kfuncfix's; move it away")
    shutil.rmtree(partial, ignore_errors=True)  # ours, left by a run that was stopped
    (partial / "kernel").mkdir(parents=True)
    (partial / FARM_MARKER).write_text("")  # marked first: only the rename makes it the farm
    tree = tree.resolve()
    for entry in sorted(tree.iterdir()):
        if entry.name not in (".git", "kernel"):
            (partial / entry.name).symlink_to(entry)
    for entry in sorted((tree / "kernel").iterdir()):
        if entry.name != "Makefile":
            (partial / "kernel" / entry.name).symlink_to(entry)
    makefile = (tree / "kernel" / "Makefile").read_bytes()
    (partial / "kernel" / "Makefile").write_bytes(
        makefile.rstrip(b"\n") + f"\n\nobj-y += {PROBE_OBJECT}.o\n".encode())
    (partial / "kernel" / f"{PROBE_OBJECT}.c").write_bytes(probe_source())
    partial.rename(farm)


def unresolved_symbols(make_output: str) -> set[str]:
    return set(_UNRESOLVED.findall(make_output))


def vmlinux_evidence(vmlinux: Path, names: Sequence[str]) -> Evidence:
    """vmlinux's own BTF and symbols, and the DWARF of the probe's unit only."""
    data = read_btf_file(vmlinux)
    index = index_kfuncs(parse_btf_file(data), None, elf.read_symbols(data))
    index.dwarf = read_functions(data, set(names), unit=f"{PROBE_OBJECT}.c")
    return Evidence(index)


def _key(tree: Path, compiler: Compiler) -> str:
    commit = gitrun.resolve_commit(tree, "HEAD") if (tree / ".git").exists() else None
    data = "\n".join([commit or str(tree.resolve()), compiler.name, compiler.version,
                      LTO_FRAGMENT])
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def configured_kbuild(tree: Path, compiler: Compiler, build_dir: Path | None,
                      progress: Progress) -> _Kbuild:
    """The source farm and the configured ThinLTO build directory (cached per tree)."""
    root = (build_dir or default_build_root()) / f"experiment-lto-{compiler.name}-" \
        f"{_key(tree, compiler)}"
    farm, out = root / "src", root / "out"
    source_farm(tree, farm)
    kbuild = _Kbuild(farm, out, make_variables(compiler), progress)
    if (out / CONFIGURED).is_file():
        return kbuild
    progress(f"{compiler.label}: make allnoconfig + fragment + ThinLTO in {out}")
    needs = f"{compiler.label} with ld.lld and llvm-ar/nm needed"
    allnoconfig_with(kbuild, out, LTO_FRAGMENT, {"CONFIG_LTO_CLANG_THIN=y": needs,
                                                 "CONFIG_DEBUG_INFO_BTF=y": needs})
    (out / CONFIGURED).write_text("")
    return kbuild


def run_lto(tree: Path, compilers: Sequence[Compiler], markers: Sequence[Marker],
            build_dir: Path | None, budget: float | None, progress: Progress,
            result: Result) -> Result:
    """One ThinLTO vmlinux per marker, the probe's kfuncs judged in each."""
    if not (tree / "Makefile").is_file() or not (tree / "Kbuild").is_file():
        raise KfuncfixError(f"{tree}: not a kernel tree (no Makefile and Kbuild)")
    require_tools()
    compiler = lto_compiler(compilers)
    missing = _missing_llvm_tools(compiler)
    if missing:
        raise KfuncfixError(f"--mode lto: Kbuild's LLVM={compiler.llvm_suffix} needs "
                            f"{' '.join(missing)} (Debian packages)")
    start = time.monotonic()
    kbuild = configured_kbuild(tree, compiler, build_dir, progress)
    pahole = tool_version(["pahole", "--version"])
    kfuncs = probe_kfuncs()
    label = f"{compiler.label}, ThinLTO vmlinux"
    probe = kbuild.srctree / "kernel" / f"{PROBE_OBJECT}.c"
    vmlinux = kbuild.objtree / "vmlinux"
    for number, marker in enumerate(markers, 1):
        def row(name: str, shape: str, verdict: str, detail: str, m: Marker = marker) -> Row:
            return Row(label, pahole, m.name, LABEL, name, shape, verdict, detail)

        if budget is not None and time.monotonic() - start > budget:
            result.complete = False
            result.rows += [row(k.name, k.shape, NOT_RUN, "budget spent") for k in kfuncs]
            continue
        progress(f"[{number}/{len(markers)}] ThinLTO vmlinux, {compiler.label}, "
                 f"marker {marker.name or 'none'} (the first build is long)")
        probe.write_bytes(probe_with_marker(marker))
        vmlinux.unlink(missing_ok=True)  # never judge the previous marker's link
        done = kbuild.make(relink_arguments(kbuild.jobs), what="")
        output = done.stdout + done.stderr
        if done.returncode != 0 or not vmlinux.is_file():
            error = first_error(output)
            if f"{PROBE_OBJECT}.c" in error:
                result.rows += [row(k.name, k.shape, COMPILE_ERROR, error) for k in kfuncs]
            else:
                result.notes.append(f"ThinLTO vmlinux ({marker.name}): make vmlinux failed: "
                                    f"{error}")
                result.rows += [row(k.name, k.shape, NOT_RUN, error) for k in kfuncs]
            continue
        unresolved = unresolved_symbols(output)
        try:
            evidence = vmlinux_evidence(vmlinux, [k.name for k in kfuncs])
        except BTFError as exc:
            result.notes.append(f"ThinLTO vmlinux ({marker.name}): {exc}")
            result.rows += [row(k.name, k.shape, NOT_RUN, str(exc)) for k in kfuncs]
            continue
        for k in kfuncs:
            verdict, detail = classify(evidence, k.name, k.prototype)
            if k.name in unresolved:
                detail = "; ".join(filter(None, [detail, "resolve_btfids: unresolved symbol"]))
            result.rows.append(row(k.name, k.shape, verdict, detail))
    result.seconds += time.monotonic() - start
    return result
