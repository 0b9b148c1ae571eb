"""Why a configuration leaves an object out, as Kbuild's own files say: whether
another configuration could build it is part of the answer, not guessed later
from its wording (`--build` fails a configuration that compiles none of the
objects a series changes only where another one could)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from kfuncfix.outputs.build import NOT_BUILT, _ConfigRun
from kfuncfix.outputs.kbuild import Kbuild, NotBuilt


@pytest.fixture
def kbuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kbuild:
    src, out = tmp_path / "src", tmp_path / "out"
    for directory in ("kernel", "net", "tools/testing"):
        (src / directory).mkdir(parents=True)
    (src / "Makefile").write_text("obj-y += kernel/\nobj-$(CONFIG_NET) += net/\n")
    (src / "kernel" / "Makefile").write_text("obj-y += a.o\nobj-$(CONFIG_B) += b.o\n")
    out.mkdir()
    (out / ".config").write_text("CONFIG_A=y\n# CONFIG_NET is not set\n")
    made = Kbuild(src, out, 1, lambda _: None)
    # Kbuild's evaluated lists need a kernel's scripts/Makefile.build: given here.
    monkeypatch.setattr(made, "_dir_lists", lambda directory: ({"kernel/a.o"}, set(), set()))
    return made


@pytest.mark.parametrize(("obj", "why", "configurable"), [
    ("tools/testing/bpf_testmod.o", "tools/ is not part of the kernel build", False),
    ("x.o", "not in a directory Kbuild builds", False),
    ("net/core/filter.o", "needs CONFIG_NET (not set)", True),
    ("kernel/b.o", "needs CONFIG_B (not set)", True),
    # Never listed: most likely #included by another object, which a check must
    # not pass unbuilt.
    ("kernel/c.o", "kernel/Makefile does not list it", True),
])
def test_each_reason_says_whether_a_configuration_could_build_it(
        kbuild: Kbuild, obj: str, why: str, configurable: bool) -> None:
    assert kbuild.why_not_built(obj) == NotBuilt(why, configurable)
    assert kbuild.why_not_built("kernel/a.o") is None


def test_reasons_kept_in_the_first_format_are_asked_again(tmp_path: Path) -> None:
    """The first format kept bare strings, from which "another configuration could
    build it" cannot be told: such a file (or a damaged one) is not read."""
    run = SimpleNamespace(cache=tmp_path)
    (tmp_path / NOT_BUILT).write_text(json.dumps({"net/x.o": "needs CONFIG_NET (not set)"}))
    assert _ConfigRun._known_not_built(run) == {}  # type: ignore[arg-type]
    for damaged in ('{"format": 2, "objects": {"net/x.o": ["why"', '{"format": 2, "objects": [1]}',
                    '{"format": 2, "objects": {"net/x.o": ["why", "yes"]}}', "[]"):
        (tmp_path / NOT_BUILT).write_text(damaged)
        assert _ConfigRun._known_not_built(run) == {}, damaged  # type: ignore[arg-type]
    (tmp_path / NOT_BUILT).write_text(json.dumps(
        {"format": 2, "objects": {"net/x.o": ["needs CONFIG_NET (not set)", True],
                                  "kernel/a.o": None}}))
    assert _ConfigRun._known_not_built(run) == {  # type: ignore[arg-type]
        "net/x.o": NotBuilt("needs CONFIG_NET (not set)", True), "kernel/a.o": None}
