"""The bundled probe: eight kfunc shapes compiled with plain `cc -O2 -g -c`.

No kernel tree is needed, and none is imitated beyond the flags below: this
is what a compiler does to each shape under a marker in one translation
unit, the honest baseline for the per-object rows of a real tree (which add
the kernel's own flags, headers and config).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kfuncfix.experiment.compilers import Compiler
from kfuncfix.experiment.markers import Marker
from kfuncfix.source.prototype import Prototype, prototype_of
from kfuncfix.source.scan import scan

PROBE_FILE = "probe.c"
# The kernel's code-generation flags that change what a function becomes.
KERNEL_LIKE_FLAGS = ("-O2", "-g", "-gdwarf-5", "-std=gnu11", "-fno-strict-aliasing",
                     "-fno-common", "-fno-PIE", "-fno-stack-protector", "-mno-red-zone",
                     "-mcmodel=kernel", "-ffreestanding", "-Wno-unused-parameter")
SHAPES = {
    "probe_g1_no_caller": ("G1", "global, no caller"),
    "probe_g2_empty": ("G2", "global, empty body"),
    "probe_g3_unused_param": ("G3", "global, unused parameter, constant caller"),
    "probe_g4_ptr_ret": ("G4", "global, pointer return"),
    "probe_s1_called_once": ("S1", "static, called once with a constant"),
    "probe_s2_unused_param": ("S2", "static, unused parameter, 3 callers"),
    "probe_s3_no_caller": ("S3", "static, no caller"),
    "probe_s4_addr_taken": ("S4", "static, address taken"),
}


@dataclass(frozen=True)
class KfuncUnderTest:
    name: str
    prototype: Prototype | None
    shape: str = ""  # the probe's G1..S4; empty for a real file


def probe_source() -> bytes:
    return resources.files("kfuncfix.experiment").joinpath(PROBE_FILE).read_bytes()


def probe_kfuncs() -> list[KfuncUnderTest]:
    source = scan(PROBE_FILE, probe_source())
    return [KfuncUnderTest(f.name, prototype_of(source, f), SHAPES[f.name][0])
            for f in source.functions if f.name in SHAPES]


class ProbeTarget:
    """The probe file as an experiment target."""

    label = PROBE_FILE

    def __init__(self) -> None:
        self.kfuncs = probe_kfuncs()

    def compile(self, compiler: Compiler, marker: Marker, scratch: Path) -> tuple[Path | None, str]:
        src = scratch / PROBE_FILE
        if not src.is_file():
            src.write_bytes(probe_source())
        obj = scratch / f"probe-{compiler.name}.o"
        obj.unlink(missing_ok=True)
        command = [compiler.path, *KERNEL_LIKE_FLAGS, f"-D__kfunc_marker={marker.c_text()}",
                   "-c", str(src), "-o", str(obj)]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              env={**os.environ, "LC_ALL": "C"})
        if done.returncode != 0:
            return None, first_error(done.stderr.replace(str(src), PROBE_FILE))
        return obj, ""


def first_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line]
    return (errors or lines or ["failed"])[0].strip()
