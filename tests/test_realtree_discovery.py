"""Discovery and the source model on Debian's linux-source 6.1 and 6.12 trees."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.report import records

pytestmark = pytest.mark.realtree

ENTRY_RE = re.compile(rb"^\s*BTF_ID_FLAGS\(\s*func\s*,\s*(\w+)", re.M)


def raw_entries(tree: Path, idset) -> list[str]:
    """BTF_ID_FLAGS(func, x) lines between a set's START and END, read as plain text."""
    data = (tree / idset.file).read_bytes()[idset.start_span.end:idset.end_span.start]
    return [m.decode() for m in ENTRY_RE.findall(data)]


@pytest.fixture(scope="module")
def index61(linux61: Path):
    return discover(linux61)


@pytest.fixture(scope="module")
def index612(linux612: Path):
    return discover(linux612)


@pytest.mark.parametrize("which", ["index61", "index612"])
def test_every_entry_of_every_kfunc_set_resolves_or_has_a_reason(which, request):
    index = request.getfixturevalue(which)
    tree = Path(index.root)
    kfunc_sets = [s for s in index.sets if s.kind == "kfunc"]
    assert kfunc_sets
    for idset in kfunc_sets:
        listed = [k.name for k in index.kfuncs if k.set is idset]
        written = raw_entries(tree, idset)
        # Every entry written out is found; X-macro sets produce more than are written.
        assert set(written) <= set(listed), idset.name
        if not any(e.via_macro for e in idset.entries):
            assert sorted(written) == sorted(listed), idset.name
    for k in index.kfuncs:
        assert k.definitions or k.reason, k.name
        for d in k.definitions:
            src = index.sources[d.file]
            assert src.data[d.func.name_start:d.func.name_end].decode() == k.name
            assert src.data[d.func.brace:d.func.brace + 1] == b"{"
            if d.func.is_static:
                assert d.file == k.set.file, k.name


def test_61_known_shapes(index61):
    recs = {(r.name, r.file): r for r in records(index61)}
    # A set in kernel/bpf/helpers.c naming a function of kernel/kexec_core.c.
    crash = recs[("crash_kexec", "kernel/kexec_core.c")]
    assert crash.set == "tracing_btf_ids" and crash.flags == ["KF_DESTRUCTIVE"]
    # Static congestion-control kfuncs under nested #ifdef entries.
    bbr = recs[("bbr_main", "net/ipv4/tcp_bbr.c")]
    assert bbr.condition == ["CONFIG_X86", "CONFIG_DYNAMIC_FTRACE"]
    assert "static-without-noinline" in bbr.risks
    # A dtor kfunc from BTF_ID_LIST + struct btf_id_dtor_kfunc.
    release = recs[("bpf_kfunc_call_test_release", "net/bpf/test_run.c")]
    assert "dtor" in release.kinds and "kfunc" in release.kinds
    # The selftest module counts.
    assert any(f == "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c" for _, f in recs)
    assert not index61.defines_bpf_kfunc
    # Verifier-internal and LSM lists are sets, but not kfunc sets.
    kinds = {s.name: s.kind for s in index61.sets}
    assert kinds["bpf_lsm_hooks"] == "unregistered"


def test_612_x_macro_from_a_header(index612):
    entries = {e.name: e for s in index612.sets for e in s.entries}
    xdp = entries["bpf_xdp_metadata_rx_timestamp"]
    assert xdp.via_macro == "XDP_METADATA_KFUNC_xxx"
    assert index612.defines_bpf_kfunc


def test_612_check_is_clean(linux612: Path):
    # Upstream tagged every kfunc by 6.12: nothing at risk.  The one convention
    # finding is real: nf_flow_table_bpf.c keeps a redundant __diag_push() pair
    # (its __diag_pop() without a semicolon) around its __bpf_kfunc_start_defs().
    result = CliRunner().invoke(main, ["check", str(linux612)])
    findings = [line for line in result.stdout.splitlines() if ": WARNING: " in line
                or ": ERROR: " in line]
    assert [f.split(": ", 3)[:3] for f in findings] == [
        ["net/netfilter/nf_flow_table_bpf.c:29", "WARNING", "kfunc_defs_block"]], result.stdout


def test_61_check_lists_untagged(linux61: Path):
    result = CliRunner().invoke(main, ["check", str(linux61)])
    assert result.exit_code == 1
    assert "net/ipv4/tcp_bbr.c:" in result.stdout
    assert all(line.endswith("is not tagged __bpf_kfunc")
               for line in result.stdout.splitlines())


def test_61_source_model_reads_every_c_file_of_the_bpf_core(linux61: Path):
    from kfuncfix.source.scan import scan

    files = subprocess.run(["git", "-C", str(linux61), "ls-files", "kernel/bpf/*.c", "net/*.c"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert len(files) > 100
    for rel in files:
        src = scan(rel, (linux61 / rel).read_bytes())
        assert not [w for w in src.warnings if "unterminated" in w], rel
