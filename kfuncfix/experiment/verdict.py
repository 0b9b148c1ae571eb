"""One kfunc in one compiled object: what a BPF program calling it would get.

The verdicts, worst first: the compile failed; the function is gone; only a
compiler clone exists (BTF cannot describe it); BTF names the function while
only a clone exists; BTF's prototype is not the source's; DWARF says the
calling convention changed (DW_CC_nocall) or a parameter became a constant;
a parameter has no location; in BTF with the source's prototype.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.btf import elf
from kfuncfix.btf.audit import BTF_NAMES_CLONE, CONST_PARAM, NOCALL, PARAM_NO_LOCATION, misdescribed
from kfuncfix.btf.compare import compare
from kfuncfix.btf.dwarf import read_functions
from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.kfuncs import KfuncIndex, index_kfuncs
from kfuncfix.btf.reader import parse_btf_file, read_btf_file
from kfuncfix.source.prototype import Prototype

PRESENT = "ok"
GONE = "gone"
CLONE_ONLY = "clone-only"
NAMES_CLONE = "btf-names-clone"
MISMATCH = "mismatch"
DW_NOCALL = "nocall"
CONSTANT = "const-param"
NO_LOCATION = "no-location"
COMPILE_ERROR = "compile-error"
NOT_RUN = "not-run"  # the budget ran out first
VERDICTS = (PRESENT, NO_LOCATION, CONSTANT, DW_NOCALL, MISMATCH, NAMES_CLONE, CLONE_ONLY,
            GONE, COMPILE_ERROR, NOT_RUN)
# BTF shows the kfunc, but calling it with BTF's prototype is wrong or lost.
WRONG = frozenset({CONSTANT, DW_NOCALL, MISMATCH, NAMES_CLONE})
_FROM_AUDIT = {BTF_NAMES_CLONE: NAMES_CLONE, NOCALL: DW_NOCALL, CONST_PARAM: CONSTANT,
               PARAM_NO_LOCATION: NO_LOCATION}


@dataclass(frozen=True)
class Evidence:
    """An object's BTF, symbols and DWARF, read once for all its kfuncs."""

    index: KfuncIndex


def read_evidence(obj: Path, scratch: Path) -> Evidence:
    """`pahole --btf_encode_detached` (the object stays as it is), then the readers."""
    out = scratch / (obj.name + ".btf")
    done = subprocess.run(["pahole", f"--btf_encode_detached={out}", str(obj)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.is_file():
        raise BTFError(f"pahole failed on {obj.name}: {(done.stderr or done.stdout).strip()}")
    btf = parse_btf_file(read_btf_file(out))
    data = obj.read_bytes()
    index = index_kfuncs(btf, None, elf.read_symbols(data))
    index.dwarf = read_functions(data)
    return Evidence(index)


def classify(evidence: Evidence, name: str, proto: Prototype | None) -> tuple[str, str]:
    """(verdict, detail) for one kfunc."""
    index = evidence.index
    symbols = index.function_symbols or frozenset()
    if not index.func_id(name):
        clones = index.only_clones(name)
        if clones:
            return CLONE_ONLY, ", ".join(clones)
        if name in symbols:
            return GONE, "the symbol exists; pahole did not encode it"
        return GONE, "no symbol: inlined or elided"
    btf_proto = index.prototype(name)
    if proto is not None and btf_proto is not None:
        mismatches = compare(proto, btf_proto)
        if mismatches:
            return MISMATCH, "; ".join(m.describe() for m in mismatches)
    finding = misdescribed(index, name)
    if finding is not None:
        return _FROM_AUDIT[finding.problem], finding.detail
    return PRESENT, ""
