"""New `scripts/kernel-doc -none` warnings of one commit, against its parent.

The kernel test robot runs the tree's kernel-doc on every file a patch
touches and reports what the patch added ("expecting prototype for X().
Prototype was for BPF_KFUNC() instead").  Here the same script, as committed
in the scratch tree the series was applied to, reads each touched C file as
it was before and after the commit; a warning is new when the file after has
more of it than the file before (compared without line numbers, which move).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from kfuncfix import gitrun

KERNEL_DOC = "scripts/kernel-doc"
_SOURCE = re.compile(r"\.[ch]\Z")
# `kernel/trace/bpf_trace.c:1259: warning: expecting prototype for ...`
_WARNING = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<what>(?:warning|error): .*)$")


def kernel_doc_command(tree: Path) -> list[str] | None:
    """How to run the tree's kernel-doc (perl, or Python in newer trees); None
    when the tree has none or its interpreter is missing."""
    script = tree / KERNEL_DOC
    if not script.is_file():
        return None
    first = script.read_bytes()[:200].split(b"\n", 1)[0]
    interpreter = "perl" if b"perl" in first else "python3" if b"python" in first else None
    if interpreter is None or shutil.which(interpreter) is None:
        return None
    return [interpreter, str(script.resolve())]


def touched_sources(tree: Path, parent: str, commit: str) -> list[str]:
    """The C files (.c, .h) the commit changes and keeps."""
    names = gitrun.out(tree, "diff", "--no-renames", "--name-only", "--diff-filter=AM",
                       "-z", parent, commit, "--")
    return [n.decode("utf-8", "surrogateescape") for n in names.split(b"\0")
            if n and _SOURCE.search(n.decode("utf-8", "surrogateescape"))]


def new_warnings(tree: Path, command: list[str], parent: str, commit: str) -> list[str]:
    """kernel-doc's warnings on the commit's C files that its parent did not have."""
    found: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kfuncfix-kdoc-") as scratch:
        for path in touched_sources(tree, parent, commit):
            before = _warnings(tree, command, Path(scratch, "before"), parent, path)
            after = _warnings(tree, command, Path(scratch, "after"), commit, path)
            left = Counter(what for _, what in before)
            for line, what in after:
                if left[what] > 0:
                    left[what] -= 1
                else:
                    found.append(line)
    return found


def _warnings(tree: Path, command: list[str], top: Path, rev: str,
              path: str) -> list[tuple[str, str]]:
    """(line as printed, warning without its line number) for one file at `rev`."""
    data = gitrun.run(tree, "cat-file", "blob", f"{rev}:{path}", check=False)
    if data.returncode != 0:
        return []  # the file is new in the commit
    copy = top / path
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data.stdout)
    # From the copy's top, so that kernel-doc names the file by its tree path.
    done = subprocess.run([*command, "-none", path], cwd=top, capture_output=True, check=False)
    out = []
    for raw in (done.stdout + done.stderr).decode("utf-8", "replace").splitlines():
        found = _WARNING.match(raw)
        if found and found["file"] == path:
            out.append((raw, found["what"]))
    return out
