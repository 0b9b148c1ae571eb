"""The compilers to measure with: gcc, clang, or Debian's versioned `clang-N`."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.outputs.kbuild import tool_version

_VERSIONED = re.compile(r"^(gcc|clang)-(\d+)$")


@dataclass(frozen=True)
class Compiler:
    name: str  # as asked: gcc, clang, clang-16
    path: str
    version: str  # first line of --version

    @property
    def is_clang(self) -> bool:
        return self.name.startswith("clang")

    @property
    def llvm_suffix(self) -> str:
        """Kbuild's LLVM= value: `1` for the unversioned tools, `-16` for clang-16."""
        found = _VERSIONED.match(self.name)
        return f"-{found.group(2)}" if found else "1"

    @property
    def label(self) -> str:
        found = re.search(r"(\d+\.\d+(?:\.\d+)?)", self.version)
        kind = "clang" if self.is_clang else "gcc"
        return f"{kind} {found.group(1)}" if found else self.name


def package_for(name: str) -> str:
    """The Debian package that installs a compiler of that name."""
    return name  # gcc, gcc-13, clang, clang-16: Debian names them as the command


def find(name: str) -> Compiler | None:
    path = shutil.which(name)
    if path is None:
        return None
    return Compiler(name, path, tool_version([path, "--version"]))


def installed_clangs() -> list[str]:
    """Debian's versioned clang-N commands on PATH, oldest first."""
    found: set[int] = set()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        try:
            entries = list(Path(directory).iterdir())
        except OSError:
            continue
        for entry in entries:
            m = _VERSIONED.match(entry.name)
            if m and m.group(1) == "clang":
                found.add(int(m.group(2)))
    return [f"clang-{v}" for v in sorted(found)]
