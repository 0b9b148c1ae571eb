"""Real kfunc files of a tree, compiled through the tree's own Kbuild once per marker.

One build directory per (tree commit, compiler): allnoconfig plus FRAGMENT,
`make prepare`, then `make path/file.o` once per file, all cached in the
user's cache directory next to `--build`'s.  Per marker, Kbuild's saved
command line (`.file.o.cmd`: `cmd_...` in 6.1, `savedcmd_...` later) is
replayed on a copy of the file whose kfunc definitions carry the marker
instead of their own (`__bpf_kfunc`, `noinline`, ...), with the marker given
as a -D and a scratch output: the build directory is never changed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError
from kfuncfix.experiment.compilers import Compiler
from kfuncfix.experiment.markers import Marker
from kfuncfix.experiment.probe import KfuncUnderTest, first_error
from kfuncfix.experiment.run import Result, Target
from kfuncfix.model import RISK_STATIC_NO_NOINLINE, RISK_UNUSED_PARAMS, TreeIndex
from kfuncfix.outputs.build import default_build_root
from kfuncfix.outputs.kbuild import Kbuild, require_tools

Progress = Callable[[str], None]
MARKER_MACRO = "__kfunc_marker"
# The words that made a kfunc definition what it is: replaced by the marker.
MARKER_WORDS = frozenset({"__bpf_kfunc", "noinline", "__noinline", "__used", "__weak",
                          "__retain", "noipa"})
# What the chosen files need, on top of allnoconfig (BPF, BTF, the net stack,
# conntrack/NAT, TCP congestion control modules built in; tcp_cubic registers
# its kfuncs only on x86 with dynamic ftrace).
FRAGMENT = """\
CONFIG_64BIT=y
CONFIG_DEBUG_KERNEL=y
CONFIG_DEBUG_INFO_DWARF5=y
CONFIG_DEBUG_INFO_BTF=y
CONFIG_BPF_SYSCALL=y
CONFIG_BPF_JIT=y
CONFIG_NET=y
CONFIG_INET=y
CONFIG_CGROUPS=y
CONFIG_NETFILTER=y
CONFIG_NETFILTER_ADVANCED=y
CONFIG_NF_CONNTRACK=y
CONFIG_NF_NAT=y
CONFIG_TCP_CONG_ADVANCED=y
CONFIG_TCP_CONG_CUBIC=y
CONFIG_TCP_CONG_BBR=y
CONFIG_TCP_CONG_DCTCP=y
CONFIG_FTRACE=y
CONFIG_FUNCTION_TRACER=y
CONFIG_DYNAMIC_FTRACE=y
"""
PREPARED = "kfuncfix-prepared"
_CMD_LINE = re.compile(r"^(?:saved)?cmd_\S+\s*:=\s*(.*)$")


class _Kbuild(Kbuild):
    """Kbuild with make variables on every call (`LLVM=1` for clang)."""

    def __init__(self, srctree: Path, objtree: Path, variables: Sequence[str],
                 progress: Progress) -> None:
        super().__init__(srctree, objtree, os.cpu_count() or 1, progress)
        self.variables = list(variables)

    def make(self, args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
        return super().make([*self.variables, *args], what=what)


def choose_files(index: TreeIndex, limit: int = 3) -> list[str]:
    """A few files that cover the shapes: most static kfuncs (their address is taken by
    struct ops), most kfuncs with unused parameters, most global kfuncs."""
    per_file: dict[str, list[set[str]]] = {}
    for kfunc in index.kfuncs:
        for d in kfunc.definitions:
            if not d.file.startswith("tools/"):
                per_file.setdefault(d.file, []).append(set(d.risks))
    rankings: list[Callable[[list[set[str]]], int]] = [
        lambda risks: sum(RISK_STATIC_NO_NOINLINE in r for r in risks),
        lambda risks: sum(RISK_UNUSED_PARAMS in r for r in risks),
        lambda risks: sum(RISK_STATIC_NO_NOINLINE not in r for r in risks),
    ]
    chosen: list[str] = []
    for score in rankings:
        left = [f for f in sorted(per_file) if f not in chosen and score(per_file[f])]
        if left and len(chosen) < limit:
            chosen.append(max(left, key=lambda f: score(per_file[f])))
    return chosen


def marked_source(index: TreeIndex, path: str) -> tuple[bytes, list[KfuncUnderTest]]:
    """The file with every kfunc definition's own marker words replaced by MARKER_MACRO."""
    source = index.sources.get(path)
    if source is None:
        raise KfuncfixError(f"--file {path}: no kfunc of the tree is defined there")
    defs = [(k, d) for k in index.kfuncs for d in k.definitions
            if d.file == path and not d.func.macro]
    edits: dict[int, tuple[int, bytes]] = {}
    kfuncs: dict[str, KfuncUnderTest] = {}
    for kfunc, d in defs:
        kfuncs.setdefault(kfunc.name, KfuncUnderTest(kfunc.name, d.prototype))
        for spec in d.func.specifiers:
            if spec.text in MARKER_WORDS:
                end = spec.end
                while source.data[end:end + 1] in (b" ", b"\t"):
                    end += 1  # the word and its blanks: no double spaces left behind
                edits[spec.start] = (end, b"")
        start = d.func.start
        end, text = edits.get(start, (start, b""))
        edits[start] = (end, MARKER_MACRO.encode() + b" " + text)
    data = source.data
    for start in sorted(edits, reverse=True):
        end, text = edits[start]
        data = data[:start] + text + data[end:]
    if not kfuncs:
        raise KfuncfixError(f"--file {path}: no kfunc of the tree is defined there")
    return data, list(kfuncs.values())


def replay_command(cmd_file: Path, source: Path, copy: Path, out: Path,
                   marker: Marker) -> list[str]:
    """Kbuild's saved compile of one object, on copy, into out, with the marker defined."""
    try:
        first = cmd_file.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        raise KfuncfixError(f"{cmd_file}: Kbuild's saved command line is missing") from None
    found = _CMD_LINE.match(first)
    if not found:
        raise KfuncfixError(f"{cmd_file}: no cmd_/savedcmd_ line")
    words = shlex.split(found.group(1))
    if ";" in words:  # objtool and friends run after the compile: not ours
        words = words[: words.index(";")]
    argv: list[str] = []
    skip = False
    for word in words:
        if skip:
            argv.append(str(out))
            skip = False
        elif word == "-o":
            argv.append(word)
            skip = True
        elif word.startswith("-Wp,-MMD") or word.startswith("-Wp,-MD"):
            continue
        elif word.endswith(".c") and Path(word).name == source.name:
            argv.append(str(copy))
        else:
            argv.append(word)
    # The copy lives elsewhere: its quoted includes are the original directory's.
    return [*argv, f"-iquote{source.parent}", f"-D{MARKER_MACRO}={marker.c_text()}"]


class KbuildFile:
    """One file of the tree as an experiment target."""

    def __init__(self, kbuild: Kbuild, path: str, data: bytes,
                 kfuncs: list[KfuncUnderTest]) -> None:
        self.kbuild, self.path, self.data, self.kfuncs = kbuild, path, data, kfuncs
        self.label = path

    def compile(self, compiler: Compiler, marker: Marker, scratch: Path) -> tuple[Path | None, str]:
        copy = scratch / Path(self.path).name
        copy.write_bytes(self.data)
        obj = scratch / (copy.stem + ".o")
        cmd_file = self.kbuild.objtree / Path(self.path).parent / f".{copy.stem}.o.cmd"
        argv = replay_command(cmd_file, self.kbuild.srctree / self.path, copy, obj, marker)
        env = dict(os.environ, LC_ALL="C", LANG="C")
        done = subprocess.run(argv, cwd=self.kbuild.objtree, capture_output=True, text=True,
                              check=False, env=env)
        if done.returncode != 0 or not obj.is_file():
            # Name the tree's file, not the scratch copy the error was reported in.
            return None, first_error(done.stderr.replace(str(copy), self.path))
        return obj, ""


def _missing_llvm_tools(compiler: Compiler) -> list[str]:
    """The Debian packages Kbuild's LLVM= build needs beside clang (lld and llvm)."""
    if not compiler.is_clang:
        return []
    suffix = "" if compiler.llvm_suffix == "1" else compiler.llvm_suffix
    needs = (("ld.lld", "lld"), ("llvm-ar", "llvm"), ("llvm-objcopy", "llvm"))
    return list(dict.fromkeys(f"{package}{suffix}" for tool, package in needs
                              if shutil.which(tool + suffix) is None))


def _tree_key(tree: Path, compiler: Compiler) -> str:
    commit = gitrun.resolve_commit(tree, "HEAD") if (tree / ".git").exists() else None
    data = "\n".join([commit or str(tree.resolve()), compiler.name, compiler.version, FRAGMENT])
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def prepared_kbuild(tree: Path, compiler: Compiler, build_dir: Path | None,
                    progress: Progress) -> _Kbuild:
    """The configured and prepared build directory for this tree and compiler (cached)."""
    root = build_dir or default_build_root()
    out = root / f"experiment-{compiler.name}-{_tree_key(tree, compiler)}"
    variables = [f"LLVM={compiler.llvm_suffix}"] if compiler.is_clang else [f"CC={compiler.path}"]
    kbuild = _Kbuild(tree.resolve(), out, variables, progress)
    if (out / PREPARED).is_file():
        return kbuild
    progress(f"{compiler.label}: make allnoconfig + fragment in {out}")
    allnoconfig_with(kbuild, out, FRAGMENT, {"CONFIG_DEBUG_INFO_BTF=y": "pahole too old?"})
    progress(f"{compiler.label}: make prepare (once per tree and compiler)")
    kbuild.prepare()
    (out / PREPARED).write_text("")
    return kbuild


def allnoconfig_with(kbuild: _Kbuild, out: Path, fragment: str,
                     wanted: dict[str, str]) -> None:
    """`make allnoconfig` with `fragment` (KCONFIG_ALLCONFIG) in `out`, then each of
    `wanted` (a .config line -> what its absence usually means) checked: Kconfig drops
    what the toolchain cannot do without a word."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "kfuncfix-experiment.config"
    path.write_text(fragment, encoding="utf-8")
    kbuild.make([f"KCONFIG_ALLCONFIG={path}", "allnoconfig"], what="make allnoconfig")
    config = (out / ".config").read_text(encoding="utf-8", errors="replace")
    for line, hint in wanted.items():
        if line not in config:
            raise KfuncfixError(f"{out}/.config: {line.partition('=')[0]} did not stick "
                                f"({hint})")


def tree_runs(tree: Path, files: list[str], compilers: Sequence[Compiler],
              build_dir: Path | None, progress: Progress,
              result: Result) -> Iterator[tuple[Compiler, list[Target]]]:
    """Per compiler: the prepared Kbuild's targets, each file's object built once.

    Preparing counts against the budget: its time is added to the result's.
    """
    from kfuncfix.pipeline import Request, run_plan

    if not (tree / "Makefile").is_file() or not (tree / "Kbuild").is_file():
        raise KfuncfixError(f"{tree}: not a kernel tree (no Makefile and Kbuild)")
    require_tools()
    progress("discovering the tree's kfuncs")
    # The one path every command takes: the tree's own .kfuncfix.toml words count.
    index = run_plan(Request(tree=tree, lint=True)).index
    chosen = [f.removeprefix("./") for f in files] or choose_files(index)
    for path in chosen:
        if not path.endswith(".c"):
            raise KfuncfixError(f"--file {path}: not a C file of the tree")
    if not files:
        result.notes.append("files chosen from the tree's kfuncs: " + ", ".join(chosen))
    sources = {path: marked_source(index, path) for path in chosen}
    for compiler in compilers:
        start = time.monotonic()
        missing = _missing_llvm_tools(compiler)
        if missing:
            result.notes.append(f"{compiler.label}: Kbuild's LLVM={compiler.llvm_suffix} needs "
                                f"{' '.join(missing)}: the tree's files skipped with it")
            continue
        try:
            kbuild = prepared_kbuild(tree, compiler, build_dir, progress)
        except KfuncfixError as exc:  # one compiler's failure; the others still run
            result.notes.append(f"{compiler.label}: {str(exc).splitlines()[0]}")
            continue
        targets: list[Target] = []
        for path, (data, kfuncs) in sources.items():
            obj = path[:-2] + ".o"
            reason = kbuild.why_not_built(obj)
            if reason:
                result.notes.append(f"{path} ({compiler.label}): not built: {reason}")
                continue
            if not (kbuild.objtree / Path(obj).parent / f".{Path(obj).name}.cmd").is_file():
                progress(f"{compiler.label}: make {obj}")
                done = kbuild.make([f"-j{kbuild.jobs}", obj], what="")
                if done.returncode != 0:
                    result.notes.append(f"{path} ({compiler.label}): Kbuild failed: "
                                        + first_error(done.stdout + done.stderr))
                    continue
            targets.append(KbuildFile(kbuild, path, data, kfuncs))
        result.seconds += time.monotonic() - start
        yield compiler, targets
