"""Property tests (hypothesis) for the tag rule on generated trees.

Each example is a one-file tree: a BTF kfunc set with its registration, and
between the includes and the set, kfunc definitions mixed with what a kernel
file holds around them: comments with braces and the kfunc's name, strings
holding braces and names, conditionals with continued lines, macro lines
before and after definitions, prototypes without bodies, and ordinary
functions that no set lists.  The tag rule must give every listed
definition `__bpf_kfunc` (dropping only `noinline` and `__used`), change no
byte outside those headers, refuse inline kfuncs, and find nothing left to
do on a second run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfuncfix.discover import discover
from kfuncfix.engine import Edit, load_rule, plan
from kfuncfix.engine.layout import after_eol, line_start
from kfuncfix.source.scan import SourceFile, scan

RULE = load_rule("bpf_kfunc_tag")
DROPPED = {b"noinline", b"__used"}
PATH = "kernel/gen.c"
TOKEN_RE = re.compile(rb"[A-Za-z_]\w*|\d\w*|\S")
# A line of attributes only (`__weak __printf(1, 2)`): the tag goes below it.
ATTRIBUTE_LINE_RE = re.compile(rb"(?:[ \t]*(?:__weak|__printf\([^)\n]*\)))+[ \t]*\r?\n")

NAMES = st.from_regex(r"[a-z][a-z0-9_]{2,10}", fullmatch=True)
SPECIFIERS = st.sampled_from([
    "", "static ", "static noinline ", "__used noinline\n", "noinline ", "__weak ",
    "noinline __used ", "notrace ", "__attribute__((unused)) ", "__used ",
    "static __used\n", "noinline\n", "__printf(1, 2) ", "__weak __printf(1, 2)\n",
])
RETURNS = st.sampled_from(["int ", "void ", "struct sock *", "u32\n", "struct bpf_map *\n",
                           "unsigned long ", "const char *"])
PARAMS = st.sampled_from([
    "(void)", "(int a)", "(struct sk_buff *skb,\n\t\t\t\t   u32 len)",
    "(const char *fmt, ...)", "(int (*cb)(void *), void *arg)",
    "(struct bpf_dynptr_kern *ptr, u32 offset, void *buffer__opt, u32 buffer__szk, "
    "u64 flags, int more)",
])


@st.composite
def noise(draw: st.DrawFn, name: str) -> str:
    """Text that is no definition but mentions one, or braces, or both."""
    n = draw(st.integers(0, 999))
    return draw(st.sampled_from([
        f"/* {name}(void) {{ not code }} */",
        f"/*\n * {name}() {{\n *\t{{ {name}(1); }}\n */",
        f"// {name}(int x) {{",
        f'static const char *s_{n} = "{name}(void) {{ }}";',
        f"static const char c_{n} = '{{';",
        f"int {name}(int a);",
        f"extern void {name}(void);",
        f"EXPORT_SYMBOL_GPL({name});",
        f"ALLOW_ERROR_INJECTION({name}, ERRNO);",
        f"#define CALL_{n}(x) \\\n\tdo {{ {name}(x); }} \\\n\twhile (0)",
        f"#if 0\nint {name}(void) {{ return 0; }}\n#endif",
        f"struct ops_{n} {{\n\tint (*{name})(int a);\n}};",
        "__diag_push();\n__diag_ignore_all(\"-Wmissing-prototypes\",\n"
        "\t\t  \"Global kfuncs { as their definitions will be in BTF\");",
        "__diag_pop();",
        f"BPF_CALL_2(helper_{n}, int, a, int, b)\n{{\n\treturn {name}(a) + b;\n}}",
        f"static const struct bpf_func_proto proto_{n} = {{\n\t.func = {name},\n}};",
    ]))


@st.composite
def definition(draw: st.DrawFn, name: str, inline: bool = False) -> str:
    body = draw(st.sampled_from([
        "", '\tconst char *s = "}";\n', "\t/* } */\n", "\tif (x) {\n\t\ty();\n\t}\n",
        "\tchar c = '}';\n", f'\tpr_info("{name}() {{\\n");\n',
    ]))
    spec = "static __always_inline " if inline else draw(SPECIFIERS)
    text = (draw(st.sampled_from(["", "/**\n * doc { with braces\n */\n"]))
            + spec + draw(RETURNS) + name + draw(PARAMS) + "\n{\n" + body + "\treturn 0;\n}")
    wrap = draw(st.sampled_from(["plain", "plain", "ifdef", "else"]))
    if wrap == "ifdef":
        return f"#ifdef CONFIG_{name.upper()}\n{text}\n#endif"
    if wrap == "else":
        return (f"#if defined(CONFIG_A) && \\\n    defined(CONFIG_B)\nint x_{name};\n#else\n"
                f"{text}\n#endif")
    return text


@st.composite
def tree_file(draw: st.DrawFn) -> tuple[str, list[str], list[str], str]:
    """(file text, kfuncs, inline kfuncs, newline)."""
    names = draw(st.lists(NAMES, min_size=1, max_size=7, unique=True))
    kinds = [draw(st.sampled_from(["kfunc", "kfunc", "kfunc", "plain", "inline"]))
             for _ in names]
    pieces = []
    for name, kind in zip(names, kinds, strict=True):
        for _ in range(draw(st.integers(0, 2))):
            pieces.append(draw(noise(name)) + draw(st.sampled_from(["\n", "\n\n"])))
        pieces.append(draw(definition(name, inline=kind == "inline")) + "\n\n")
    listed = [n for n, k in zip(names, kinds, strict=True) if k != "plain"]
    entries = "".join(f"BTF_ID_FLAGS(func, {n})\n" for n in listed)
    text = (
        "// SPDX-License-Identifier: GPL-2.0\n#include <linux/btf.h>\n"
        "#include <linux/btf_ids.h>\n\n" + "".join(pieces)
        + f"BTF_SET8_START(gen_ids)\n{entries}BTF_SET8_END(gen_ids)\n\n"
        "static const struct btf_kfunc_id_set gen_set = {\n"
        "\t.owner = THIS_MODULE,\n\t.set   = &gen_ids,\n};\n\n"
        "static int __init gen_init(void)\n{\n"
        "\treturn register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &gen_set);\n}\n"
    )
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    kfuncs = [n for n, k in zip(names, kinds, strict=True) if k == "kfunc"]
    inline = [n for n, k in zip(names, kinds, strict=True) if k == "inline"]
    return text.replace("\n", newline), kfuncs, inline, newline


def live_functions(src: SourceFile) -> list:
    return [f for f in src.functions if not src.is_dead(f.name_start)]


def header_span(src: SourceFile, func) -> tuple[int, int]:
    """From the start of the definition's first line to the end of the line of its `{`."""
    return line_start(src.data, func.start), after_eol(src.data, func.brace)


def attribute_lines(head: bytes) -> bytes:
    """The lines of attributes only at the start of a definition header."""
    at = 0
    while m := ATTRIBUTE_LINE_RE.match(head, at):
        at = m.end()
    return head[:at]


def tokens(data: bytes) -> list[bytes]:
    return TOKEN_RE.findall(data)


def unchanged_outside(old: bytes, new: bytes, edits: list[Edit]) -> bool:
    """Old and new bytes agree everywhere but in the edits (walked here, not applied)."""
    pos = shift = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if old[pos:edit.start] != new[pos + shift:edit.start + shift]:
            return False
        if new[edit.start + shift:edit.start + shift + len(edit.text)] != edit.text:
            return False
        shift += len(edit.text) - (edit.end - edit.start)
        pos = edit.end
    return old[pos:] == new[pos + shift:]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    (root / "Kconfig").touch()
    (root / "kernel").mkdir()
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tree_file())
def test_tag_rule_changes_only_kfunc_headers(tree: Path, generated) -> None:
    text, kfuncs, inline, newline = generated
    old = text.encode()
    (tree / PATH).write_bytes(old)

    result = plan(discover(tree), RULE)
    assert sorted(s.name for s in result.skipped) == sorted(inline)
    assert all("inline" in s.reason for s in result.skipped)
    if not kfuncs:
        assert result.files == {}
        return
    change = result.files[PATH]
    assert list(result.files) == [PATH] and change.old == old
    assert sorted(change.kfuncs) == sorted(kfuncs)
    new = change.new

    # Every edit lies inside the header of a definition the set lists, one each.
    before = scan(PATH, old)
    spans = {f.name: header_span(before, f) for f in live_functions(before) if f.name in kfuncs}
    assert sorted(spans) == sorted(kfuncs)
    for edit in change.edits:
        owners = [n for n, (lo, hi) in spans.items() if lo <= edit.start <= edit.end <= hi]
        assert len(owners) == 1, (edit, spans)
    assert len(change.edits) == len(kfuncs)
    assert unchanged_outside(old, new, change.edits)

    # The same functions, in order; each kfunc's header is the old one, tagged,
    # without the words the tag implies: nothing else moved but whitespace.
    after = scan(PATH, new)
    old_funcs, new_funcs = live_functions(before), live_functions(after)
    assert [f.name for f in new_funcs] == [f.name for f in old_funcs]
    for was, now in zip(old_funcs, new_funcs, strict=True):
        old_head, new_head = old[was.start:was.brace], new[now.start:now.brace]
        if was.name in kfuncs:
            kept = [t for t in tokens(old_head) if t not in DROPPED]
            above = len(tokens(attribute_lines(old_head)))
            assert tokens(new_head) == kept[:above] + [b"__bpf_kfunc"] + kept[above:]
            assert "__bpf_kfunc" in now.words and not now.words & {"noinline", "__used"}
        else:
            assert new[now.start:now.body_end] == old[was.start:was.body_end]
    # Line ends: a CRLF file gets no bare LF, an LF file no CR.
    bare_lf = len(re.findall(rb"(?<!\r)\n", new))
    assert bare_lf == (0 if newline == "\r\n" else new.count(b"\n"))

    again = plan(discover(tree, {PATH: new}), RULE)
    assert again.files == {}
    assert sorted(set(again.already_done)) == sorted(kfuncs)
