"""Which kfuncs did the compiler damage: the source's kfuncs against a built BTF.

A kfunc BPF can call needs a FUNC in BTF with its real prototype. Inlining,
LTO, and parameters optimized out (pahole then drops the function) all break
that; `__bpf_kfunc` (`__used noinline`) prevents it. The audit takes plain
inputs, a KfuncIndex and SourceKfunc records, so it runs without discovery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kfuncfix.btf.compare import Mismatch, compare, normalize
from kfuncfix.btf.kfuncs import CLONE_RE, BTFKfunc, KfuncIndex
from kfuncfix.model import (
    DTOR,
    FMODRET,
    RISK_GLOBAL_NO_USED,
    RISK_STATIC_INLINE,
    RISK_STATIC_NO_NOINLINE,
    RISK_UNUSED_PARAMS,
    TreeIndex,
)
from kfuncfix.source.prototype import Prototype

MISSING = "missing-from-btf"
UNRESOLVED = "unresolved-in-set"
NO_DECL_TAG = "no-decl-tag"
PROTOTYPE = "prototype-mismatch"
NOT_IN_TREE = "not-in-tree"
# In BTF, but BTF describes a function the machine code no longer is.
BTF_NAMES_CLONE = "btf-names-clone"
NOCALL = "dw-cc-nocall"
CONST_PARAM = "param-constant"
PARAM_NO_LOCATION = "param-no-location"
MISDESCRIBED = (BTF_NAMES_CLONE, NOCALL, CONST_PARAM, PARAM_NO_LOCATION)

FIX_TAG = "tag the definition __bpf_kfunc (__used noinline) so the compiler keeps it whole"
FIX_SAME_TREE = "audit BTF built from this tree, with a config that builds this kfunc"
FIX_NO_LOCATION = (
    "read the function's code: if it uses the parameter, the compiler dropped a value "
    "BPF passes (report it); if not, nothing to do"
)
FIX_KFUNCS_SET = "register its set with BTF_KFUNCS_START and tag the definition __bpf_kfunc"


@dataclass(frozen=True)
class SourceKfunc:
    """A kfunc as the source declares it: what the audit needs from discovery."""

    name: str
    file: str | None = None
    line: int = 0
    prototype: Prototype | None = None
    risks: tuple[str, ...] = ()
    tagged: bool = False
    unused_params: tuple[str, ...] = ()
    dtor_only: bool = False  # registered only as a destructor: no kfunc set, so no decl tag


@dataclass(frozen=True)
class Finding:
    kfunc: str
    problem: str
    detail: str
    cause: str
    fix: str
    file: str | None = None
    line: int = 0
    image: str = ""  # the module (or vmlinux) of a whole-kernel audit

    def to_json(self) -> dict[str, Any]:
        return {
            "kfunc": self.kfunc,
            "problem": self.problem,
            "detail": self.detail,
            "cause": self.cause,
            "fix": self.fix,
            "file": self.file,
            "line": self.line or None,
            **({"image": self.image} if self.image else {}),
        }


@dataclass(frozen=True)
class KfuncCheck:
    """The three checks for one source kfunc."""

    name: str
    file: str | None
    line: int
    in_btf: bool
    decl_tag: bool | None  # None: this BTF has no bpf_kfunc decl tags at all
    prototype: str  # "match", "mismatch" or "unknown"
    btf_prototype: Prototype | None
    built: bool = True  # False: the image's id sets do not list it (config left it out)
    image: str = ""  # where it was looked up in a whole-kernel audit

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "line": self.line or None,
            "in_btf": self.in_btf,
            "decl_tag": self.decl_tag,
            "prototype": self.prototype,
            "btf_prototype": str(self.btf_prototype) if self.btf_prototype else None,
            "built": self.built,
            **({"image": self.image} if self.image else {}),
        }


@dataclass
class AuditReport:
    btf_kfuncs: list[BTFKfunc]  # what the BTF declares
    checks: list[KfuncCheck] = field(default_factory=list)  # empty without a tree
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "btf_kfuncs": [k.to_json() for k in self.btf_kfuncs],
            "checks": [c.to_json() for c in self.checks],
            "findings": [f.to_json() for f in self.findings],
            "notes": list(self.notes),
        }


def from_tree(tree: TreeIndex) -> list[SourceKfunc]:
    """Discovery's kfuncs as audit input, one per name (first definition locates it).

    fmodret entries are attach points, not kfuncs: BTF never tags them.
    """
    out: list[SourceKfunc] = []
    kinds: dict[str, set[str]] = {}
    for kfunc in tree.kfuncs:
        kinds.setdefault(kfunc.name, set()).add(kfunc.kind)
    for kfunc in tree.kfuncs:
        if kfunc.kind == FMODRET or kfunc.name not in kinds:
            continue
        dtor_only = kinds.pop(kfunc.name) == {DTOR}
        defs = kfunc.definitions
        first = next((d for d in defs if d.prototype), defs[0] if defs else None)
        out.append(
            SourceKfunc(
                kfunc.name,
                first.file if first else None,
                first.line if first else 0,
                first.prototype if first else None,
                tuple(dict.fromkeys(r for d in defs for r in d.risks)),
                bool(defs) and all(d.tagged for d in defs),
                tuple(dict.fromkeys(p for d in defs for p in d.unused_params)),
                dtor_only,
            )
        )
    return out


def audit_btf(index: KfuncIndex) -> AuditReport:
    """Without a tree: the kfuncs BTF declares, and set entries BTF lost."""
    report = AuditReport(list(index.kfuncs.values()))
    _note_encoder(index, report)
    for set_name, name in index.unresolved():
        report.findings.append(_unresolved(index, set_name, name))
    for k in index.kfuncs.values():
        if k.func_id and (wrong := misdescribed(index, k.name)) is not None:
            report.findings.append(wrong)
    return report


def audit_tree(index: KfuncIndex, sources: Iterable[SourceKfunc]) -> AuditReport:
    """The source's kfuncs checked against BTF, and BTF's kfuncs the source lacks."""
    report = AuditReport(list(index.kfuncs.values()))
    _note_encoder(index, report)
    has_tags = index.decl_tag_count > 0
    listed = index.set_entries()
    by_name: dict[str, SourceKfunc] = {}
    for k in sources:
        by_name.setdefault(k.name, k)
    btf_only = {n: k for n, k in index.kfuncs.items() if n not in by_name}
    unbuilt = 0
    for k in by_name.values():
        func_id = index.func_id(k.name)
        built = listed is None or k.name in listed or bool(func_id)
        btf_proto = index.prototype(k.name) if func_id else None
        mismatches = compare(k.prototype, btf_proto) if k.prototype and btf_proto else []
        state = "mismatch" if mismatches else "match" if k.prototype and btf_proto else "unknown"
        tag = index.decl_tagged(func_id) if func_id and has_tags else (False if has_tags else None)
        report.checks.append(
            KfuncCheck(k.name, k.file, k.line, bool(func_id), tag, state, btf_proto, built)
        )
        if not built:
            unbuilt += 1
        elif not func_id:
            report.findings.append(_missing(index, k, btf_only))
        else:
            if tag is False and not k.dtor_only:
                report.findings.append(_no_tag(k))
            if mismatches:
                report.findings.append(_mismatch(k, mismatches))
            elif (wrong := misdescribed(index, k.name, k)) is not None:
                report.findings.append(wrong)
            if (dropped := _unused_unlocated(index, k)):
                report.notes.append(f"{k.name}: unused parameter {dropped} has no DWARF "
                                    "location (the body never reads it: harmless)")
    if unbuilt:
        report.notes.append(
            f"{unbuilt} kfuncs of the tree are in no id set of the image: not built"
        )
    for set_name, name in index.unresolved():
        if name in btf_only:
            report.findings.append(_unresolved(index, set_name, name))
    for name, bk in sorted(btf_only.items()):
        if not bk.func_id:
            continue  # reported as unresolved above
        lost = [(s.name, s.prototype) for s in by_name.values() if not index.func_id(s.name)]
        twin = _twin(bk.prototype, lost)
        report.findings.append(
            Finding(
                name,
                NOT_IN_TREE,
                "BTF declares this kfunc but the tree does not",
                f"renamed: the tree has {twin} with the same prototype"
                if twin
                else "declared outside the scanned tree, or the tree is another version",
                FIX_SAME_TREE,
            )
        )
    return report


def misdescribed(index: KfuncIndex, name: str, k: SourceKfunc | None = None) -> Finding | None:
    """A FUNC BTF has under name whose machine code does not take that prototype.

    The worst first: a clone under another name (the address BPF calls is not
    the code's), an ABI clang changed (DW_CC_nocall), a parameter the body has
    folded to a constant, then a parameter whose value is not kept.
    """
    file, line = (k.file, k.line) if k else (None, 0)
    clones = index.only_clones(name)
    if clones:
        return Finding(
            name, BTF_NAMES_CLONE,
            f"BTF has FUNC {name} but the symbol table only {', '.join(clones)}",
            "the compiler emitted only a specialized clone; its prototype is not the one "
            "BTF describes", FIX_TAG, file, line)
    found = index.dwarf.get(name) if index.dwarf is not None else None
    if found is None or not found.out_of_line:
        return None
    if found.nocall:
        return Finding(
            name, NOCALL, "DWARF marks it DW_CC_nocall: callers must not use the standard ABI",
            "the compiler changed its calling convention (arguments folded in or dropped); "
            "a BPF call with BTF's prototype passes values the code ignores", FIX_TAG, file, line)
    constant = found.constant_params
    if constant:
        values = ", ".join(f"`{p.name}` = {p.value}" for p in constant)
        return Finding(
            name, CONST_PARAM, f"DWARF records parameter {values} as a constant",
            "the body was specialized to its only caller's argument; a BPF program's "
            "value would be ignored", FIX_TAG, file, line)
    # A parameter the source never reads need not be kept: no location is harmless.
    unused = set(k.unused_params) if k else set()
    unlocated = [p for p in found.unlocated_params if p.name not in unused]
    if unlocated:
        names = ", ".join(f"`{p.name}`" for p in unlocated)
        return Finding(
            name, PARAM_NO_LOCATION, f"parameter {names} has no DWARF location",
            "the value is not kept: harmless if the body never reads it, wrong if the "
            "compiler assumed its value",
            FIX_NO_LOCATION if k and k.tagged else FIX_TAG, file, line)
    return None


def _unused_unlocated(index: KfuncIndex, k: SourceKfunc) -> str:
    found = index.dwarf.get(k.name) if index.dwarf is not None else None
    if found is None or not found.out_of_line:
        return ""
    return ", ".join(f"`{p.name}`" for p in found.unlocated_params if p.name in k.unused_params)


def _unresolved(index: KfuncIndex, set_name: str, name: str) -> Finding:
    cause = _clone_cause(index, name) or _symbol_cause(index, name)
    return Finding(
        name,
        UNRESOLVED,
        f"listed in id set {set_name} but BTF has no FUNC {name}",
        cause or "inlined, elided, or a parameter optimized out (pahole skipped it)",
        FIX_TAG,
    )


def _note_encoder(index: KfuncIndex, report: AuditReport) -> None:
    if index.decl_tag_count == 0:
        report.notes.append(
            "BTF has no bpf_kfunc decl tags (pahole before 1.26 or no kfunc sets): tags not checked"
        )
    if index.id_sets is None:
        report.notes.append("no .BTF_ids section: id set membership not checked")


def _clone_cause(index: KfuncIndex, name: str) -> str | None:
    clones = index.clones.get(name)
    if not clones:
        return None
    m = CLONE_RE.match(clones[0])
    how = m.group("how") if m else ""
    if how in ("isra", "constprop"):
        return (
            f"parameter optimized out: only the clone {', '.join(clones)} was emitted, "
            "with a changed signature that BTF cannot describe"
        )
    return f"renamed by the compiler: only {', '.join(clones)} was emitted"


def _symbol_cause(index: KfuncIndex, name: str) -> str | None:
    if index.function_symbols is not None and name in index.function_symbols:
        return (
            "pahole dropped it: a parameter optimized out or an inconsistent prototype "
            "(the symbol exists)"
        )
    return None


def _risk_cause(k: SourceKfunc) -> str:
    if k.tagged:  # the tag keeps the compiler's hands off: look elsewhere
        return "not built in this configuration, or renamed"
    risks = set(k.risks)
    if RISK_STATIC_INLINE in risks:
        return "inlined: defined static inline"
    unused = ""
    if RISK_UNUSED_PARAMS in risks or k.unused_params:
        names = ", ".join(f"`{p}`" for p in k.unused_params)
        unused = f"unused parameter {names}".rstrip()
    if RISK_STATIC_NO_NOINLINE in risks:
        if unused:
            return f"inlined, or cloned without its {unused}: static without noinline"
        return "inlined or elided: static without noinline"
    if RISK_GLOBAL_NO_USED in risks:
        if unused:
            return (
                f"inlined, elided or cloned without its {unused} under LTO: global without __used"
            )
        return "inlined or elided under LTO: global without __used"
    if unused:
        return f"parameter optimized out: {unused}"
    return "inlined or elided by the compiler, or not built in this configuration"


def _missing(index: KfuncIndex, k: SourceKfunc, btf_only: dict[str, BTFKfunc]) -> Finding:
    twin = _twin(k.prototype, [(n, b.prototype) for n, b in btf_only.items()])
    cause = _clone_cause(index, k.name) or _symbol_cause(index, k.name)
    if cause is None and twin and k.tagged:
        cause = f"renamed: BTF has {twin} with the same prototype"
    return Finding(
        k.name,
        MISSING,
        "BTF has no FUNC for this kfunc: BPF programs cannot call it",
        cause or _risk_cause(k),
        FIX_SAME_TREE if k.tagged else FIX_TAG,
        k.file,
        k.line,
    )


def _no_tag(k: SourceKfunc) -> Finding:
    return Finding(
        k.name,
        NO_DECL_TAG,
        "FUNC present but without the bpf_kfunc decl tag",
        "not listed in a BTF_KFUNCS_START set, so pahole did not tag it",
        FIX_KFUNCS_SET,
        k.file,
        k.line,
    )


def _mismatch(k: SourceKfunc, mismatches: list[Mismatch]) -> Finding:
    first = mismatches[0]
    if first.what == "count" and int(first.btf) < int(first.source):
        cause, fix = "parameter optimized out: BTF recorded fewer parameters", FIX_TAG
    elif first.what in ("count", "name"):
        cause = "renamed parameters, or BTF built from another version of the tree"
        fix = FIX_SAME_TREE
    else:
        cause, fix = "type changed, or BTF built from another version of the tree", FIX_SAME_TREE
    return Finding(
        k.name,
        PROTOTYPE,
        "; ".join(m.describe() for m in mismatches),
        cause,
        fix,
        k.file,
        k.line,
    )


def _shape(proto: Prototype) -> tuple[str, ...]:
    return (normalize(proto.return_type), *(normalize(p.type, True) for p in proto.params))


def _twin(proto: Prototype | None, others: list[tuple[str, Prototype | None]]) -> str | None:
    """The one other kfunc with the same prototype: the likely other name of a rename.

    Prototypes without parameters say too little to pair functions on.
    """
    if proto is None or not proto.params:
        return None
    shape = _shape(proto)
    same = [name for name, other in others if other is not None and _shape(other) == shape]
    return same[0] if len(same) == 1 else None
