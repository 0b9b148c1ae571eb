"""Trees where one quantity grows: kfuncs in one file, parameters, nested `#if`, line length.

Shared by tests/test_trust_scale.py (linear growth, generous bounds) and
benchmarks/bench_scale.py (the figures).  Each builder returns the files of
a small tree; `run` times one kfuncfix command on it in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from kfuncfix.cli import main
from tests.conftest import git_init
from tests.rewrite_helper import small_tree

HEADER = ("// SPDX-License-Identifier: GPL-2.0\n"
          "#include <linux/btf.h>\n#include <linux/btf_ids.h>\n\n")


def _set_file(body: str, names: list[str]) -> str:
    entries = "".join(f"BTF_ID_FLAGS(func, {n})\n" for n in names)
    return (f"{HEADER}{body}\nBTF_SET8_START(ids)\n{entries}BTF_SET8_END(ids)\n\n"
            "static const struct btf_kfunc_id_set set = {\n"
            "\t.owner = THIS_MODULE,\n\t.set   = &ids,\n};\n\n"
            "static int __init init(void)\n{\n"
            "\treturn register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &set);\n}\n")


def many_kfuncs(n: int) -> dict[str, str]:
    """n kfuncs defined in the one file that registers them."""
    names = [f"bpf_k{i}" for i in range(n)]
    body = "".join(f"noinline int {name}(struct task_struct *task, int flags)\n{{\n"
                   f"\treturn flags + {i};\n}}\n\n" for i, name in enumerate(names))
    return {"kernel/many.c": _set_file(body, names)}


def many_parameters(n: int) -> dict[str, str]:
    """One kfunc whose prototype takes n parameters on one line (tagging must wrap it)."""
    params = ", ".join(f"int p{i}" for i in range(n))
    body = f"noinline int bpf_wide({params})\n{{\n\treturn p0;\n}}\n"
    return {"kernel/wide.c": _set_file(body, ["bpf_wide"])}


def nested_conditionals(n: int) -> dict[str, str]:
    """A kfunc inside n nested `#ifdef`s."""
    opens = "".join(f"#ifdef CONFIG_N{i}\n" for i in range(n))
    body = f"{opens}noinline int bpf_deep(int x)\n{{\n\treturn x;\n}}\n" + "#endif\n" * n
    return {"kernel/deep.c": _set_file(body, ["bpf_deep"])}


def long_lines(n: int) -> dict[str, str]:
    """A kfunc file with three lines of about n bytes: a comment, a table, the kfunc's own
    prototype (whose parameters tagging must wrap)."""
    comment = "x" * n
    values = ", ".join("0x7f" for _ in range(n // 6))
    params = ", ".join(f"long p{i}" for i in range(n // 11))
    body = (f"/* {comment} */\nstatic const int table[] = {{ {values} }};\n\n"
            f"noinline int bpf_long({params})\n{{\n\treturn table[p0];\n}}\n")
    return {"kernel/long.c": _set_file(body, ["bpf_long"])}


def macro_entries(n: int) -> dict[str, str]:
    """n kfuncs, each after a `#define` of its own, listed by an entry macro: every
    entry is expanded with the macros defined above it."""
    names = [f"bpf_m{i}" for i in range(n)]
    body = "#define KF(name) BTF_ID_FLAGS(func, name)\n\n" + "".join(
        f"#define {name.upper()}_LIMIT {i}\n__bpf_kfunc int {name}(int flags)\n{{\n"
        f"\treturn flags + {name.upper()}_LIMIT;\n}}\n\n" for i, name in enumerate(names))
    text = _set_file(body, names)
    return {"kernel/macro.c": text.replace("BTF_ID_FLAGS(func, bpf_m", "KF(bpf_m")}


BUILDERS: dict[str, tuple[Callable[[int], dict[str, str]], str]] = {
    "kfuncs in one file": (many_kfuncs, "diff"),
    "parameters of one kfunc": (many_parameters, "diff"),
    "nested #if": (nested_conditionals, "list"),
    "macro-made entries": (macro_entries, "list"),
    "bytes in a line": (long_lines, "diff"),
    "bytes in a line (apply)": (long_lines, "apply"),
}


Clock = Callable[[], float]


def run(tree: Path, command: str, clock: Clock = time.perf_counter) -> tuple[float, bytes]:
    """Seconds (wall by default) and stdout of `kfuncfix COMMAND TREE` run in this process."""
    runner = CliRunner()
    start = clock()
    # --no-cache: the best of several runs must not be a run that scanned nothing.
    result = runner.invoke(main, [command, "--no-cache", str(tree)], catch_exceptions=False)
    elapsed = clock() - start
    assert result.exit_code == 0, result.output
    return elapsed, result.stdout_bytes


def best_time(root: Path, name: str, n: int, runs: int = 3,
              clock: Clock = time.perf_counter) -> float:
    """The fastest of `runs` runs of the builder's command on a fresh tree of size n.

    A fresh tree per run, so that `apply` finds the same work each time; the
    best run, because a shared machine only ever makes a run slower.  Tests
    pass time.process_time: this process's CPU seconds, which other jobs on
    the machine do not inflate.
    """
    build, command = BUILDERS[name]
    files = build(n)
    best = float("inf")
    for attempt in range(runs):
        tree = git_init(small_tree(root / f"{n}-{attempt}", files))
        best = min(best, run(tree, command, clock)[0])
    return best
