"""The sample kernel tree shipped with kfuncfix.

`tree/` is a small, invented tree laid out like Linux 6.1, from before
upstream tagged kfunc definitions: it has kfunc sets and their registrations
but no `__bpf_kfunc` macro, so every part of kfuncfix has work to do on it.
It has the shapes real trees have: a set in one directory listing a
definition in another, `#ifdef`'d entries and definitions, static and
`noinline` kfuncs in their various spellings, long multi-line prototypes,
`__diag_push()`/`__diag_pop()` pairs, fmodret and destructor sets, an
unregistered allow list, an X-macro expanded inside a set, and a
MAINTAINERS file with several sections.  Every line of it was written for
kfuncfix; none is copied from Linux.

The tree is package data.  Read it with `sample_tree()`; to run the tool on
it, copy it somewhere writable with `copy_sample_tree()`.
"""

from __future__ import annotations

import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

TREE_DIR = "tree"


def sample_tree() -> Traversable:
    """The root of the sample tree, as installed package data (read only)."""
    return files(__name__).joinpath(TREE_DIR)


def copy_sample_tree(dest: Path) -> Path:
    """Copy the sample tree into `dest`, byte for byte, and return `dest`.

    `dest` and its parents are created when missing; files already in `dest`
    that the tree also has are overwritten, others are left alone.  File
    modes are not copied, so the copy is writable even when the installed
    package is not.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tree = sample_tree()
    if isinstance(tree, Path):
        # Installed as plain files (wheel or editable install): copy directly.
        with as_file(tree) as path:
            shutil.copytree(path, dest, dirs_exist_ok=True, copy_function=shutil.copyfile)
    else:
        # Any other loader (a zip, say): walk the resources one by one.
        _copy_traversable(tree, dest)
    return dest


def _copy_traversable(src: Traversable, dest: Path) -> None:
    for child in src.iterdir():
        target = dest / child.name
        if child.is_dir():
            target.mkdir(exist_ok=True)
            _copy_traversable(child, target)
        else:
            target.write_bytes(child.read_bytes())
