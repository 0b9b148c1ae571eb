"""The bundled sample tree: packaging, copying, and the look of a kernel tree."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kfuncfix.sample import copy_sample_tree, sample_tree

EXPECTED_FILES = [
    "Makefile",
    "MAINTAINERS",
    "Documentation/bpf/kfuncs.rst",
    "include/linux/btf.h",
    "include/linux/btf_ids.h",
    "include/linux/compiler.h",
    "include/net/netfilter/nf_flowmark.h",
    "kernel/bpf/helpers.c",
    "kernel/bpf/taskref.c",
    "kernel/softlockup_dump.c",
    "net/ipv4/tcp_softcc.c",
    "net/netfilter/nf_flowmark_bpf.c",
    "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c",
]


def package_files() -> dict[str, bytes]:
    """Every file of the tree as package data: relative path -> bytes."""
    out: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            else:
                out[rel] = child.read_bytes()

    walk(sample_tree(), "")
    return out


def tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample_tree(tmp_path_factory.mktemp("sample") / "linux")


def test_copy_is_byte_identical(tree: Path) -> None:
    assert tree_files(tree) == package_files()


def test_copy_is_writable_and_overwrites(tmp_path: Path) -> None:
    dest = copy_sample_tree(tmp_path / "t")
    target = dest / "kernel/bpf/helpers.c"
    original = target.read_bytes()
    target.write_bytes(b"changed\n")
    (dest / "extra.txt").write_text("kept\n")
    assert copy_sample_tree(dest) == dest
    assert target.read_bytes() == original
    assert (dest / "extra.txt").read_text() == "kept\n"


@pytest.mark.parametrize("rel", EXPECTED_FILES)
def test_expected_file_present(tree: Path, rel: str) -> None:
    assert (tree / rel).is_file()


def test_makefile_looks_like_a_kernel_root(tree: Path) -> None:
    head = (tree / "Makefile").read_text().splitlines()[:4]
    assert head[1:4] == ["VERSION = 6", "PATCHLEVEL = 1", "SUBLEVEL = 0"]


def test_no_bpf_kfunc_anywhere(tree: Path) -> None:
    # The tree is "before the tagging": the tool's series adds the macro.
    for rel, data in tree_files(tree).items():
        assert b"__bpf_kfunc" not in data, rel


# A line that may open a definition: at column 0, not a macro call, a name then "(".
DEF_LINE_RE = re.compile(r"(?![A-Z_0-9]+\()[a-z].*\w\(")


def c_sources(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if p.suffix in (".c", ".h"))


def test_c_sources_have_spdx_first(tree: Path) -> None:
    sources = c_sources(tree)
    assert len(sources) >= 10
    for path in sources:
        first = path.read_text().splitlines()[0]
        style = "// " if path.suffix == ".c" else "/* "
        assert first.startswith(style + "SPDX-License-Identifier: "), path


def test_c_sources_are_kernel_style(tree: Path) -> None:
    widest = 0
    for path in c_sources(tree):
        text = path.read_text()
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        for n, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(tree)}:{n}"
            assert line == line.rstrip(), f"trailing whitespace at {where}"
            assert not line.startswith(" " * 8), f"spaces for indentation at {where}"
            width = len(line.expandtabs(8))
            assert width <= 100, f"{where} is {width} columns"
            if path.suffix == ".c" and DEF_LINE_RE.match(line) and not line.endswith(";"):
                widest = max(widest, width)
    # Some definition's first line cannot take a 12-character prefix within 100 columns.
    assert widest + len("__bpf_kfunc ") > 100


# MAINTAINERS ------------------------------------------------------------------

ENTRY_RE = re.compile(r"([A-Z]):\t(.*)")


@dataclass
class Section:
    name: str
    entries: dict[str, list[str]] = field(default_factory=dict)

    def get(self, key: str) -> list[str]:
        return self.entries.get(key, [])


def parse_maintainers(text: str) -> list[Section]:
    """Sections after the "Maintainers List" heading: a name line, then `X:\\t` lines."""
    _, found, body = text.partition("\nMaintainers List\n----------------\n")
    assert found, "no Maintainers List heading"
    sections: list[Section] = []
    for block in re.split(r"\n\s*\n", body.strip("\n")):
        name, *lines = block.splitlines()
        section = Section(name)
        for line in lines:
            m = ENTRY_RE.fullmatch(line)
            assert m, f"bad line {line!r} in {name}"
            section.entries.setdefault(m.group(1), []).append(m.group(2))
        sections.append(section)
    return sections


def pattern_re(pattern: str) -> re.Pattern[str]:
    """An F:/X: pattern: `*` and `?` stay within one path component, `dir/` covers below."""
    out = ""
    for ch in pattern:
        out += {"*": "[^/]*", "?": "[^/]"}.get(ch, re.escape(ch))
    return re.compile(out + (".*" if pattern.endswith("/") else ""))


def covers(section: Section, rel: str) -> bool:
    if any(pattern_re(p).fullmatch(rel) for p in section.get("X")):
        return False
    return any(pattern_re(p).fullmatch(rel) for p in section.get("F"))


@pytest.fixture(scope="module")
def sections(tree: Path) -> list[Section]:
    return parse_maintainers((tree / "MAINTAINERS").read_text())


def test_maintainers_sections(sections: list[Section]) -> None:
    assert len(sections) >= 4
    names = [s.name for s in sections]
    assert names[-1] == "THE REST"
    assert names[:-1] == sorted(names[:-1])
    for section in sections:
        assert section.get("M"), section.name
        assert section.get("S") and section.get("F"), section.name
        for person in section.get("M") + section.get("R"):
            assert re.fullmatch(r"[\w .-]+ <[\w.-]+@example\.org>", person), person
        for mailing_list in section.get("L"):
            assert mailing_list.endswith("@lists.example.org"), mailing_list


def test_maintainers_patterns_match_existing_paths(tree: Path, sections: list[Section]) -> None:
    files = list(tree_files(tree))
    for section in sections:
        for key in ("F", "X"):
            for pattern in section.get(key):
                rx = pattern_re(pattern)
                assert any(rx.fullmatch(rel) for rel in files), f"{section.name} {key}: {pattern}"


def test_kfunc_files_spread_over_sections(tree: Path, sections: list[Section]) -> None:
    """Files with kfunc sets or definitions belong to several subsystems."""
    specific = [s for s in sections if s.name != "THE REST"]
    owners: set[tuple[str, ...]] = set()
    for path in c_sources(tree):
        rel = path.relative_to(tree).as_posix()
        names = tuple(s.name for s in specific if covers(s, rel))
        assert names, f"{rel} is only covered by THE REST"
        if path.suffix == ".c":
            owners.add(names)
    assert len(owners) >= 4
    # X: takes taskref.c out of BPF [CORE].
    core = next(s for s in sections if s.name == "BPF [CORE]")
    assert covers(core, "kernel/bpf/helpers.c")
    assert not covers(core, "kernel/bpf/taskref.c")
