"""Text a rule adds follows the spacing after full stops of the file it goes in."""

from __future__ import annotations

from kfuncfix.engine.sentences import respace, sentence_spacing

ONE = b"/* Tag marking a kfunc. Put it first. See the documentation. */\n"
TWO = b"/* Tag marking a kfunc.  Put it first.  Or not. */\n"


def test_the_files_own_spacing_is_measured() -> None:
    assert sentence_spacing(ONE) == 1
    assert sentence_spacing(TWO) == 2
    assert sentence_spacing(b"no sentences at all") == 1
    assert sentence_spacing(ONE + TWO) == 1  # a tie: one space
    assert sentence_spacing(ONE + TWO + TWO) == 2  # the majority


def test_respace_changes_only_sentence_breaks() -> None:
    assert respace(TWO, 1) == b"/* Tag marking a kfunc. Put it first. Or not. */\n"
    assert respace(ONE, 2) == b"/* Tag marking a kfunc.  Put it first.  See the documentation. */\n"
    # Not a sentence end: a lower-case word after it, a line end, a number.
    kept = b"call f() e.g. here.\nNext line. 1.5 x.y\n"
    assert respace(kept, 2) == kept
