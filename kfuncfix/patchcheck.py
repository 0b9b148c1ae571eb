"""`check --patch`: lint only what an incoming patch adds or changes.

The patch is read with unidiff (which files, which lines it adds) and applied
with `git apply` to copies of just the files it touches, in a temporary
directory; discovery then sees the tree with those files replaced in memory.

A patch may come from anyone (a pull request on CI): every name in it (the
---/+++ lines, `diff --git`, rename and copy headers; git's C-quoted names
decoded) is checked to stay inside the tree, not through a symbolic link,
before any file is copied or read; a link the patch itself makes is not read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError
from kfuncfix.gitpath import check_tree_path, diff_git_names, unquote


@dataclass
class PatchedTree:
    overlay: dict[str, bytes | None]  # tree path -> patched bytes (None: deleted)
    added_lines: dict[str, set[int]]  # tree path -> line numbers the patch adds
    # The tree already holds the patch (b4 and patchwork check committed
    # patches): the tree is "after", nothing is laid over it.
    already_applied: bool = False


# Header lines of a git diff that name a path without the a/ b/ prefix.
_NAMING_HEADERS = ("rename from ", "rename to ", "copy from ", "copy to ")


def _strip(path: str) -> str:
    path = unquote(path)
    return path[2:] if path.startswith(("a/", "b/")) else path


def _checked_names(pf: PatchedFile, root: Path) -> tuple[str, str]:
    """The source and target path of one file of the patch, each checked to stay in root."""
    source, target = _strip(pf.source_file), _strip(pf.target_file)
    for name, unused in ((source, pf.is_added_file), (target, pf.is_removed_file)):
        if not unused:
            check_tree_path(name, root)
    for line in str(pf.patch_info or "").splitlines():
        if line.startswith(_NAMING_HEADERS):
            check_tree_path(unquote(line.split(" ", 2)[2]), root)
        for name in diff_git_names(line):  # what git apply goes by
            check_tree_path(name, root)
    return source, target


def apply_in_memory(root: Path, patch_text: bytes) -> PatchedTree:
    """Apply a patch to copies of the files it touches; the tree is never written."""
    try:
        patch = PatchSet(patch_text.decode("utf-8", "surrogateescape"))
    except UnidiffParseError as exc:
        raise KfuncfixError(f"cannot read the patch: {str(exc).strip()}") from exc
    if not patch:
        raise KfuncfixError("the patch holds no diff")
    added: dict[str, set[int]] = {}
    names = [_checked_names(pf, root) for pf in patch]  # all of them, before any copy
    with tempfile.TemporaryDirectory(prefix="kfuncfix-patch-") as tmp:
        work = Path(tmp)
        targets: list[tuple[str, str | None]] = []
        for pf, (source, target) in zip(patch, names, strict=True):
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
                line.target_line_no for hunk in pf for line in hunk
                if line.is_added and line.target_line_no is not None
            }
        env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(work.parent))
        proc = gitrun.run(work, "apply", "--whitespace=nowarn", "-", input=patch_text,
                          env=env, check=False)
        if proc.returncode:
            reverse = gitrun.run(work, "apply", "--check", "--reverse", "--whitespace=nowarn",
                                 "-", input=patch_text, env=env, check=False)
            if reverse.returncode == 0:
                return PatchedTree({}, added, already_applied=True)
            why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise KfuncfixError(f"the patch does not apply to {root} (nor is it applied "
                                f"already): {why[0] if why else 'git apply failed'}")
        overlay: dict[str, bytes | None] = {}
        for rel, target_path in targets:
            if target_path is not None and (work / target_path).is_symlink():
                # Reading it would read whatever it points to, outside the copies.
                raise KfuncfixError(f"the patch makes {target_path} a symbolic link; "
                                    "kfuncfix lints regular files only")
            overlay[rel] = None if target_path is None else (work / target_path).read_bytes()
    return PatchedTree(overlay, added)

