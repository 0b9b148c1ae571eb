"""Discovery's facts about definitions, and the shapes Linux 7.x added.

Facts (header words, wrapper macro, words of earlier declarations) do not
depend on a convention; `tagged` and the `list` status interpret them with the
tag words and wrappers discover() is given.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.model import DTOR, RISK_GLOBAL_NO_USED
from kfuncfix.report import records
from kfuncfix.source.prototype import parse_prototype_text
from kfuncfix.source.scan import scan
from tests.conftest import write_tree

KFUNCS_C = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/btf.h>

__bpf_kfunc int declared_tagged(int a);
int declared_plain(int a);

BTF_KFUNCS_START(case_ids)
BTF_ID_FLAGS(func, declared_tagged, KF_IMPLICIT_ARGS)
BTF_ID_FLAGS(func, declared_plain)
BTF_ID_FLAGS(func, header_tagged)
BTF_ID_FLAGS(func, wrapped);
BTF_ID_FLAGS(func, my_marked)
BTF_KFUNCS_END(case_ids)

int declared_tagged(int a)
{
	return a;
}

int declared_plain(int a)
{
	return a;
}

__printf(1, 0)
__bpf_kfunc void header_tagged(const char *fmt)
{
	pr(fmt);
}

BPF_KFUNC(int wrapped(void))
{
	return 0;
}

__my_mark static int my_marked(void)
{
	return 0;
}

BTF_ID_LIST_SINGLE(case_dtor_ids, func, case_dtor)
BTF_ID_LIST_GLOBAL_SINGLE(case_type_ids, struct, sk_buff)

__bpf_kfunc void case_dtor(void *p)
{
	free(p);
}

static const struct btf_kfunc_id_set case_set = {
	.owner = THIS_MODULE,
	.set   = &case_ids,
};

static int __init case_init(void)
{
	const struct btf_id_dtor_kfunc dtors[] = {
		{
			.btf_id       = case_type_ids[0],
			.kfunc_btf_id = case_dtor_ids[0]
		},
	};
	int ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC, &case_set);

	return ret ?: register_btf_id_dtor_kfuncs(dtors, ARRAY_SIZE(dtors), THIS_MODULE);
}
"""


def make_tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "linux", {"Kconfig": "", "kernel/bpf/k.c": KFUNCS_C})


def definitions(root: Path, **conventions: frozenset[str]) -> dict:
    index = discover(root, **conventions)
    return {k.name: k.definitions[0] for k in index.kfuncs}


def test_facts_are_read_from_the_source(tmp_path: Path) -> None:
    defs = definitions(make_tree(tmp_path))
    assert defs["header_tagged"].words >= {"__printf", "(1, 0)", "__bpf_kfunc", "void"}
    assert defs["wrapped"].wrapper == "BPF_KFUNC" and defs["wrapped"].tagged
    assert defs["header_tagged"].wrapper is None
    assert defs["declared_tagged"].declared_words == {"__bpf_kfunc"}
    assert defs["declared_plain"].declared_words == frozenset()
    assert "static" in defs["my_marked"].words


def test_tagged_comes_from_the_conventions_given(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    default = definitions(root)
    assert [n for n, d in default.items() if d.tagged] == ["header_tagged", "wrapped",
                                                           "case_dtor"]
    mine = definitions(root, tags=frozenset({"__my_mark"}), wrappers=frozenset())
    assert [n for n, d in mine.items() if d.tagged] == ["my_marked"]
    # Facts do not change with the convention.
    assert mine["declared_tagged"].declared_words == default["declared_tagged"].declared_words


def test_tagged_at_declaration_is_its_own_status_and_not_at_risk(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    recs = {r.name: r for r in records(discover(root))}
    assert recs["declared_tagged"].status == "tagged-at-declaration"
    assert recs["declared_tagged"].risks == []
    assert recs["declared_plain"].status == "untagged"
    assert recs["declared_plain"].risks == [RISK_GLOBAL_NO_USED]
    result = CliRunner().invoke(main, ["list", str(root)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "declared_tagged" in line)
    assert "tagged-at-declaration" in row
    assert "1 tagged at declaration" in result.output
    # `check`: at risk (an error) only where the tag is nowhere; a convention
    # finding where the definition lacks the tag its declaration has.
    check = CliRunner().invoke(main, ["check", str(root)]).output.splitlines()
    assert [line for line in check if "declared_plain" in line and "ERROR" in line]
    assert not [line for line in check if "declared_tagged" in line and "ERROR" in line]


def test_btf_id_list_single_destructor(tmp_path: Path) -> None:
    index = discover(make_tree(tmp_path))
    dtors = [k for k in index.kfuncs if k.kind == DTOR]
    assert [(k.name, k.set.name) for k in dtors] == [("case_dtor", "case_dtor_ids")]
    assert not any("dtor" in w for w in index.warnings)
    out = CliRunner().invoke(main, ["list", "--format", "json", str(make_tree(tmp_path / "b"))])
    assert {r["name"]: r["kind"] for r in json.loads(out.output)}["case_dtor"] == "dtor"


def test_scan_records_the_bracket_structure() -> None:
    text = b"BTF_ID_LIST(x)\nBTF_ID(func, f)\nint g(void)\n{\n\tcall(a, (b));\n}\nint y = {1};\n"
    src = scan("f.c", text)
    paren = text.index(b"(func")
    assert text[paren:src.closer[paren]] == b"(func, f)"
    body = text.index(b"{")
    assert src.closer[body] == text.index(b"}") + 1
    assert text.index(b"(a,") not in src.closer  # inside a body: nobody asks
    assert src.in_block(text.index(b"call")) and not src.in_block(text.index(b"int g"))
    start = src.statement_start(text.index(b"y ="))
    assert text[start:].lstrip().startswith(b"int y")


def test_a_name_that_looks_like_an_annotation_is_still_the_name() -> None:
    # 7.x: `__bpf_kfunc void __bpf_trap(void)`, `__scx_bpf_select_cpu_and(...)`.
    proto = parse_prototype_text("__bpf_trap", "__bpf_kfunc void __bpf_trap(void)")
    assert str(proto) == "void __bpf_trap(void)"


SET_ONLY_C = """\
BTF_KFUNCS_START(remote_ids)
BTF_ID_FLAGS(func, tagged_elsewhere)
BTF_ID_FLAGS(func, weak_elsewhere)
BTF_ID_FLAGS(func, untagged_elsewhere)
BTF_KFUNCS_END(remote_ids)

static const struct btf_kfunc_id_set remote_set = {
	.set   = &remote_ids,
};

static int __init remote_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC, &remote_set);
}
"""


def test_definitions_in_other_files(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "linux", {
        "Kconfig": "",
        "kernel/bpf/sets.c": SET_ONLY_C,
        # Read with the sets (it has the tag): its global definition is taken.
        "kernel/bpf/tagged.c": "__bpf_kfunc int tagged_elsewhere(void) { return 0; }\n"
                               "__bpf_kfunc __weak int weak_elsewhere(void) { return 0; }\n",
        # A __weak one may be overridden: the tree is searched, and finds this.
        "arch/x86/kernel/strong.c": "int weak_elsewhere(void) { return 1; }\n",
        "net/core/plain.c": "int untagged_elsewhere(void) { return 0; }\n"
                            "static int tagged_elsewhere(void) { return 1; }\n",
    })
    index = discover(root)
    found = {k.name: sorted(d.file for d in k.definitions) for k in index.kfuncs}
    assert found == {
        "tagged_elsewhere": ["kernel/bpf/tagged.c"],
        "weak_elsewhere": ["arch/x86/kernel/strong.c", "kernel/bpf/tagged.c"],
        "untagged_elsewhere": ["net/core/plain.c"],
    }
