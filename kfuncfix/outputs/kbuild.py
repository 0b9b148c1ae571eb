"""The tree's own Kbuild, driven from outside: configure, ask what it builds, compile objects.

Everything goes through `make O=OUT` in a source tree we do not own (a scratch
worktree), with the C locale so that gcc's messages are the ones maintainers
and robots quote.  Nothing here decides what to compile or judges a result:
`outputs.build` does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kfuncfix.errors import KfuncfixError

# The tools a kernel build needs, with the Debian package of each.
TOOLS = (("make", "make"), ("gcc", "gcc"), ("flex", "flex"), ("bison", "bison"),
         ("bc", "bc"), ("pahole", "dwarves"))
HEADERS = (("gelf.h", "libelf-dev"), ("openssl/opensslv.h", "libssl-dev"))
# allmodconfig leaves these off or on in ways that defeat the check: BTF must
# be encoded (pahole runs at link time only with it), and CONFIG_WERROR would
# turn the W=1 warnings we report into errors that stop the build.
BTF_FRAGMENT = """\
CONFIG_DEBUG_INFO_DWARF5=y
CONFIG_DEBUG_INFO_BTF=y
CONFIG_DEBUG_INFO_BTF_MODULES=y
# CONFIG_WERROR is not set
"""
# `  CC [M]  net/bpf/test_run.o`: Kbuild's quiet line for one compile.
_QUIET_CC = re.compile(r"^\s+CC(?: \[M\])?\s+(\S+\.o)$")
_DIAG = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): "
                   r"(?P<level>warning|error|fatal error): (?P<message>.*)$")
_FLAG = re.compile(r"\[(-W[^\]]+)\]$")
_CONFIG_SYMBOL = re.compile(r"\$\(CONFIG_(\w+)\)")
# Top-level directories Kbuild never descends into from the root Kbuild file.
_ROOT_LINE = re.compile(r"^obj-(?:y|\$\(CONFIG_(\w+)\))\s*[:+]?=\s*(.*)$")
ALWAYS_REACHED = frozenset({"arch", "lib"})  # reached through the top Makefile's own lists


@dataclass(frozen=True)
class NotBuilt:
    """Why a configuration does not build an object, from Kbuild's own lists;
    `configurable`: another .config could build it, as opposed to what lies
    outside the kernel's build whatever the configuration (tools/, a directory
    without a Kbuild file)."""

    why: str
    configurable: bool

    def __str__(self) -> str:
        return self.why


@dataclass(frozen=True)
class CompilerWarning:
    """One warning as gcc printed it, with the path relative to the tree."""

    file: str
    line: int
    col: int
    message: str  # what follows `warning: `, the `[-Wflag]` included

    @property
    def flag(self) -> str:
        found = _FLAG.search(self.message)
        return found.group(1) if found else ""

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a warning across patches that move its line."""
        return (self.file, self.message)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: warning: {self.message}"


@dataclass
class Compiled:
    """What one `make ... OBJ` did for one object."""

    obj: str
    ok: bool = False
    warnings: list[CompilerWarning] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def missing_packages() -> list[str]:
    """The Debian packages to install before a build can run (empty when all are there)."""
    missing = [package for tool, package in TOOLS if shutil.which(tool) is None]
    if shutil.which("gcc") is not None:
        for header, package in HEADERS:
            probe = subprocess.run(["gcc", "-E", "-x", "c", "-", "-o", os.devnull],
                                   input=f"#include <{header}>\n", capture_output=True,
                                   text=True, check=False)
            if probe.returncode != 0:
                missing.append(package)
    return missing


def require_tools() -> None:
    missing = missing_packages()
    if missing:
        raise KfuncfixError("--build needs a kernel build toolchain; install it with "
                            f"`apt-get install {' '.join(missing)}`")


def tool_version(command: Sequence[str]) -> str:
    """The first line a tool prints for its version (`gcc (Debian 12.2.0-14) 12.2.0`)."""
    done = subprocess.run(list(command), capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().split("\n")[0]


def parse_compile_output(text: str, srctree: Path, wanted: Iterable[str]) -> dict[str, Compiled]:
    """Warnings and errors of each object from make's output (run with --output-sync).

    Each compile's messages follow its quiet `CC` line; paths into the scratch
    tree are made relative to it.
    """
    results = {obj: Compiled(obj) for obj in wanted}
    prefix = f"{srctree}/"
    current: Compiled | None = None
    for line in text.splitlines():
        quiet = _QUIET_CC.match(line)
        if quiet:
            current = results.get(quiet.group(1))
            continue
        found = _DIAG.match(line)
        if not found or current is None:
            continue
        path = found["file"].removeprefix(prefix)
        if found["level"] == "warning":
            current.warnings.append(CompilerWarning(path, int(found["line"]),
                                                    int(found["col"]), found["message"]))
        else:
            current.errors.append(f"{path}:{found['line']}:{found['col']}: "
                                  f"{found['level']}: {found['message']}")
    return results


def source_deps(cmd_file: Path, srctree: Path) -> list[str]:
    """The tree files an object was compiled from, as fixdep recorded them in its .cmd."""
    try:
        text = cmd_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    prefix = f"{srctree}/"
    deps = set()
    for word in text.replace("\\\n", " ").split():
        if word.startswith(prefix):
            deps.add(word.removeprefix(prefix).rstrip(")"))
    return sorted(deps)


class Kbuild:
    """One source tree and one output directory, as `make O=OUT` sees them."""

    def __init__(self, srctree: Path, objtree: Path, jobs: int,
                 progress: Callable[[str], None]) -> None:
        self.srctree = srctree
        self.objtree = objtree
        self.jobs = jobs
        self.progress = progress
        self._lists: dict[str, tuple[set[str], set[str], set[str]]] = {}

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # gcc's own words with plain quotes; Kbuild unexports LC_ALL, so LANG too.
        env["LC_ALL"] = env["LANG"] = "C"
        env.pop("MAKEFLAGS", None)
        return env

    def make(self, args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
        command = ["make", f"O={self.objtree}", *args]
        done = subprocess.run(command, cwd=self.srctree, env=self._env(), capture_output=True,
                              text=True, check=False)
        if done.returncode != 0 and what:
            tail = "\n".join((done.stdout + done.stderr).strip().split("\n")[-8:])
            raise KfuncfixError(f"{what} failed (make {' '.join(args)}):\n{tail}")
        return done

    def configure(self, config: Path | None) -> None:
        """`.config` from the user's file, or allmodconfig plus BTF_FRAGMENT; then olddefconfig."""
        self.objtree.mkdir(parents=True, exist_ok=True)
        dot_config = self.objtree / ".config"
        if config is None:
            self.progress("configuring: make allmodconfig")
            self.make(["allmodconfig"], what="make allmodconfig")
            fragment = self.objtree / "kfuncfix-btf.config"
            fragment.write_text(BTF_FRAGMENT, encoding="utf-8")
            done = subprocess.run(
                ["sh", str(self.srctree / "scripts/kconfig/merge_config.sh"), "-m", "-O",
                 str(self.objtree), str(dot_config), str(fragment)],
                cwd=self.srctree, env=self._env(), capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise KfuncfixError(f"merge_config.sh failed: {done.stderr.strip()}")
        else:
            shutil.copyfile(config, dot_config)
            # W=1 warnings are what we report: CONFIG_WERROR would make them errors.
            subprocess.run([str(self.srctree / "scripts/config"), "--file", str(dot_config),
                            "--disable", "WERROR"], check=False, capture_output=True)
        self.progress("configuring: make olddefconfig")
        self.make(["olddefconfig"], what="make olddefconfig")

    def prepare(self) -> None:
        self.progress("preparing the build directory (make prepare; once per directory)")
        self.make([f"-j{self.jobs}", "prepare"], what="make prepare")

    def compile(self, objects: Sequence[str],
                on_object: Callable[[str], None] | None = None) -> dict[str, Compiled]:
        """Compile objects with W=1; every one is compiled (its old output removed first)."""
        for obj in objects:
            (self.objtree / obj).unlink(missing_ok=True)
        # -k: one object that fails does not stop the others; -Otarget keeps each
        # compile's messages together, after its quiet CC line.
        command = ["make", f"O={self.objtree}", f"-j{self.jobs}", "-k", "--output-sync=target",
                   "W=1", *objects]
        lines: list[str] = []
        with subprocess.Popen(command, cwd=self.srctree, env=self._env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              errors="replace") as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                quiet = _QUIET_CC.match(line.rstrip("\n"))
                if quiet and on_object:
                    on_object(quiet.group(1))
        results = parse_compile_output("".join(lines), self.srctree, objects)
        for obj, result in results.items():
            result.ok = (self.objtree / obj).is_file() and not result.errors
            if not result.ok and not result.errors:
                result.errors = [line.rstrip("\n") for line in lines
                                 if "***" in line or "error" in line.lower()][:5]
        return results

    # -- what the configuration builds ------------------------------------------

    def why_not_built(self, obj: str) -> NotBuilt | None:
        """None when the configuration builds obj; else why not (see NotBuilt)."""
        parts = obj.split("/")
        if len(parts) < 2:
            return NotBuilt("not in a directory Kbuild builds", False)
        top = parts[0]
        reason = self._root_reason(top)
        if reason:
            return reason
        # arch/ has no Kbuild file: the root reaches arch/$(SRCARCH)/ directly.
        first = 2 if top == "arch" else 1
        for depth in range(first, len(parts) - 1):
            parent, child = "/".join(parts[:depth]), "/".join(parts[:depth + 1])
            if not self._has_kbuild_file(parent):
                return NotBuilt(f"{parent}/ has no Kbuild file", False)
            if child not in self._dir_lists(parent)[2]:
                return self._unset(parent, parts[depth] + "/",
                                   f"{parent}/Makefile does not descend into {parts[depth]}/")
        directory = "/".join(parts[:-1])
        if not self._has_kbuild_file(directory):
            return NotBuilt(f"{directory}/ has no Kbuild file", False)
        built_in, modular, _ = self._dir_lists(directory)
        if obj in built_in or obj in modular:
            return None
        return self._unset(directory, parts[-1], f"{directory}/Makefile does not list it")

    def _has_kbuild_file(self, directory: str) -> bool:
        return any((self.srctree / directory / name).is_file() for name in ("Kbuild", "Makefile"))

    def _root_reason(self, top: str) -> NotBuilt | None:
        if top in ALWAYS_REACHED:
            return None
        text = self._kbuild_text(".")
        for line in text.splitlines():
            found = _ROOT_LINE.match(line.strip())
            if found and f"{top}/" in found.group(2).split():
                symbol = found.group(1)
                if symbol and self._config_value(symbol) not in ("y", "m"):
                    return NotBuilt(f"needs CONFIG_{symbol} (not set)", True)
                return None
        return NotBuilt(f"{top}/ is not part of the kernel build", False)

    def _kbuild_text(self, directory: str) -> str:
        for name in ("Kbuild", "Makefile"):
            path = self.srctree / directory / name
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
        return ""

    def _unset(self, directory: str, name: str, fallback: str) -> NotBuilt:
        """Name the config symbols of the Makefile lines that mention name, when unset.
        Without one (`fallback`) the object still counts as one a configuration could
        build: a .c file the Makefile never lists is most likely compiled inside
        another object (`#include "ext.c"`), which a check must not pass unbuilt."""
        symbols: list[str] = []
        for line in self._kbuild_text(directory).splitlines():
            if re.search(rf"(?<![\w/.-]){re.escape(name)}(?![\w/.-])", line):
                symbols += _CONFIG_SYMBOL.findall(line)
        unset = [s for s in dict.fromkeys(symbols) if self._config_value(s) not in ("y", "m")]
        if unset:
            return NotBuilt("needs " + ", ".join(f"CONFIG_{s}" for s in unset) + " (not set)",
                            True)
        return NotBuilt(fallback, True)

    def _config_value(self, symbol: str) -> str:
        path = self.objtree / ".config"
        if not hasattr(self, "_config"):
            self._config: dict[str, str] = {}
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("CONFIG_") and "=" in line:
                    key, value = line.split("=", 1)
                    self._config[key.removeprefix("CONFIG_")] = value
        return self._config.get(symbol, "")

    def _dir_lists(self, directory: str) -> tuple[set[str], set[str], set[str]]:
        """Kbuild's real-obj-y, real-obj-m and subdirectories of one directory.

        Makefile.build evaluates the directory's Makefile exactly as a build
        would; the extra target only prints the lists.  `existing-targets=`
        keeps it from reading (and so remaking) the .cmd files of a build.
        Since Linux 6.10 Makefile.build finds the directory's Makefile through
        $(VPATH) (7.x: $(srcroot)), which the top Makefile sets: so do we.
        """
        if directory not in self._lists:
            printer = ("kfuncfix-lists: ; $(info y:$(real-obj-y)) $(info m:$(real-obj-m)) "
                       "$(info d:$(subdir-ym)) @:")
            command = ["make", "-s", "-f", str(self.srctree / "scripts/Makefile.build"),
                       f"obj={directory}", f"srctree={self.srctree}", "objtree=.",
                       f"VPATH={self.srctree}", f"srcroot={self.srctree}",
                       "need-modorder=1", "existing-targets=", f"--eval={printer}",
                       "kfuncfix-lists"]
            done = subprocess.run(command, cwd=self.objtree, env=self._env(),
                                  capture_output=True, text=True, check=False)
            lists: dict[str, set[str]] = {"y": set(), "m": set(), "d": set()}
            for line in done.stdout.splitlines():
                if line[:2] in ("y:", "m:", "d:"):
                    lists[line[0]] = set(line[2:].split())
            self._lists[directory] = (lists["y"], lists["m"], lists["d"])
        return self._lists[directory]
