"""A whole built kernel: vmlinux and its modules, each module's split BTF resolved against it.

Inputs: `vmlinux` plus a directory of modules (`*.ko`, `*.ko.xz`, searched
recursively, as under /lib/modules/VERSION), or a directory laid out as
/sys/kernel/btf (a `vmlinux` file and one split BTF file per module).
"""

from __future__ import annotations

import lzma
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.kfuncs import KfuncIndex, index_data
from kfuncfix.btf.reader import BTF, parse_btf_file, read_btf_file

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
