"""The source model: definitions and their byte spans in unpreprocessed kernel C."""

from __future__ import annotations

from kfuncfix.source.prototype import parse_prototype_text, prototype_of
from kfuncfix.source.scan import scan


def defs(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    src = scan("f.c", data)
    return src, {f.name: f for f in src.functions}


def test_definitions_and_not_declarations_comments_or_strings():
    src, found = defs(
        "/* int in_comment(void) { } */\n"
        "static int proto_only(int a);\n"
        "extern void ext(void);\n"
        'const char *s = "int in_string(void) { }";\n'
        "int real(int a)\n{\n\treturn a;\n}\n"
        "// void line_comment(void) { }\n"
    )
    assert list(found) == ["real"]
    f = found["real"]
    assert src.data[f.start:f.name_end] == b"int real"
    assert src.data[f.params_start:f.params_end] == b"(int a)"
    assert src.data[f.brace:f.body_end] == b"{\n\treturn a;\n}"
    assert f.line == 5


def test_specifier_shapes_and_return_type_on_its_own_line():
    text = (
        "/**\n * kernel-doc - with { braces }\n */\n"
        "__used noinline\nstruct sock *\nbpf_a(struct sock *sk,\n\t      int x)\n{\n}\n"
        "int noinline bpf_b(void) { return 0; }\n"
        "struct sock * noinline bpf_c(int a) { }\n"
        "static __always_inline __attribute__((unused)) u32 bpf_d(void) { }\n"
    )
    src, found = defs(text)
    assert [s.text for s in found["bpf_a"].specifiers][:2] == ["__used", "noinline"]
    assert src.data[found["bpf_a"].start:].startswith(b"__used noinline\nstruct sock *\nbpf_a(")
    assert "noinline" in found["bpf_b"].words
    c = found["bpf_c"]
    assert [s.text for s in c.specifiers] == ["struct", "sock", "*", "noinline"]
    d = found["bpf_d"]
    assert d.is_static and d.is_inline
    assert src.data[d.start:d.name_start] == b"static __always_inline __attribute__((unused)) u32 "


def test_definitions_after_macro_lines_and_under_ifdef():
    src, found = defs(
        "EXPORT_SYMBOL_GPL(prev)\n"
        "STACK_FRAME_NON_STANDARD(prev);\n"
        "BTF_SET8_END(x)\n"
        "int after_macro(void)\n{\n}\n"
        "#ifdef CONFIG_FOO\n"
        "void under_ifdef(void) { }\n"
        "#else\n"
        "void in_else(void) { }\n"
        "#endif\n"
        "#if 0\n"
        "void dead(void) { }\n"
        "#endif\n"
    )
    assert set(found) == {"after_macro", "under_ifdef", "in_else"}
    assert src.data[found["after_macro"].start:].startswith(b"int after_macro")
    assert found["under_ifdef"].condition == ("CONFIG_FOO",)
    assert found["in_else"].condition == ("!CONFIG_FOO",)


def test_header_guard_is_not_a_condition():
    _, found = defs("#ifndef _X_H\n#define _X_H\nstatic inline int f(void) { return 0; }\n#endif\n")
    assert found["f"].condition == ()


def test_bytes_survive_non_utf8_and_crlf():
    data = b"/* caf\xe9 */\r\nint f(int a)\r\n{\r\n\treturn a;\r\n}\r\n"
    src, found = defs(data)
    f = found["f"]
    assert src.data == data
    assert data[f.start:f.params_end] == b"int f(int a)"


def test_macro_generated_definition_is_marked():
    _, found = defs("BPF_CALL_2(bpf_x, int, a, int, b)\n{\n\treturn a;\n}\n")
    f = found["BPF_CALL_2"]
    assert f.macro and f.macro_args[0] == "bpf_x"


def test_unbalanced_input_warns_instead_of_failing():
    src, _ = defs("int f(void) {\n#if X\n")
    assert any("unterminated #if" in w for w in src.warnings)
    assert any("unclosed" in w for w in src.warnings)


def test_prototype_with_kernel_annotations_and_unknown_types():
    proto = parse_prototype_text(
        "bpf_x",
        "__used noinline struct sock *bpf_x(struct __sk_buff *skb, u32 __user *p, "
        "const struct bpf_dynptr_kern *ptr__nullable, int (*cb)(void *))",
    )
    assert proto.return_type == "struct sock *"
    assert [p.name for p in proto.params] == ["skb", "p", "ptr__nullable", "cb"]
    assert proto.params[0].type == "struct __sk_buff *"
    assert proto.params[1].type == "u32 *"


def test_prototype_of_void_and_variadic():
    src, found = defs("int f(void) { }\nvoid g(const char *fmt, ...) { }\n")
    assert prototype_of(src, found["f"]).params == ()
    g = prototype_of(src, found["g"])
    assert g.variadic and [p.name for p in g.params] == ["fmt"]


def test_brackets_follow_the_first_live_branch():
    # drivers/media/dvb-core/dvb_net.c opens a block in both branches of `#if 0`.
    src, found = defs(
        "void f(int x)\n{\n#if 0\n\tif (x) {\n#else\n\tif (!x) {\n#endif\n\t\tg();\n\t}\n}\n"
        "int after(void) { return 0; }\n"
    )
    assert list(found) == ["f", "after"]
    assert src.warnings == []


def test_attributes_after_the_name_are_read_in_one_pass() -> None:
    """`_attributes_only` answers for every index at once; each answer is the forward
    reading's: words that are annotations, a group only right after such a word."""
    import itertools

    from kfuncfix.source.header import _attributes_only, _is_attribute_word, _Item

    def forward(items: list[_Item], start: int) -> bool:
        prev_attr = False
        for item in items[start:]:
            if item.kind == "id":
                prev_attr = _is_attribute_word(item.text)
                if not prev_attr:
                    return False
            elif item.kind == "group" and prev_attr:
                prev_attr = False
            else:
                return False
        return True

    kinds = [_Item("id", 0, 0, "__rcu"), _Item("id", 0, 0, "int"), _Item("group", 0, 0),
             _Item("other", 0, 0, "*")]
    for length in range(6):
        for combo in itertools.product(kinds, repeat=length):
            items = list(combo)
            assert _attributes_only(items) == [forward(items, i) for i in range(length + 1)]
