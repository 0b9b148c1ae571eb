"""Costs grow linearly: discovery with the files that hold sets, each command with its input.

The argument, checked here by counting rather than timing: discovery runs a
fixed number of tree-wide byte searches (git grep or grep, in C), reads and
scans each file those searches name once, and resolves every kfunc name
with dictionary lookups into the scanned files.  Names not defined in their
set's file are looked up in the files already read, and the rest with one
more search, for all of them at once.  So on
synthetic trees where only the number of kfuncs changes, the files read,
the files scanned and the searches run stay the same; adding files that
hold no set adds nothing; adding set files adds exactly those files.

The second half times the shapes that used to explode (tests/scale_helper.py
builds them): many kfuncs in one file (`diff` ran difflib over the whole
file), many parameters (wrapping was cubic), deeply nested `#if` (the
condition stack was copied per directive) and very long lines.
"""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfuncfix.btf.kfuncs import BPF_KFUNC_TAG
from kfuncfix.discover import discover
from kfuncfix.discovery import reader as reader_module
from kfuncfix.engine import load_rule, plan
from kfuncfix.source.scan import scan
from kfuncfix.treefiles import TreeFiles
from tests.btf_writer import BTFWriter
from tests.conftest import REPO, git_init
from tests.rewrite_helper import small_tree
from tests.scale_helper import BUILDERS, best_time, run


@dataclass(frozen=True)
class Cost:
    read: Counter[str]  # file -> times read
    scanned: Counter[str]
    searches: int
    kfuncs: int
    rewritten: int


def synthetic_tree(root: Path, set_files: int, kfuncs: int, other_files: int,
                   def_files: int = 2) -> Path:
    """`set_files` files with a kfunc set each; half the kfuncs defined in `def_files`
    other files; `other_files` C files that hold no set and name no kfunc."""
    files: dict[str, str] = {}
    bodies = {f"kernel/defs{j}.c": "#include <linux/btf.h>\n\n" for j in range(def_files)}
    for i in range(set_files):
        names = [f"bpf_k{i}_{n}" for n in range(kfuncs // set_files)]
        local = "".join(f"static noinline int {n}(int x)\n{{\n\treturn x;\n}}\n\n"
                        for n in names[::2])
        for name in names[1::2]:
            remote = sum(body.count("noinline") for body in bodies.values())
            bodies[f"kernel/defs{remote % def_files}.c"] += (
                f"noinline int {name}(int x)\n{{\n\treturn x + 1;\n}}\n\n")
        entries = "".join(f"BTF_ID_FLAGS(func, {n})\n" for n in names)
        files[f"kernel/set{i}.c"] = (
            "// SPDX-License-Identifier: GPL-2.0\n#include <linux/btf.h>\n"
            f"#include <linux/btf_ids.h>\n\n{local}"
            f"BTF_SET8_START(ids{i})\n{entries}BTF_SET8_END(ids{i})\n\n"
            f"static const struct btf_kfunc_id_set set{i} = {{\n"
            f"\t.owner = THIS_MODULE,\n\t.set   = &ids{i},\n}};\n\n"
            f"static int __init init{i}(void)\n{{\n"
            f"\treturn register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &set{i});\n}}\n")
    for n in range(other_files):
        files[f"drivers/other{n}.c"] = f"int other_{n}(int x)\n{{\n\treturn x * {n};\n}}\n"
    return git_init(small_tree(root, {**files, **bodies}))


def measure(tree: Path, monkeypatch: pytest.MonkeyPatch) -> Cost:
    read: Counter[str] = Counter()
    scanned: Counter[str] = Counter()
    searches = [0]
    real_read, real_grep = TreeFiles.read, TreeFiles.grep_start

    def counting_read(self: TreeFiles, rel: str) -> bytes:
        read[rel] += 1
        return real_read(self, rel)

    def counting_grep(self: TreeFiles, *args, **kwargs):
        searches[0] += 1
        return real_grep(self, *args, **kwargs)

    def counting_scan(path: str, data: bytes):
        scanned[path] += 1
        return scan(path, data)

    with monkeypatch.context() as patch:
        patch.setattr(TreeFiles, "read", counting_read)
        patch.setattr(TreeFiles, "grep_start", counting_grep)
        patch.setattr(reader_module, "scan", counting_scan)
        index = discover(tree, cache=False)  # what discovery reads, not the cache
    result = plan(index, load_rule("bpf_kfunc_tag"))
    return Cost(read, scanned, searches[0], len(index.kfuncs), len(result.kfuncs))


def test_more_kfuncs_read_no_more_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    few = measure(synthetic_tree(tmp_path / "few", 4, 8, 20), monkeypatch)
    many = measure(synthetic_tree(tmp_path / "many", 4, 800, 20), monkeypatch)
    assert (few.kfuncs, many.kfuncs) == (8, 800)
    assert (few.rewritten, many.rewritten) == (8, 800)
    expected = {f"kernel/set{i}.c" for i in range(4)} | {"kernel/defs0.c", "kernel/defs1.c"}
    assert set(few.read) == set(many.read) == expected
    assert set(few.scanned) == set(many.scanned) == expected
    # Each file is read and scanned once, however many kfuncs it holds.
    assert max(many.read.values()) == max(many.scanned.values()) == 1
    assert few.searches == many.searches


def test_files_without_sets_are_never_read(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    small = measure(synthetic_tree(tmp_path / "small", 3, 30, 5), monkeypatch)
    large = measure(synthetic_tree(tmp_path / "large", 3, 30, 500), monkeypatch)
    assert small.read == large.read and small.searches == large.searches


def test_files_read_grow_with_set_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = [len(measure(synthetic_tree(tmp_path / f"t{n}", n, 12 * n, 10), monkeypatch).read)
              for n in (2, 6, 12)]
    assert counts == [2 + 2, 6 + 2, 12 + 2]  # the set files, and the two definition files


# Linear growth, timed: each shape at N and 4N, the best of 3 runs each, in CPU
# seconds of this process (a busy machine only ever slows a run down, and
# least so its CPU time).  Linear code takes 4x at 4N and quadratic code 16x;
# the bound sits between them at 8x, so that one noisy run of a fraction of a
# second (2x and more in CI: 0.11 s at 200,000 bytes, 0.34 s at 400,000) can
# fail neither way.  The absolute bounds are 10x what a loaded 2-core machine
# needs, and far below what the quadratic and cubic code took (diff of 1,000
# kfuncs: 282 s; 4,000 parameters: over 200 s; 10,000 nested #if: 68 s).
SCALE_CASES = {
    "kfuncs in one file": (500, 10.0),
    "parameters of one kfunc": (16000, 10.0),
    "nested #if": (10000, 10.0),
    "macro-made entries": (500, 10.0),
    "bytes in a line": (100_000, 10.0),
    "bytes in a line (apply)": (100_000, 10.0),
}


@pytest.mark.parametrize("name", SCALE_CASES)
def test_cost_grows_linearly(name: str, tmp_path: Path) -> None:
    n, bound = SCALE_CASES[name]
    once = best_time(tmp_path / "n", name, n, clock=time.process_time)
    larger = best_time(tmp_path / "4n", name, 4 * n, clock=time.process_time)
    assert larger < bound, f"{name}: {larger:.2f} s at N={4 * n}"
    assert larger < 8 * once, f"{name}: {once:.2f} s at N={n}, {larger:.2f} s at N={4 * n}"


def test_scale_trees_are_rewritten(tmp_path: Path) -> None:
    """The timed trees do what they say: every kfunc tagged, the wide prototype wrapped."""
    for name, (build, command) in BUILDERS.items():
        tree = git_init(small_tree(tmp_path / name.replace(" ", "-"), build(300)))
        _, out = run(tree, command)
        if name == "kfuncs in one file":
            assert out.count(b"\n+__bpf_kfunc int bpf_k") == 300
        elif name == "parameters of one kfunc":
            added = [line for line in out.splitlines()
                     if line.startswith(b"+") and not line.startswith(b"+++")]
            assert len(added) > 20 and all(len(line) <= 101 for line in added)
        elif name == "nested #if":
            assert b"bpf_deep" in out
        elif name == "macro-made entries":
            assert out.count(b" kfunc   tagged ") == 300  # every entry expanded
        elif command == "apply":
            assert b"__bpf_kfunc int bpf_long(long p0," in (tree / "kernel/long.c").read_bytes()


# `audit --btf` reads only regular files, only as far as their headers say.
def _audit(*args: str | Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`kfuncfix audit` in a child process, so that a hang fails the test instead of it."""
    return subprocess.run([sys.executable, "-m", "kfuncfix", "audit", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2 and not result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("kfuncfix: error: ")
    return line


def _kfunc_btf() -> bytes:
    w = BTFWriter()
    w.decl_tag(BPF_KFUNC_TAG, w.func("bpf_fine", w.func_proto(w.int_type("int", 4), [])))
    return w.to_bytes()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_audit_refuses_a_device(device: str) -> None:
    assert _one_error(_audit("--btf", device)).endswith(
        f"{device}: not a regular file (a character device)")


def test_audit_does_not_wait_on_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "btf"
    os.mkfifo(fifo)
    assert _one_error(_audit("--btf", fifo, timeout=20)).endswith(
        f"{fifo}: not a regular file (a FIFO)")
    good = tmp_path / "good.btf"
    good.write_bytes(_kfunc_btf())
    assert _one_error(_audit("--btf", good, "--base", fifo, timeout=20)).endswith(
        f"{good}: base {fifo}: not a regular file (a FIFO)")


def test_audit_reads_no_more_than_the_header_says(tmp_path: Path) -> None:
    """A huge file is judged by its first bytes; trailing bytes past the BTF are never read."""
    zeros = tmp_path / "zeros"
    with zeros.open("wb") as f:
        f.truncate(8 << 30)  # 8 GiB, sparse: reading it whole would not end well
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    assert "not BTF: bad magic" in _one_error(_audit("--btf", zeros))
    assert time.perf_counter() - start < 20
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < max(before, 1 << 20)  # KiB

    padded = tmp_path / "padded.btf"
    with padded.open("wb") as f:
        f.write(_kfunc_btf())
        f.truncate(8 << 30)
    result = _audit("--btf", padded)
    assert result.returncode == 0, result.stderr
    assert "1 kfunc in BTF" in result.stdout


def test_audit_refuses_a_header_longer_than_the_file(tmp_path: Path) -> None:
    data = bytearray(_kfunc_btf())
    struct.pack_into("<I", data, 20, struct.unpack_from("<I", data, 20)[0] + (1 << 30))
    short = tmp_path / "short.btf"
    short.write_bytes(bytes(data))
    line = _one_error(_audit("--btf", short))
    assert f"header describes {len(data) + (1 << 30)} bytes, the file has {len(data)}" in line


def test_stray_closers_on_a_long_line_scan_linearly() -> None:
    """`x = ((((…}}}}`: each stray `}` used to search the whole bracket stack."""
    def best(n: int) -> float:
        data = b"x = " + b"(" * n + b"}" * n + b";\n"
        times = []
        for _ in range(3):
            start = time.process_time()
            assert len(scan("a.c", data).warnings) == n + 1
            times.append(time.process_time() - start)
        return min(times)

    once, larger = best(25_000), best(100_000)  # 4x the input: 16x if quadratic
    assert larger < 5 and larger < 8 * once, (once, larger)
