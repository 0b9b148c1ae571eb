"""Notes about a whole tree that every command gives the same way."""

from __future__ import annotations

from kfuncfix.model import DTOR, FMODRET, KFUNC, TreeIndex


def no_kfunc_sets_note(index: TreeIndex) -> str | None:
    """The one line to print when the tree registers no kfunc set at all, else None.

    Trees older than the registration functions (Linux 5.10, say) have BTF id
    sets, but none is a kfunc set: every command then has nothing to do, and
    says why instead of printing an empty result that looks like a failure.
    """
    if any(s.kind in (KFUNC, DTOR, FMODRET) for s in index.sets):
        return None
    return ("this tree has no registered kfunc sets (no register_btf_kfunc_id_set() or its "
            "fmodret and dtor variants): no kfuncs to list, check or rewrite")
