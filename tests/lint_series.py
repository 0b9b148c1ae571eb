"""Commits a kernel developer makes, on a writable copy of a real tree: for timing
`check --git` and for comparing its fast path with reading each revision.

Each kind touches what a real series touches: a kfunc added untagged to
kernel/bpf/helpers.c, lines moved above the kfuncs of net/core/filter.c, a new
file (with a non-ASCII name) holding a tagged kfunc, a documentation change,
a change to a C file without kfuncs, and a kfunc file renamed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org",
           GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.org",
           GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8", errors="surrogateescape")


def make_commits(tree: Path, count: int) -> list[str]:
    """`count` commits on tree's HEAD, the kinds in turn; their subjects."""
    subjects = []
    renamed = "kernel/bpf/crypto.c"
    for n in range(count):
        kind = n % 6
        if kind == 0:
            helpers = tree / "kernel/bpf/helpers.c"
            _edit(helpers, "__bpf_kfunc_start_defs();\n",
                  f"__bpf_kfunc_start_defs();\n\nint bpf_lint{n}(int a)\n{{\n\treturn a;\n}}\n")
            _edit(helpers, "BTF_KFUNCS_START(generic_btf_ids)\n",
                  f"BTF_KFUNCS_START(generic_btf_ids)\nBTF_ID_FLAGS(func, bpf_lint{n})\n")
            subject = f"bpf: Add bpf_lint{n}"
        elif kind == 1:
            _edit(tree / "net/core/filter.c", "\n__bpf_kfunc_start_defs();\n",
                  f"\n/* moved {n} */\n/* moved */\n__bpf_kfunc_start_defs();\n")
            subject = "net: Move the kfuncs down"
        elif kind == 2:
            name = f"lint{n}"
            (tree / f"kernel/bpf/{name}_caf\u00e9.c").write_text(
                "// SPDX-License-Identifier: GPL-2.0\n#include <linux/btf.h>\n"
                f"#include <linux/btf_ids.h>\n\n__bpf_kfunc int bpf_{name}(int a)\n{{\n"
                f"\treturn a;\n}}\n\nBTF_KFUNCS_START({name}_ids)\n"
                f"BTF_ID_FLAGS(func, bpf_{name})\nBTF_KFUNCS_END({name}_ids)\n\n"
                f"static const struct btf_kfunc_id_set {name}_set = {{\n"
                f"\t.owner = THIS_MODULE,\n\t.set = &{name}_ids,\n}};\n\n"
                f"static int __init {name}_init(void)\n{{\n\treturn "
                f"register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &{name}_set);\n}}\n")
            subject = f"bpf: Add {name}"
        elif kind == 3:
            with (tree / "Documentation/bpf/kfuncs.rst").open("a") as doc:
                doc.write(f"\n.. lint {n}\n")
            subject = "Documentation: a note"
        elif kind == 4:
            with (tree / "kernel/sched/core.c").open("a") as c_file:
                c_file.write(f"/* note {n} */\n")
            subject = "sched: a note"
        else:
            target = f"kernel/bpf/crypto_{n}.c"
            subprocess.run(["git", "-C", str(tree), "mv", "--", renamed, target], check=True)
            renamed = target
            subject = "bpf: Rename the crypto kfuncs' file"
        subprocess.run(["git", "-C", str(tree), "add", "-A"], check=True, env=ENV)
        subprocess.run(["git", "-C", str(tree), "commit", "-qm", subject], check=True, env=ENV)
        subjects.append(subject)
    return subjects
