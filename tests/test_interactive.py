"""`apply --interactive`: review kfunc by kfunc, write only what was accepted."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.engine import load_rule, plan
from kfuncfix.interactive import review, units
from kfuncfix.sample import copy_sample_tree


@pytest.fixture()
def sample(tmp_path: Path) -> Path:
    return copy_sample_tree(tmp_path / "linux")


def scripted(answers: list[str]):
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return answers.pop(0)

    return ask, asked


def test_units_are_kfuncs_with_their_reasons(sample: Path):
    index = discover(sample)
    result = plan(index, load_rule("bpf_kfunc_tag"))
    found = units(index, result)
    assert [u.kfunc for u in found] == result.kfuncs
    first = found[0]
    assert first.reason.startswith("set ") and first.path in result.files


def test_only_accepted_kfuncs_are_planned(sample: Path):
    index = discover(sample)
    full = plan(index, load_rule("bpf_kfunc_tag"))
    shown: list[str] = []
    ask, asked = scripted(["n", "?", "y", "q"])
    chosen = review(index, full, ask, shown.append, color=False)
    assert chosen.kfuncs == [full.kfuncs[1]]
    assert len(asked) == 4  # the help answer asks the same question again
    assert any("a - apply this change and all later ones" in s for s in shown)
    assert any(s.startswith("diff --git") for s in shown)
    # the accepted kfunc's file is rewritten exactly as the full plan would
    path = next(iter(chosen.files))
    assert "__bpf_kfunc" in chosen.files[path].new.decode()


def test_all_from_here(sample: Path):
    index = discover(sample)
    full = plan(index, load_rule("bpf_kfunc_tag"))
    ask, _ = scripted(["n", "a"])
    chosen = review(index, full, ask, lambda _: None, color=False)
    assert chosen.kfuncs == full.kfuncs[1:]


def test_refuses_without_a_terminal(sample: Path):
    result = CliRunner().invoke(main, ["apply", "-i", str(sample)], input="y\n")
    assert result.exit_code == 2
    assert "needs a terminal" in result.stderr


def test_on_a_real_terminal(sample: Path):
    """Through a pseudo-terminal, as a user runs it: y to the first kfunc, q after."""
    before = {p: p.read_bytes() for p in sample.rglob("*.c")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: kfuncfix on the terminal
        os.execvp(sys.executable, [sys.executable, "-m", "kfuncfix", "apply", "-i", str(sample)])
    output = b""
    answers = [b"y\n", b"q\n"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if output.count(b"[y,n,a,q,?]?") > 2 - len(answers) and answers:
            os.write(fd, answers.pop(0))
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode("utf-8", "replace")
    assert "(1/" in text and "Apply this change [y,n,a,q,?]?" in text
    changed = [p for p, data in before.items() if p.read_bytes() != data]
    assert len(changed) == 1, text
    assert changed[0].read_bytes().count(b"__bpf_kfunc ") == 1
    assert "1 file changed, 1 kfunc rewritten" in text
    assert os.waitstatus_to_exitcode(status) in (0, 1)
