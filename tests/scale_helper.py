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


def long_line(n: int) -> dict[str, str]:
    """A kfunc file holding an n-byte line: a table initializer before the kfunc."""
    values = ", ".join("0x7f" for _ in range(n // 6))
    body = (f"static const int table[] = {{ {values} }};\n\n"
            "noinline int bpf_long(int x)\n{\n\treturn table[x];\n}\n")
    return {"kernel/long.c": _set_file(body, ["bpf_long"])}


BUILDERS: dict[str, tuple[Callable[[int], dict[str, str]], str]] = {
    "kfuncs in one file": (many_kfuncs, "diff"),
    "parameters of one kfunc": (many_parameters, "diff"),
    "nested #if": (nested_conditionals, "list"),
    "bytes in one line": (long_line, "diff"),
}


def run(tree: Path, command: str) -> tuple[float, bytes]:
    """Wall seconds and stdout of `kfuncfix COMMAND TREE` run in this process."""
    runner = CliRunner()
    start = time.perf_counter()
    result = runner.invoke(main, [command, str(tree)], catch_exceptions=False)
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    return elapsed, result.stdout_bytes
