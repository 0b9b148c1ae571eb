"""`check --patch`: lint only what an incoming patch adds or changes.

The patch is read with unidiff (which files, which lines it adds) and applied
with `git apply` to copies of just the files it touches, in a temporary
directory; discovery then sees the tree with those files replaced in memory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex
from kfuncfix.report import Record


@dataclass
class PatchedTree:
    overlay: dict[str, bytes | None]  # tree path -> patched bytes (None: deleted)
    added_lines: dict[str, set[int]]  # tree path -> line numbers the patch adds
    # The tree already holds the patch (b4 and patchwork check committed
    # patches): the tree is "after", nothing is laid over it.
    already_applied: bool = False


def _strip(path: str) -> str:
    return path[2:] if path.startswith(("a/", "b/")) else path


def apply_in_memory(root: Path, patch_text: bytes) -> PatchedTree:
    """Apply a patch to copies of the files it touches; the tree is never written."""
    try:
        patch = PatchSet(patch_text.decode("utf-8", "surrogateescape"))
    except UnidiffParseError as exc:
        raise KfuncfixError(f"cannot read the patch: {exc}") from exc
    if not patch:
        raise KfuncfixError("the patch holds no diff")
    added: dict[str, set[int]] = {}
    with tempfile.TemporaryDirectory(prefix="kfuncfix-patch-") as tmp:
        work = Path(tmp)
        targets = []
        for pf in patch:
            source, target = _strip(pf.source_file), _strip(pf.target_file)
            if not pf.is_added_file:
                original = root / source
                if not original.is_file():
                    raise KfuncfixError(f"the patch changes {source}, which is not in {root}")
                (work / source).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(original, work / source)
            if pf.is_removed_file:
                targets.append((source, None))
                continue
            targets.append((target, target))
            added[target] = {
                line.target_line_no for hunk in pf for line in hunk if line.is_added
            }
        env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(work.parent))
        proc = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            input=patch_text, cwd=work, capture_output=True, env=env,
        )
        if proc.returncode:
            reverse = subprocess.run(
                ["git", "apply", "--check", "--reverse", "--whitespace=nowarn", "-"],
                input=patch_text, cwd=work, capture_output=True, env=env,
            )
            if reverse.returncode == 0:
                return PatchedTree({}, added, already_applied=True)
            why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise KfuncfixError(f"the patch does not apply to {root} (nor is it applied "
                                f"already): {why[0] if why else 'git apply failed'}")
        overlay: dict[str, bytes | None] = {}
        for rel, target in targets:
            overlay[rel] = None if target is None else (work / target).read_bytes()
    return PatchedTree(overlay, added)


def touched_by(rec: Record, index: TreeIndex, patched: PatchedTree) -> bool:
    """True if the patch adds or changes the kfunc's set entry or its definition header."""
    set_lines = patched.added_lines.get(rec.set_file, set())
    if rec.set_line in set_lines:
        return True
    if rec.file is None or rec.file not in patched.added_lines:
        return False
    src = index.sources[rec.file]
    lines = patched.added_lines[rec.file]
    for k in index.kfuncs:
        for d in k.definitions:
            if d.file == rec.file and d.line == rec.line:
                first, last = src.line_of(d.func.start), src.line_of(d.func.brace)
                return any(first <= n <= last for n in lines)
    return False
