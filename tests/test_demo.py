"""`kfuncfix demo`, and the example series in patches/demo/ that it writes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kfuncfix.cli import main
from tests.conftest import REPO

DEMO = REPO / "patches" / "demo"


def test_demo_runs_and_patches_demo_is_what_it_writes_now(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "-o", str(out)])

    assert result.exit_code == 0, result.output
    assert "kfuncfix: series check passed" in result.stderr
    written = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    committed = {p.name: p.read_bytes() for p in sorted(DEMO.iterdir())}
    assert sorted(written) == sorted(committed), "regenerate: kfuncfix demo -o patches/demo"
    for name, data in written.items():
        assert data == committed[name], f"{name} differs: kfuncfix demo -o patches/demo"
