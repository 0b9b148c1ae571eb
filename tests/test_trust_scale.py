"""Discovery's cost grows with the files that hold sets, not with kfuncs times files.

The argument, checked here by counting rather than timing: discovery runs a
fixed number of tree-wide byte searches (git grep or grep, in C), reads and
scans each file those searches name once, and resolves every kfunc name
with dictionary lookups into the scanned files.  Names not defined in their
set's file are looked up in the files already read, and the rest with one
more search, for all of them at once.  So on
synthetic trees where only the number of kfuncs changes, the files read,
the files scanned and the searches run stay the same; adding files that
hold no set adds nothing; adding set files adds exactly those files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfuncfix.discover import discover
from kfuncfix.discovery import reader as reader_module
from kfuncfix.engine import load_rule, plan
from kfuncfix.source.scan import scan
from kfuncfix.treefiles import TreeFiles
from tests.conftest import git_init
from tests.rewrite_helper import small_tree


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
        index = discover(tree)
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
