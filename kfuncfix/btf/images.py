"""A whole built kernel: vmlinux and its modules, each module's split BTF resolved against it.

Inputs: `vmlinux` plus a directory of modules (`*.ko`, `*.ko.xz`, searched
recursively, as under /lib/modules/VERSION), or a directory laid out as
/sys/kernel/btf (a `vmlinux` file and one split BTF file per module), or a
Debian `linux-image-*.deb` (unpacked with dpkg-deb) or a bzImage: their
vmlinux comes out through the tree's own scripts/extract-vmlinux.
"""

from __future__ import annotations

import lzma
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.kfuncs import KfuncIndex, index_data
from kfuncfix.btf.reader import BTF, parse_btf_file, read_btf_file
from kfuncfix.errors import KfuncfixError

MODULE_SUFFIXES = (".ko", ".ko.xz")


@dataclass(frozen=True)
class Image:
    """One part of the built kernel: `vmlinux` or a module's name."""

    name: str
    index: KfuncIndex


@dataclass
class Images:
    images: list[Image]
    skipped: list[str]  # modules without BTF or unreadable, with the reason


def module_name(path: Path) -> str:
    name = path.name
    for suffix in MODULE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)].replace("-", "_")
    return name


def _module_files(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*")):
        if path.name.endswith(MODULE_SUFFIXES) and path.is_file():
            yield path


def _read(path: Path) -> bytes:
    if path.name.endswith(".xz"):
        try:
            return lzma.decompress(path.read_bytes())
        except (lzma.LZMAError, OSError) as exc:
            raise BTFError(f"cannot decompress: {exc}") from None
    return read_btf_file(path)


def load_images(vmlinux: Path, modules: Path | None) -> Images:
    """vmlinux's kfuncs, then each module's; a module without BTF is skipped, said once."""
    if vmlinux.is_dir():  # /sys/kernel/btf: vmlinux and one file per module
        modules_dir, vmlinux = vmlinux, vmlinux / "vmlinux"
        module_paths = sorted(p for p in modules_dir.iterdir()
                              if p.name != "vmlinux" and p.is_file())
    else:
        module_paths = list(_module_files(modules)) if modules is not None else []
    data = read_btf_file(vmlinux)
    base: BTF = parse_btf_file(data)
    out = Images([Image("vmlinux", index_data(data, base))], [])
    for path in module_paths:
        try:
            raw = _read(path)
            out.images.append(Image(module_name(path), index_data(raw, parse_btf_file(raw, base))))
        except BTFError as exc:
            out.skipped.append(f"{path.name}: {exc}")
    return out


def is_boot_image(path: Path) -> bool:
    """A bzImage (x86 boot protocol: `HdrS` at 0x202), not an ELF vmlinux.

    Only a regular file is opened: a FIFO would block (read_btf_file explains).
    """
    if not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            f.seek(0x202)
            return f.read(4) == b"HdrS"
    except OSError:
        return False


def extract_vmlinux(image: Path, script: bytes | None, dest: Path) -> Path:
    """The ELF vmlinux inside a bzImage, by the tree's scripts/extract-vmlinux, whose
    text the caller took from the tree (as committed, in a git tree): it runs from
    `dest`, never from the tree."""
    if script is None:
        raise KfuncfixError(f"{image} is a compressed boot image: give TREE, whose "
                            "scripts/extract-vmlinux unpacks it")
    runnable = dest / "extract-vmlinux"
    runnable.write_bytes(script)
    out = dest / "vmlinux"
    with out.open("wb") as f:
        done = subprocess.run(["sh", str(runnable), str(image)], stdout=f,
                              stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0 or out.stat().st_size == 0:
        raise KfuncfixError(f"scripts/extract-vmlinux {image} failed: {done.stderr.strip()}")
    return out


def unpack_deb(deb: Path, script: bytes | None, dest: Path) -> tuple[Path, Path]:
    """(vmlinux, modules directory) of a Debian linux-image package."""
    if shutil.which("dpkg-deb") is None:
        raise KfuncfixError("reading a .deb needs dpkg-deb (Debian package dpkg)")
    done = subprocess.run(["dpkg-deb", "-x", str(deb), str(dest / "root")],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KfuncfixError(f"dpkg-deb -x {deb} failed: {done.stderr.strip()}")
    kernels = sorted((dest / "root" / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise KfuncfixError(f"{deb}: no boot/vmlinuz-* inside: not a linux-image package")
    modules = dest / "root" / "lib" / "modules"
    if not modules.is_dir():
        modules = dest / "root" / "usr" / "lib" / "modules"
    return extract_vmlinux(kernels[0], script, dest), modules


def needs_extractor(path: Path) -> bool:
    """Does reading `path` take scripts/extract-vmlinux (a .deb or a bzImage)?"""
    return not path.is_dir() and (path.name.endswith(".deb") or is_boot_image(path))


def load_kernel(path: Path, modules: Path | None, script: bytes | None) -> Images:
    """load_images for any accepted input: vmlinux, BTF directory, bzImage or .deb;
    `script` is the text of the tree's scripts/extract-vmlinux (for the last two)."""
    if path.is_dir() or not (path.name.endswith(".deb") or is_boot_image(path)):
        return load_images(path, modules)
    with tempfile.TemporaryDirectory(prefix="kfuncfix-kernel-") as tmp:
        if path.name.endswith(".deb"):
            vmlinux, shipped = unpack_deb(path, script, Path(tmp))
            return load_images(vmlinux, modules or shipped)
        return load_images(extract_vmlinux(path, script, Path(tmp)), modules)
