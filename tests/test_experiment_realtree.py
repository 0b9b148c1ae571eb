"""`kfuncfix experiment TREE` on Debian's 6.1: one real file across every marker,
with gcc and with clang (Kbuild's LLVM=1).

The build directory (allnoconfig + the experiment's fragment, `make prepare`)
lives in pytest's temporary directory, never in the read-only cached tree;
about 2 minutes per compiler on a busy 2-core machine, most of it `make
prepare`.  Pinned: what holds for every compiler version (the statics of
tcp_cubic reject `__weak`, `__used noinline` keeps them all); the other
cells are printed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.experiment.verdict import CLONE_ONLY, COMPILE_ERROR, GONE

pytestmark = [pytest.mark.realtree, pytest.mark.build]
FILE = "net/ipv4/tcp_cubic.c"
KFUNCS = {"cubictcp_init", "cubictcp_recalc_ssthresh", "cubictcp_cong_avoid", "cubictcp_state",
          "cubictcp_cwnd_event", "cubictcp_acked"}


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_one_real_file_across_all_markers(linux61: Path, tmp_path: Path, cc: str) -> None:
    if shutil.which("pahole") is None or shutil.which(cc) is None:
        pytest.skip(f"needs {cc} and pahole (Debian dwarves)")
    if cc == "clang" and shutil.which("ld.lld") is None:
        pytest.skip("Kbuild's LLVM=1 needs lld (Debian lld)")
    before = subprocess.run(["git", "-C", str(linux61), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout
    args = ["experiment", str(linux61), "--no-probe", "--cc", cc, "--file", FILE,
            "--build-dir", str(tmp_path / "build")]
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert {r["kfunc"] for r in rows} == KFUNCS
    assert {r["file"] for r in rows} == {FILE}
    verdicts: dict[str, set[str]] = {}
    for r in rows:
        verdicts.setdefault(r["marker"], set()).add(r["verdict"])
    assert verdicts["__used __weak noinline"] == {COMPILE_ERROR}
    assert not verdicts["__used noinline"] & {GONE, CLONE_ONLY, COMPILE_ERROR}
    # Warm: the prepared build directory is reused; the matrix is printed for the log.
    shown = CliRunner().invoke(main, args)
    assert shown.exit_code == 0, shown.output
    assert f"| marker | {FILE} |" in shown.stdout
    print(shown.stdout)
    after = subprocess.run(["git", "-C", str(linux61), "status", "--porcelain"],
                           capture_output=True, text=True, check=True).stdout
    assert after == before  # nothing written into the tree
