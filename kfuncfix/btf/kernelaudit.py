"""The audit of a whole built kernel: vmlinux and every module in one report.

Each kfunc of the tree is checked in the image that declares it (its decl tag
or id set), else the first whose BTF has its FUNC, else vmlinux (where it is
then missing, or not built).  Without a tree, each image's own audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from kfuncfix.btf.audit import NOT_IN_TREE, AuditReport, SourceKfunc, audit_btf, audit_tree
from kfuncfix.btf.images import Image, Images


def _home(name: str, images: list[Image]) -> Image:
    for test in (
        lambda i: name in i.index.kfuncs and bool(i.index.kfuncs[name].func_id),
        lambda i: name in i.index.kfuncs,
        lambda i: bool(i.index.func_id(name)) and i.index.func_id(name) >= i.index.btf.start_id,
    ):
        for image in images:
            if test(image):
                return image
    return images[0]


def _whole(note: str, images: int) -> str:
    """vmlinux holds the kfuncs no image declares: say that no module had them either."""
    if images < 2 or "in no id set of the image" not in note:
        return note
    return note.replace("in no id set of the image: not built",
                        f"in no id set of vmlinux or its {images - 1} modules: "
                        "not built, or their module not shipped")


def audit_kernel(kernel: Images, sources: Iterable[SourceKfunc] | None) -> AuditReport:
    report = AuditReport([])
    wanted = list(sources) if sources is not None else None
    groups: dict[str, list[SourceKfunc]] = {i.name: [] for i in kernel.images}
    for k in wanted or []:
        groups[_home(k.name, kernel.images).name].append(k)
    names = {k.name for k in wanted or []}
    notes: dict[str, None] = {}
    for image in kernel.images:
        group = groups[image.name]
        if not group and not image.index.kfuncs:
            continue  # a module that declares no kfunc and holds none of the tree's
        sub = audit_btf(image.index) if wanted is None else audit_tree(image.index, group)
        report.btf_kfuncs += [replace(k, image=image.name) for k in sub.btf_kfuncs]
        report.checks += [replace(c, image=image.name) for c in sub.checks]
        report.findings += [replace(f, image=image.name) for f in sub.findings
                            if not (f.problem == NOT_IN_TREE and f.kfunc in names)]
        prefix = "" if image.name == "vmlinux" else f"{image.name}: "
        notes.update((_whole(n, len(kernel.images)) if image.name == "vmlinux"
                      else prefix + n if "kfuncs of the tree" in n else n, None)
                     for n in sub.notes)
    report.notes = list(notes)
    if kernel.skipped:
        report.notes.append(f"{len(kernel.skipped)} modules without readable BTF skipped "
                            f"(first: {kernel.skipped[0]})")
    report.notes.append(f"{len(kernel.images)} images read: vmlinux and "
                        f"{len(kernel.images) - 1} modules")
    return report
