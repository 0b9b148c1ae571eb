"""Property and fuzz tests for the source model (hypothesis).

Files are built from pieces a kernel file has: definitions mixed with
comments holding braces, strings holding braces and the function's name,
preprocessor conditionals with continuations, macro lines around
definitions, and prototypes without bodies.  The scanner must find exactly
the definitions that were generated, at the right bytes.
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfuncfix.source.prototype import PrototypeError, prototype_of
from kfuncfix.source.scan import scan

NAMES = st.from_regex(r"[a-z][a-z0-9_]{2,12}", fullmatch=True).map(lambda s: "f_" + s)
NEWLINE = st.sampled_from(["\n", "\r\n"])
SPECIFIERS = st.sampled_from([
    "", "static ", "static noinline ", "__used noinline\n", "noinline ", "__weak ",
    "static __always_inline ", "notrace ", "__attribute__((unused)) ", "__init ",
])
RETURNS = st.sampled_from(["int ", "void ", "struct sock *", "u32\n", "struct a *\n",
                           "unsigned long "])
PARAMS = st.sampled_from(["(void)", "(int a)", "(struct sk_buff *skb,\n\t    u32 len)",
                          "(const char *fmt, ...)", "(int (*cb)(void *), void *arg)"])


@st.composite
def noise(draw, name: str) -> str:
    """Something that is not a definition but may mention one."""
    return draw(st.sampled_from([
        f"/* {name}(void) {{ not code }} */",
        f"// {name}(int x) {{",
        f'static const char *s_{draw(st.integers(0, 999))} = "{name}(void) {{ }}";',
        f"int {name}(int a);",
        f"extern void {name}(void);",
        f"EXPORT_SYMBOL_GPL({name});",
        "#define LONG_MACRO(x) \\\n\tdo { (x)++; } \\\n\twhile (0)",
        "#if 0\nint dead_code(void) { return 0; }\n#endif",
        f"BTF_ID_FLAGS(func, {name})",
        "char c = '{';",
    ]))


@st.composite
def definition(draw) -> tuple[str, str]:
    name = draw(NAMES)
    body_noise = draw(st.sampled_from([
        "", '\tconst char *s = "}";\n', "\t/* } */\n", "\tif (x) {\n\t\ty();\n\t}\n",
        "\tchar c = '}';\n",
    ]))
    text = (
        draw(st.sampled_from(["", "/**\n * doc { with braces\n */\n"]))
        + draw(SPECIFIERS) + draw(RETURNS) + name + draw(PARAMS)
        + "\n{\n" + body_noise + "\treturn;\n}"
    )
    wrap = draw(st.sampled_from(["plain", "ifdef", "else"]))
    if wrap == "ifdef":
        text = f"#ifdef CONFIG_{name.upper()}\n{text}\n#endif"
    elif wrap == "else":
        text = f"#if defined(CONFIG_A) && \\\n    defined(CONFIG_B)\nint x;\n#else\n{text}\n#endif"
    return name, text


@st.composite
def c_file(draw):
    pieces: list[str] = []
    names: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        name, text = draw(definition())
        if name in names:
            continue
        for _ in range(draw(st.integers(0, 2))):
            pieces.append(draw(noise(name)))
        pieces.append(text)
        names.append(name)
    newline = draw(NEWLINE)
    return names, newline.join(pieces).replace("\n", newline).replace("\r\r", "\r") + newline


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(c_file())
def test_finds_exactly_the_generated_definitions(generated):
    names, text = generated
    data = text.encode()
    src = scan("gen.c", data)
    found = [f.name for f in src.functions if not src.is_dead(f.name_start)]
    assert found == names
    for f in src.functions:
        assert data[f.name_start:f.name_end].decode() == f.name
        assert data[f.params_start:f.params_start + 1] == b"("
        assert data[f.params_end - 1:f.params_end] == b")"
        assert data[f.brace:f.brace + 1] == b"{"
        assert data[f.body_end - 1:f.body_end] == b"}"
        try:
            proto = prototype_of(src, f)
        except PrototypeError:
            continue
        assert proto.name == f.name


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise_or_hang(data):
    start = time.monotonic()
    src = scan("random.c", data)
    assert src.data == data
    assert len(src.masked) == len(data)
    assert time.monotonic() - start < 2.0


@settings(max_examples=100, deadline=None)
@given(c_file(), st.data())
def test_truncated_files_never_raise(generated, data):
    _, text = generated
    raw = text.encode()
    cut = data.draw(st.integers(0, len(raw)))
    src = scan("cut.c", raw[:cut])
    assert len(src.masked) == cut
