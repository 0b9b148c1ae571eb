"""The documentation patch as upstream wrote it, on Linux 6.1's real documents.

What a reviewer of the definition patch checks: the examples of
Documentation/bpf/kfuncs.rst follow the rule (tagged by the engine that tags
the code), the rule's text sits in the section about annotating kfuncs with
an example the tree really has, Sphinx is taught the attribute in
Documentation/conf.py, the rst keeps its section structure (docutils), and
kernel-doc finds nothing new in the header the definition goes into.
"""

from __future__ import annotations

import ast
import difflib
import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree

from kfuncfix.discover import discover
from kfuncfix.engine import FileChange, Plan, Rule, load_rule, parse_rule, plan
from kfuncfix.engine.docpatch import (
    CONF_PY,
    ExampleKfunc,
    documentation_changes,
    example_kfunc,
)
from kfuncfix.engine.edits import apply_edits
from kfuncfix.engine.plan import DEFINITION
from kfuncfix.model import TreeIndex
from kfuncfix.sample import copy_sample_tree
from tests.conftest import builtin_rule_text


def definition_change(index: TreeIndex, rule: Rule) -> FileChange | None:
    """The plan's change adding the rule's macro to its header."""
    return next((c for c in plan(index, rule).definition if c.role == DEFINITION), None)

DOC = "Documentation/bpf/kfuncs.rst"
Reader = Callable[[str], "bytes | None"]


def git_reader(repo: Path, rev: str = "HEAD") -> Reader:
    def read(path: str) -> bytes | None:
        done = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"],
                              capture_output=True)
        return done.stdout if done.returncode == 0 else None
    return read


def files_reader(files: dict[str, bytes]) -> Reader:
    return files.get


def by_path(changes: list[FileChange]) -> dict[str, FileChange]:
    return {c.path: c for c in changes}


def doctree(text: bytes) -> nodes.document:
    quiet = {"warning_stream": io.StringIO(), "report_level": 5, "halt_level": 5}
    return publish_doctree(text.decode(), settings_overrides=quiet)


def outline(doc: nodes.document) -> list[tuple[int, str]]:
    """Every section title with its depth: the document's structure."""
    out = []
    for section in doc.findall(nodes.section):
        depth = sum(1 for p in _parents(section) if isinstance(p, nodes.section))
        out.append((depth, section[0].astext()))
    return out


def _parents(node: nodes.Node) -> list[nodes.Node]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found


def section_of(doc: nodes.document, text: str) -> str:
    """The title of the innermost section holding the paragraph that starts with text."""
    para = next(p for p in doc.findall(nodes.paragraph) if p.astext().startswith(text))
    section = next(p for p in _parents(para) if isinstance(p, nodes.section))
    return section[0].astext()


def literal_blocks(doc: nodes.document) -> list[str]:
    return [b.astext() for b in doc.findall(nodes.literal_block)]


def c_id_attributes(conf: bytes) -> list[str]:
    """The list conf.py gives Sphinx, read as Python reads it."""
    for node in ast.walk(ast.parse(conf)):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "c_id_attributes" for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return value
    raise AssertionError("no c_id_attributes in conf.py")


def assert_edits_make_new(change: FileChange) -> None:
    """Bytes in, bytes out: the new file is the old one with the planned spans replaced."""
    assert apply_edits(change.old, change.edits, change.path) == change.new


# -- Linux 6.1 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def index61(linux61: Path) -> TreeIndex:
    return discover(linux61, rev="HEAD")


@pytest.fixture(scope="module")
def plan61(index61: TreeIndex) -> Plan:
    return plan(index61, load_rule("bpf_kfunc_tag"))


@pytest.mark.realtree
def test_example_is_a_kfunc_the_tree_has(plan61: Plan) -> None:
    example = example_kfunc(plan61.files.values())
    assert example is not None
    assert example.name in plan61.kfuncs
    assert example.name != "bpf_task_acquire"  # 6.1 has none
    assert len(example.header) <= 72 and example.header.endswith(")")


@pytest.mark.realtree
def test_linux61_tag_rule_documents_as_upstream(linux61: Path, plan61: Plan) -> None:
    rule = load_rule("bpf_kfunc_tag")
    example = example_kfunc(plan61.files.values())
    changes = by_path(documentation_changes(git_reader(linux61), rule, example))
    assert sorted(changes) == [DOC, CONF_PY]
    doc = changes[DOC]
    assert_edits_make_new(doc)
    # The existing examples, tagged like the code, the diag-wrapped one included.
    text = doc.new.decode()
    assert "        __bpf_kfunc struct task_struct *bpf_find_get_task_by_vpid(pid_t nr)\n" in text
    assert "        __bpf_kfunc void bpf_memzero(void *mem, int mem__sz)\n" in text
    assert "__diag_push();" in text  # the tag rule leaves the pair alone, as upstream did
    assert "static int init_subsystem(void)" in text  # an initcall, not a kfunc
    assert doc.kfuncs == ["bpf_find_get_task_by_vpid", "bpf_memzero"]

    before, after = doctree(doc.old), doctree(doc.new)
    assert outline(after) == outline(before)
    # The rule's text where upstream put it: annotating kfuncs, before the flags.
    assert section_of(after, "kfunc definitions should always be tagged") == \
        "2.4 Annotating kfuncs"
    assert text.index("``__bpf_kfunc`` macro") < text.index("2.4.1 KF_ACQUIRE flag")
    assert example is not None
    shown = f"__bpf_kfunc {example.header}\n{{\n...\n}}"
    assert shown in literal_blocks(after)
    assert len(literal_blocks(after)) == len(literal_blocks(before)) + 1
    assert not doc.new.endswith(b"\n\n")  # nothing appended after the last section

    conf = changes[CONF_PY]
    assert_edits_make_new(conf)
    assert c_id_attributes(conf.new) == [*c_id_attributes(conf.old), "__bpf_kfunc"]
    assert b'            # include/linux/btf.h:\n            "__bpf_kfunc",\n        ]' in conf.new


@pytest.mark.realtree
def test_linux61_macro_rule_rewrites_examples_with_the_wrapper(linux61: Path,
                                                               plan61: Plan) -> None:
    rule = load_rule("bpf_kfunc_macro")
    changes = by_path(documentation_changes(git_reader(linux61), rule,
                                            example_kfunc(plan61.files.values())))
    # BPF_KFUNC() wraps a prototype: it is no attribute for Sphinx's list.
    assert sorted(changes) == [DOC]
    doc = changes[DOC]
    assert_edits_make_new(doc)
    blocks = literal_blocks(doctree(doc.new))
    wrapper = next(b for b in blocks if "bpf_find_get_task_by_vpid" in b)
    # The declaration makes the pair (and the comment saying what it is for) useless.
    assert wrapper == ("BPF_KFUNC(struct task_struct *bpf_find_get_task_by_vpid(pid_t nr))\n"
                       "{\n        return find_get_task_by_vpid(nr);\n}")
    assert "BPF_KFUNC(void bpf_memzero(void *mem, int mem__sz))\n{\n...\n}" in blocks
    assert outline(doctree(doc.new)) == outline(doctree(doc.old))


@pytest.mark.realtree
@pytest.mark.parametrize("rule_name", ["bpf_kfunc_tag", "bpf_kfunc_macro"])
def test_kernel_doc_finds_nothing_new_in_btf_h(linux61: Path, index61: TreeIndex,
                                               tmp_path: Path, rule_name: str) -> None:
    change = definition_change(index61, load_rule(rule_name))
    assert change is not None
    reports = []
    for name, data in (("old", change.old), ("new", change.new)):
        header = tmp_path / name / "btf.h"
        header.parent.mkdir()
        header.write_bytes(data)
        done = subprocess.run(["perl", str(linux61 / "scripts/kernel-doc"), "-none",
                               str(header)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        reports.append(done.stderr.replace(str(header), "btf.h"))
    assert reports[1] == reports[0]


@pytest.mark.realtree
def test_tag_comment_adds_no_kernel_doc_entry(linux61: Path, index61: TreeIndex,
                                              tmp_path: Path) -> None:
    """kernel-doc would render a `/** __bpf_kfunc - ...` comment as a function
    `__bpf_kfunc ()`; upstream's plain comment is no documentation entry."""
    change = definition_change(index61, load_rule("bpf_kfunc_tag"))
    assert change is not None
    rendered = []
    for data in (change.old, change.new):
        header = tmp_path / "btf.h"
        header.write_bytes(data)
        done = subprocess.run(["perl", str(linux61 / "scripts/kernel-doc"), "-rst",
                               str(header)], capture_output=True, text=True)
        rendered.append(done.stdout)
    assert rendered[1] == rendered[0]


@pytest.mark.realtree
@pytest.mark.parametrize("rule_name", ["bpf_kfunc_tag", "bpf_kfunc_macro"])
def test_checkpatch_takes_the_documentation_changes(linux61: Path, plan61: Plan,
                                                    tmp_path: Path, rule_name: str) -> None:
    changes = documentation_changes(git_reader(linux61), load_rule(rule_name),
                                    example_kfunc(plan61.files.values()))
    diff = "".join("".join(difflib.unified_diff(
        c.old.decode().splitlines(keepends=True), c.new.decode().splitlines(keepends=True),
        f"a/{c.path}", f"b/{c.path}")) for c in changes)
    patch = tmp_path / "doc.patch"
    patch.write_text(diff)
    done = subprocess.run(["perl", str(linux61 / "scripts/checkpatch.pl"), "--no-tree",
                           "--no-signoff", "--ignore", "COMMIT_MESSAGE", str(patch)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "0 errors, 0 warnings" in done.stdout


def test_tag_rule_comment_is_plain_not_kernel_doc() -> None:
    definition = load_rule("bpf_kfunc_tag").definition
    assert definition is not None
    assert definition.text.startswith("/*\n") and "/**" not in definition.text


# -- the sample tree, and documents of other shapes --------------------------------------------

@pytest.fixture
def sample_files(tmp_path: Path) -> dict[str, bytes]:
    tree = copy_sample_tree(tmp_path / "tree")
    return {DOC: (tree / DOC).read_bytes()}


EXAMPLE = ExampleKfunc("bpf_thing_get", "kernel/bpf/thing.c",
                       "noinline u32 bpf_thing_get(struct thing *t)")


def test_sample_doc_gets_the_text_in_its_definition_section(sample_files: dict[str, bytes]
                                                            ) -> None:
    rule = load_rule("bpf_kfunc_tag")
    changes = documentation_changes(files_reader(sample_files), rule, EXAMPLE)
    assert [c.path for c in changes] == [DOC]  # the sample has no conf.py
    doc = changes[0]
    assert_edits_make_new(doc)
    after = doctree(doc.new)
    assert outline(after) == outline(doctree(doc.old))
    # No "Annotating kfuncs" here: the section of the document's own example.
    assert section_of(after, "kfunc definitions should always be tagged") == "2.1 The definition"
    blocks = literal_blocks(after)
    # The tag replaces `__used noinline` in the example, as in the code; tabs stay tabs.
    assert any("__bpf_kfunc u32 bpf_example_get(const struct example *ex)\n" in b
               for b in blocks)
    assert "\t__bpf_kfunc u32 bpf_thing_get(struct thing *t)\n\t{\n\t...\n\t}\n" in \
        doc.new.decode()


def test_done_documents_are_left_alone(sample_files: dict[str, bytes]) -> None:
    rule = load_rule("bpf_kfunc_tag")
    first = documentation_changes(files_reader(sample_files), rule, EXAMPLE)
    again = documentation_changes(files_reader({DOC: first[0].new}), rule, EXAMPLE)
    assert again == []


CONF = b"""if major >= 3:
    if minor > 1:
        # Those needed to be scaped by using c_id_attributes[] array
        c_id_attributes = [
            # include/linux/linkage.h:
            "asmlinkage",
        ]
else:
    extensions.append('cdomain')
"""
SMALL_DOC = b"""=====
kfunc
=====

Defining
========

Write it::

        int bpf_x(int a)
        {
                return a;
        }

.. _next_label:

Registering
===========

Register it.
"""


def rule_change(files: dict[str, bytes], rule: Rule | None = None,
                example: ExampleKfunc | None = EXAMPLE) -> dict[str, FileChange]:
    rule = rule or load_rule("bpf_kfunc_tag")
    return by_path(documentation_changes(files_reader(files), rule, example))


def test_conf_without_the_list_is_left_alone() -> None:
    changes = rule_change({DOC: SMALL_DOC, CONF_PY: b"extensions = []\n"})
    assert sorted(changes) == [DOC]


def test_conf_with_the_attribute_already_is_left_alone() -> None:
    conf = CONF.replace(b'"asmlinkage",', b'"asmlinkage",\n            "__bpf_kfunc",')
    assert CONF_PY not in rule_change({DOC: SMALL_DOC, CONF_PY: conf})


def test_text_goes_before_the_next_sections_label() -> None:
    doc = rule_change({DOC: SMALL_DOC, CONF_PY: CONF})[DOC]
    text = doc.new.decode()
    # The label belongs to "Registering": the note must not come between them.
    assert ".. _next_label:\n\nRegistering" in text
    assert text.index("``__bpf_kfunc`` macro") < text.index(".. _next_label:")
    assert "        __bpf_kfunc int bpf_x(int a)\n" in text


def test_crlf_document_stays_crlf() -> None:
    doc = rule_change({DOC: SMALL_DOC.replace(b"\n", b"\r\n")})[DOC]
    assert b"\n" not in doc.new.replace(b"\r\n", b"")
    assert_edits_make_new(doc)


def test_without_an_example_the_text_stands_alone() -> None:
    doc = rule_change({DOC: SMALL_DOC}, example=None)[DOC]
    assert b"An example is given below" not in doc.new
    assert outline(doctree(doc.new)) == outline(doctree(SMALL_DOC))


def test_rules_without_documentation_give_nothing() -> None:
    assert rule_change({DOC: SMALL_DOC}, load_rule("btf_kfuncs_set")) == {}


DIAG_DOC = b"""=====
kfunc
=====

Defining
========

Write them::

        /* Disables missing prototype warnings */
        __diag_push();
        __diag_ignore_all("-Wmissing-prototypes",
                          "Global kfuncs as their definitions will be in BTF");

        int bpf_x(int a)
        {
                return a;
        }

        __diag_pop();

Registering
===========

Register it.
"""
WRITE_THEM = "Write them::\n\n"


def test_wrapping_rule_drops_the_examples_diag_pair_with_its_comment() -> None:
    """The diag_block action treats the example's pair as the code's: the wrapper
    declares the function, so the pair goes, its comment and trailing blank too."""
    doc = rule_change({DOC: DIAG_DOC}, load_rule("bpf_kfunc_macro"), None)[DOC]
    assert_edits_make_new(doc)
    text = doc.new.decode()
    assert WRITE_THEM + ("        BPF_KFUNC(int bpf_x(int a))\n        {\n"
                         "                return a;\n        }\n\nkfuncs should") in text
    assert "__diag" not in text.replace("``__diag_push()``", "")


def test_a_rule_naming_the_pair_renames_it_in_the_example() -> None:
    text = builtin_rule_text("bpf_kfunc_macro").replace(
        "# No start/end texts: the pair is removed.",
        'start = "__bpf_kfunc_start_defs();"\nend = "__bpf_kfunc_end_defs();"')
    doc = rule_change({DOC: DIAG_DOC}, parse_rule(text.encode(), "own.toml"), None)[DOC]
    assert_edits_make_new(doc)
    assert WRITE_THEM + ("        /* Disables missing prototype warnings */\n"
                         "        __bpf_kfunc_start_defs();\n\n"
                         "        BPF_KFUNC(int bpf_x(int a))\n") in doc.new.decode()
    assert "        }\n\n        __bpf_kfunc_end_defs();\n\nkfuncs" in doc.new.decode()
