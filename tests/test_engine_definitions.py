"""Definition headers: layout rules and the cases a rule must report, not rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfuncfix.discover import discover
from kfuncfix.engine import load_rule, plan
from kfuncfix.engine.definitions import DefinitionStyle, rewrite_header
from kfuncfix.engine.edits import CannotRewrite, Edit, apply_edits, offset_map
from kfuncfix.engine.layout import indent, width
from kfuncfix.source.scan import scan
from tests.rewrite_helper import kfunc_source, small_tree

TAG = DefinitionStyle(prefix="__bpf_kfunc", drop=frozenset({"noinline", "__used"}),
                      already=frozenset({"__bpf_kfunc"}))
WRAP = DefinitionStyle(wrap="BPF_KFUNC", drop=frozenset({"noinline", "__used"}),
                       already=frozenset({"BPF_KFUNC"}))


def rewrite(text: bytes, style: DefinitionStyle) -> tuple[bytes, bool]:
    src = scan("f.c", text)
    result = rewrite_header(src, src.functions[0], style, "test")
    return apply_edits(text, [result.edit]), result.over_limit


def test_width_counts_tab_stops() -> None:
    assert width(b"\t\t  x") == 19
    assert width(b"ab\tc") == 9
    assert width(b"abc\r") == 3


@pytest.mark.parametrize(("columns", "text"), [(0, b""), (7, b"       "), (8, b"\t"),
                                               (19, b"\t\t   ")])
def test_indent_is_tabs_then_spaces(columns: int, text: bytes) -> None:
    assert indent(columns) == text


def test_offset_map_moves_untouched_offsets() -> None:
    moved = offset_map([Edit(0, 0, b"ab"), Edit(5, 8, b"x")])
    assert (moved(0), moved(4), moved(8), moved(9)) == (2, 6, 8, 9)


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(Exception, match="overlap"):
        apply_edits(b"abcdef", [Edit(0, 3, b""), Edit(2, 4, b"")])


def test_crlf_break_uses_crlf() -> None:
    text = (b"int f(struct a_rather_long_type_name *first_parameter, "
            b"struct another_long_type *second_one)\r\n{\r\n}\r\n")
    new, over = rewrite(text, TAG)
    assert new == (b"__bpf_kfunc int f(struct a_rather_long_type_name *first_parameter,\r\n"
                   b"\t\t  struct another_long_type *second_one)\r\n{\r\n}\r\n")
    assert not over


def test_no_comma_to_break_at_is_reported() -> None:
    name = b"f_" + b"x" * 80
    new, over = rewrite(b"void " + name + b"(struct some_type *p)\n{\n}\n", TAG)
    assert new.startswith(b"__bpf_kfunc void " + name)
    assert over


def test_comment_before_brace_stays_when_wrapping() -> None:
    new, _ = rewrite(b"int f(void) /* keep */ {\n\treturn 0;\n}\n", WRAP)
    assert new == b"BPF_KFUNC(int f(void)) /* keep */\n{\n\treturn 0;\n}\n"


def test_trailing_attributes_go_inside_the_wrapper() -> None:
    new, _ = rewrite(b"void f(void)\n\t__releases(&l)\n{\n}\n", WRAP)
    assert new == b"BPF_KFUNC(void f(void)\n\t__releases(&l))\n{\n}\n"


def test_comma_inside_nested_parentheses_is_not_a_break_point() -> None:
    # Every comma before column 100 is inside the callback's own parameter list.
    text = (b"int f(void (*callback)(struct some_long_type_name *a, struct other_type *b, "
            b"int more_args), int x)\n{\n}\n")
    new, over = rewrite(text, TAG)
    assert new == b"__bpf_kfunc " + text
    assert over


@pytest.mark.parametrize(("text", "reason"), [
    (b"static inline int f(void)\n{\n\treturn 0;\n}\n", "inline definition"),
    (b"static __always_inline int f(void)\n{\n\treturn 0;\n}\n", "inline definition"),
    (b"int\n#ifdef CONFIG_X\n__weak\n#endif\nf(void)\n{\n}\n", "preprocessor line"),
])
def test_cannot_rewrite(text: bytes, reason: str) -> None:
    src = scan("f.c", text)
    with pytest.raises(CannotRewrite, match=reason):
        rewrite_header(src, src.functions[0], TAG, "test")


def test_over_limit_is_a_note_in_the_plan(tmp_path: Path) -> None:
    name = "f_" + "x" * 84
    tree = small_tree(tmp_path, {"kernel/a.c": kfunc_source(
        f"\nvoid {name}(struct some_type *p)\n{{\n}}\n", [name])})
    result = plan(discover(tree), load_rule("bpf_kfunc_tag"))
    assert list(result.files) == ["kernel/a.c"] and not result.skipped
    assert [n.name for n in result.notes] == [name]
    assert "past 100 columns" in result.notes[0].reason
