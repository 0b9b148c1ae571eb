"""Rule files: the built-ins, user rules by path, and clear errors for broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfuncfix.discover import discover
from kfuncfix.engine import (
    DEFAULT_RULE,
    FileChange,
    RuleError,
    commit_message,
    cover_letter,
    definition_message,
    list_rules,
    load_rule,
    parse_rule,
    plan,
)
from kfuncfix.engine.messages import reflow
from tests.rewrite_helper import kfunc_source, small_tree

MINIMAL = """\
name = "mine"
description = "A rule of my own"

[[actions]]
type = "insert_prefix"
text = "__my_tag"

[series]
commit_subject = "Tag {count} kfuncs in {where}"
commit_body = "Tag {kfuncs}."
cover_subject = "Tag kfuncs"
cover_body = "{patches} patches."
"""


def test_builtin_rules_default_first() -> None:
    names = [r.name for r in list_rules()]
    assert names[0] == DEFAULT_RULE
    # Every file of rules/ is a built-in rule; the four of the first round among them.
    files = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "rules")
                   .glob("*.toml"))
    assert names[1:] == sorted(n for n in files if n != DEFAULT_RULE)
    assert {"bpf_kfunc_macro", "btf_kfuncs_set", "kfunc_defs_block"} <= set(names)


@pytest.mark.parametrize("rule", list_rules(), ids=lambda r: r.name)
def test_builtin_rule_carries_series_texts(rule) -> None:
    assert rule.source == f"rules/{rule.name}.toml"
    assert rule.series.subject_prefix == "PATCH bpf-next"
    assert rule.series.commit_prefix == "bpf:"
    # A rule that only rewrites what the tree has (set entries) adds no macro.
    if rule.definition is None:
        assert definition_message(rule) is None and rule.style is None
        return
    assert rule.definition.header.startswith("include/linux/")
    assert rule.definition.macro in rule.definition.text
    subject, body = definition_message(rule)
    assert subject.startswith("bpf: ") and len(subject) <= 75
    assert all(len(line) <= 72 for line in body.splitlines())


def test_tag_rule_definition_has_a_plain_comment() -> None:
    # Upstream's: kernel-doc would render `/** __bpf_kfunc - ...` as a function.
    text = load_rule("bpf_kfunc_tag").definition.text
    assert text.startswith("/*\n * ") and "/**" not in text
    assert text.rstrip().endswith("#define __bpf_kfunc __used noinline")


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    rule = load_rule(str(path))
    assert (rule.name, rule.source, rule.style.prefix) == ("mine", str(path), "__my_tag")
    assert rule.style.already == frozenset({"__my_tag"})
    assert rule.definition is None and rule.series.definition_subject is None


def test_user_rule_runs(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    tree = small_tree(tmp_path / "tree", {
        "kernel/a.c": kfunc_source("\nnoinline void f(void)\n{\n}\n", ["f"])})
    result = plan(discover(tree), load_rule(str(path)))
    assert b"__my_tag noinline void f(void)" in result.files["kernel/a.c"].new


def test_unknown_rule_names_the_known_ones() -> None:
    with pytest.raises(RuleError, match="no rule named 'nope'.*bpf_kfunc_tag"):
        load_rule("nope")


def test_missing_rule_file(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="missing.toml: cannot read rule file"):
        load_rule(str(tmp_path / "missing.toml"))


def _broken(replace: str, by: str) -> bytes:
    assert replace in MINIMAL
    return MINIMAL.replace(replace, by).encode()


@pytest.mark.parametrize(("data", "message"), [
    (b"name = ", "own.toml: not valid TOML"),
    (b"\xff\xfe", "own.toml: not UTF-8"),
    (_broken('name = "mine"', 'name = "Mine!"'), "own.toml: name: 'Mine!' is not a rule name"),
    (_broken('name = "mine"\n', ""), "own.toml: name: missing"),
    (_broken('description = "A rule of my own"', "description = 3"),
     "own.toml: description: must be a string, not int"),
    (_broken('description = "A rule', 'colour = "red"\ndescription = "A rule'),
     "own.toml: colour: unknown key"),
    (_broken('type = "insert_prefix"', 'type = "run_shell"'),
     "own.toml: actions\\[0\\].type: unknown action 'run_shell'"),
    (_broken('text = "__my_tag"', 'text = "__my_tag"\nwords = ["x"]'),
     "own.toml: actions\\[0\\].words: unknown key"),
    (_broken('text = "__my_tag"', 'text = "rm -rf /"'),
     "own.toml: actions\\[0\\].text: 'rm -rf /' is not a C identifier"),
    (_broken('type = "insert_prefix"\ntext = "__my_tag"',
             'type = "drop_specifiers"\nwords = ["x"]'),
     "own.toml: actions: definition actions need exactly one insert_prefix or wrap_prototype"),
    (_broken('[series]', '[[actions]]\ntype = "wrap_prototype"\nmacro = "M"\n\n[series]'),
     "own.toml: actions: definition actions need exactly one"),
    (_broken('[series]', '[[actions]]\ntype = "add_include"\nheader = "../../etc/passwd"\n\n'
                         '[series]'),
     "own.toml: actions\\[1\\].header: '../../etc/passwd' is not a header name"),
    (_broken('[series]', '[[actions]]\ntype = "diag_block"\nwarnings = ["-Wx"]\n'
                         'start = "a();"\n\n[series]'),
     "own.toml: actions\\[1\\].end: give both start and end"),
    (_broken('[series]', '[definition]\nmacro = "M"\nheader = "/etc/passwd.h"\ntext = "x"\n\n'
                         '[series]'),
     "own.toml: definition.header: '/etc/passwd.h' is not a relative path"),
    (_broken('[series]', '[definition]\nmacro = "M"\nheader = "include/../../x.h"\n'
                         'text = "x"\n\n[series]'),
     "own.toml: definition.header: 'include/../../x.h' is not a relative path"),
    (_broken('[series]', '[definition]\nmacro = "M"\nheader = "include/x.h"\ntext = "x"\n'
                         'after = "("\n\n[series]'),
     "own.toml: definition.after: not a regular expression"),
    (_broken('[series]', '[definition]\nmacro = "M"\nheader = "include/x.h"\ntext = "x"\n\n'
                         '[series]'),
     "own.toml: series.definition_subject: missing"),
    (_broken("Tag {kfuncs}.", "Tag {kfunc}."),
     "own.toml: series.commit_body: unknown placeholder {kfunc}"),
    (_broken("Tag {kfuncs}.", "Tag {kfuncs!r}."),
     "own.toml: series.commit_body: placeholder {kfuncs} takes no conversion"),
    (_broken("Tag {kfuncs}.", "Tag {kfuncs.__class__}."),
     "own.toml: series.commit_body: unknown placeholder {kfuncs.__class__}"),
    (_broken('cover_subject = "Tag kfuncs"', 'cover_subject = "Tag\\nkfuncs"'),
     "own.toml: series.cover_subject: must be one non-empty line"),
    (_broken('description = "A rule of my own"', 'description = "A rule"\nline_limit = 7'),
     "own.toml: line_limit: must be between 40 and 200"),
    (_broken('[[actions]]\ntype = "insert_prefix"\ntext = "__my_tag"\n', "actions = []\n"),
     "own.toml: actions: must hold at least one entry"),
])
def test_broken_rule_names_file_and_key(data: bytes, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rule(data, "own.toml")


def test_placeholder_check_allows_escaped_braces() -> None:
    rule = parse_rule(_broken("Tag {kfuncs}.", "Tag {kfuncs} in do {{ }} while (0)."),
                      "own.toml")
    assert "{{ }}" in rule.series.commit_body


def _change(path: str, kfuncs: list[str]) -> FileChange:
    return FileChange(path, b"", b"x", kfuncs, [])


def test_commit_message_names_the_kfuncs() -> None:
    rule = load_rule("bpf_kfunc_tag")
    subject, body = commit_message(rule, [_change("net/netfilter/nf_nat_bpf.c",
                                                  ["bpf_ct_set_nat_info"])])
    assert subject == "bpf: Tag kfuncs in nf_nat_bpf.c with __bpf_kfunc"
    assert "bpf_ct_set_nat_info()" in body


def test_commit_message_prefix_and_many_names() -> None:
    rule = load_rule("bpf_kfunc_tag")
    names = [f"bpf_kfunc_call_test_number_{i}" for i in range(12)]
    subject, body = commit_message(rule, [_change("net/ipv4/tcp_bbr.c", names[:6]),
                                          _change("net/ipv4/tcp_cubic.c", names[6:])],
                                   prefix="net: tcp:")
    assert subject == "net: tcp: Tag kfuncs in net/ipv4/ with __bpf_kfunc"
    # Twelve names would fill a paragraph the cover letter already lists: counted.
    assert body.startswith("Tag 12 kfuncs in 2 files with __bpf_kfunc")
    assert "bpf_kfunc_call_test_number" not in body
    assert all(len(line) <= 72 for line in body.splitlines())
    _, few = commit_message(rule, [_change("net/ipv4/tcp_bbr.c", names[:2])])
    assert " ".join(few.split()).startswith("Tag bpf_kfunc_call_test_number_0() and "
                                            "bpf_kfunc_call_test_number_1() with")


def test_cover_letter_counts(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "tree", {
        "kernel/a.c": kfunc_source("\nvoid f(void)\n{\n}\n\nvoid g(void)\n{\n}\n", ["f", "g"])})
    result = plan(discover(tree), load_rule("bpf_kfunc_tag"))
    subject, body = cover_letter(result.rule, result, patches=2)
    assert subject == "Tag all kfuncs with __bpf_kfunc"
    assert "puts it on the definitions of 2 kfuncs in 1 file." in " ".join(body.split())


def test_reflow_keeps_lists_and_indented_lines() -> None:
    text = "one two\nthree\n\n  indented stays\n\n- item one\n- item two\n"
    assert reflow(text) == "one two three\n\n  indented stays\n\n- item one\n- item two\n"
