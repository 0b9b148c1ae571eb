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
from dataclasses import dataclass, field
from pathlib import Path

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from kfuncfix import gitrun
from kfuncfix.commitwalk import added_in
from kfuncfix.errors import KfuncfixError
from kfuncfix.gitpath import check_tree_path, diff_git_names, unquote


@dataclass
class PatchedTree:
    overlay: dict[str, bytes | None]  # tree path -> patched bytes (None: deleted)
    added_lines: dict[str, set[int]]  # tree path -> line numbers the patch adds
    # The tree already holds the patch (b4 and patchwork check committed
    # patches): the tree is "after", nothing is laid over it.
    already_applied: bool = False
    # What makes the tree read as it was before the patch: nothing, or (applied
    # already) the files as they were, the files it added gone.
    before: dict[str, bytes | None] = field(default_factory=dict)


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
    """The tree with the patch applied, as an overlay of the files it touches (the
    tree is never written); or, when the tree holds the patch already, no overlay.

    Either way the lines it adds are found by comparing each file before and
    after, never taken from the patch's own line numbers: git applies a patch
    at an offset, and an applied patch may sit under later ones."""
    try:
        patch = PatchSet(patch_text.decode("utf-8", "surrogateescape"))
    except UnidiffParseError as exc:
        raise KfuncfixError(f"cannot read the patch: {str(exc).strip()}") from exc
    if not patch:
        raise KfuncfixError("the patch holds no diff")
    names = [_checked_names(pf, root) for pf in patch]  # all of them, before any copy
    # What the patch reads (the files it changes, deletes or renames) and what it
    # writes (the files it changes, adds, or renames to), by tree path.
    sources = [src for pf, (src, _) in zip(patch, names, strict=True) if not pf.is_added_file]
    targets = [dst for pf, (_, dst) in zip(patch, names, strict=True) if not pf.is_removed_file]
    gone = [src for pf, (src, dst) in zip(patch, names, strict=True)
            if pf.is_removed_file or (not pf.is_added_file and src != dst)]
    with tempfile.TemporaryDirectory(prefix="kfuncfix-patch-") as tmp:
        scratch = Path(tmp)
        env = {"GIT_CEILING_DIRECTORIES": str(scratch)}
        before, after = scratch / "before", scratch / "after"
        before.mkdir()
        after.mkdir()
        # A file the patch creates that the tree has already: git apply in the tree
        # would refuse it, so must the copies.
        created = [dst for pf, (src, dst) in zip(patch, names, strict=True)
                   if pf.is_added_file or (not pf.is_removed_file and src != dst)]
        exists = next((rel for rel in created if os.path.lexists(root / rel)), None)
        if exists is None and _copy(root, sources, before):
            old = {rel: (before / rel).read_bytes() for rel in sources}
            forward = gitrun.run(before, "apply", "--whitespace=nowarn", "-",
                                 input=patch_text, env=env, check=False)
            if forward.returncode == 0:  # `before` holds the patched files now
                new = {rel: _regular(before, rel) for rel in targets}
                overlay: dict[str, bytes | None] = dict.fromkeys(gone)
                overlay.update(new)
                return PatchedTree(overlay, _added(scratch, _pairs(patch, names, old, new)))
            why = forward.message
        elif exists is not None:
            why = f"{exists}: already exists in the tree"
        else:
            why = "a file it changes is not in the tree"
        if _copy(root, targets, after):
            new = {rel: (after / rel).read_bytes() for rel in targets}
            reverse = gitrun.run(after, "apply", "--reverse", "--whitespace=nowarn", "-",
                                 input=patch_text, env=env, check=False)
            if reverse.returncode == 0:
                old = {rel: _regular(after, rel) for rel in sources}
                undo: dict[str, bytes | None] = dict.fromkeys(targets)
                undo.update(old)
                return PatchedTree({}, _added(scratch, _pairs(patch, names, old, new)),
                                   already_applied=True, before=undo)
        raise KfuncfixError(f"the patch does not apply to {root} (nor is it applied "
                            f"already): {why}")


def _copy(root: Path, rels: list[str], work: Path) -> bool:
    """Copy the regular files `rels` of the tree into work; False if one is missing."""
    for rel in rels:
        original = root / rel
        if original.is_symlink() or not original.is_file():
            return False
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, work / rel)
    return True


def _regular(work: Path, rel: str) -> bytes:
    if (work / rel).is_symlink():
        # Reading it would read whatever it points to, outside the copies.
        raise KfuncfixError(f"the patch makes {rel} a symbolic link; "
                            "kfuncfix lints regular files only")
    return (work / rel).read_bytes()


def _pairs(patch: PatchSet, names: list[tuple[str, str]], old: dict[str, bytes],
           new: dict[str, bytes]) -> list[tuple[str, bytes, bytes]]:
    """(target path, bytes before, bytes after) of each file the patch leaves in the tree."""
    return [(dst, b"" if pf.is_added_file else old[src], new[dst])
            for pf, (src, dst) in zip(patch, names, strict=True) if not pf.is_removed_file]


def _added(scratch: Path, pairs: list[tuple[str, bytes, bytes]]) -> dict[str, set[int]]:
    """The lines of each file that are new in its after-bytes (git diff --no-index)."""
    out: dict[str, set[int]] = {}
    a, b = scratch / "a", scratch / "b"
    for rel, old, new in pairs:
        a.write_bytes(old)
        b.write_bytes(new)
        diff = gitrun.out(scratch, "diff", "--no-index", "--no-color", "--no-ext-diff",
                          "--no-textconv", "--unified=0", "--", "a", "b", ok=(0, 1))
        out[rel] = added_in(diff)
    return out
