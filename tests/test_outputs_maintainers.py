"""Recipients and sections from MAINTAINERS, and subject prefixes from history."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kfuncfix.outputs.maintainers import (
    Maintainers,
    Recipients,
    patch_paths_and_keyword_lines,
    recipients_for_patch,
    recipients_for_paths,
    subject_prefix,
)
from tests.conftest import git_init, write_tree

MAINTAINERS = """\
List of maintainers
===================

Descriptions of section entries (an indented example is not a section):

\tM: *Mail* patches to: FullName <address@domain>
\tF: *Files* and directories wildcard patterns.

Maintainers List
----------------

BPF [GENERAL]
M:\tAlexei Starovoitov <ast@example.org>
R:\tRita Reviewer <rita@example.org>
L:\tbpf@vger.example.org
S:\tSupported
F:\tkernel/bpf/
F:\tinclude/linux/bpf*
X:\tkernel/bpf/preload/
N:\tbpf
K:\t\\b__bpf_kfunc\\b

BPF [HELPERS]
M:\tHella Helper <hella@example.org>
L:\tsubs@lists.example.org (subscribers-only)
L:\tmod@lists.example.org (moderated for non-subscribers)
S:\tMaintained
F:\tkernel/bpf/helpers.c

NETFILTER
M:\tPablo Net <pablo@example.org>
R:\tAlexei Starovoitov <ast@example.org>
L:\tnetfilter-devel@vger.example.org
F:\tnet/netfilter/*

NETWORKING [GENERAL]
M:\tDave Net <davem@example.org>
L:\tnetdev@vger.example.org
F:\tnet

THE REST
M:\tLinus Chief <torvalds@example.org>
L:\tlinux-kernel@vger.example.org
F:\t*
F:\t*/
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "tree", {
        "MAINTAINERS": MAINTAINERS,
        "kernel/bpf/helpers.c": "int h;\n",
        "kernel/bpf/verifier.c": "int v;\n",
        "kernel/bpf/preload/iter.c": "int i;\n",
        "net/netfilter/nf_tables.c": "int n;\n",
        "net/netfilter/ipvs/ip_vs.c": "int p;\n",
        "tools/lib/bpf/libbpf.c": "int l;\n",
        "mm/slab.c": "int s;\n",
    })


@pytest.mark.parametrize(
    ("path", "sections"),
    [
        ("kernel/bpf/helpers.c", ["BPF [HELPERS]", "BPF [GENERAL]", "THE REST"]),
        ("kernel/bpf/verifier.c", ["BPF [GENERAL]", "THE REST"]),
        # X: removes the whole section, its N: regex included.
        ("kernel/bpf/preload/iter.c", ["THE REST"]),
        ("net/netfilter/nf_tables.c", ["NETFILTER", "NETWORKING [GENERAL]", "THE REST"]),
        # `net/netfilter/*` does not reach below its own directory; `net` (a directory) does.
        ("net/netfilter/ipvs/ip_vs.c", ["NETWORKING [GENERAL]", "THE REST"]),
        ("tools/lib/bpf/libbpf.c", ["BPF [GENERAL]", "THE REST"]),  # through N:
        ("include/linux/bpf_verifier.h", ["BPF [GENERAL]", "THE REST"]),
        ("mm/slab.c", ["THE REST"]),
    ],
)
def test_sections_most_specific_first(tree: Path, path: str, sections: list[str]) -> None:
    assert [s.name for s in Maintainers(tree).sections_for(path)] == sections


def test_recipients_split_maintainers_from_reviewers_and_lists(tree: Path) -> None:
    got = recipients_for_paths(tree, ["kernel/bpf/helpers.c", "net/netfilter/nf_tables.c"])
    assert got.to == (
        "Hella Helper <hella@example.org>",
        "Alexei Starovoitov <ast@example.org>",
        "Pablo Net <pablo@example.org>",
        "Dave Net <davem@example.org>",
    )
    # Subscribers-only lists are left out, notes after a list dropped, the chief
    # penguin of THE REST not mailed, and Alexei (To) not repeated as a reviewer.
    assert got.cc == (
        "mod@lists.example.org",
        "Rita Reviewer <rita@example.org>",
        "bpf@vger.example.org",
        "linux-kernel@vger.example.org",
        "netfilter-devel@vger.example.org",
        "netdev@vger.example.org",
    )


def test_split_by_section_for_per_subsystem_series(tree: Path) -> None:
    paths = ["kernel/bpf/verifier.c", "net/netfilter/nf_tables.c", "kernel/bpf/helpers.c",
             "tools/lib/bpf/libbpf.c"]
    assert Maintainers(tree).split(paths) == {
        "BPF [GENERAL]": ["kernel/bpf/verifier.c", "tools/lib/bpf/libbpf.c"],
        "NETFILTER": ["net/netfilter/nf_tables.c"],
        "BPF [HELPERS]": ["kernel/bpf/helpers.c"],
    }


def patch_text(path: str, added: str) -> str:
    return (
        "From 0000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x: y\n\nbody\n---\n"
        f"diff --git a/{path} b/{path}\nindex 1..2 100644\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1 +1 @@\n-int n;\n+{added}\n"
    )


def test_keywords_in_a_patch_bring_in_their_section(tree: Path, tmp_path: Path) -> None:
    tagged = tmp_path / "tagged.patch"
    tagged.write_text(patch_text("net/netfilter/nf_tables.c", "__bpf_kfunc int n;"))
    plain = tmp_path / "plain.patch"
    plain.write_text(patch_text("net/netfilter/nf_tables.c", "int n2;"))

    assert "Alexei Starovoitov <ast@example.org>" in recipients_for_patch(tree, tagged).to
    assert "bpf@vger.example.org" in recipients_for_patch(tree, tagged).cc
    without = recipients_for_patch(tree, plain)
    assert "bpf@vger.example.org" not in without.cc
    assert without.to == ("Pablo Net <pablo@example.org>", "Dave Net <davem@example.org>")


def test_patch_paths_and_the_lines_keywords_apply_to() -> None:
    text = patch_text("a/b.c", "added") + "diff --git a/x.c b/y.c\n context\n"
    paths, lines = patch_paths_and_keyword_lines(text)
    assert paths == ["a/b.c", "x.c", "y.c"]
    assert "Subject: [PATCH] x: y" in lines
    assert "+added" in lines and "-int n;" in lines
    assert " context" not in lines and "+++ b/a/b.c" not in lines


def test_merge_keeps_each_address_once_and_to_wins() -> None:
    one = Recipients(("A <a@example.org>",), ("b@example.org", "c@example.org"))
    two = Recipients(("B Name <B@example.org>",), ("A Again <a@example.org>", "d@example.org"))
    assert one.merge(two) == Recipients(
        ("A <a@example.org>", "B Name <B@example.org>"), ("c@example.org", "d@example.org")
    )


def commit(repo: Path, path: str, subject: str) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(file.read_text() + subject + "\n" if file.exists() else subject + "\n")
    ident = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run(["git", *ident, "-C", str(repo), "add", path], check=True)
    subprocess.run(["git", *ident, "-C", str(repo), "commit", "-q", "-m", subject], check=True)


def test_subject_prefix_is_the_most_common_for_those_files(tmp_path: Path) -> None:
    repo = git_init(write_tree(tmp_path / "repo", {"README": "r\n"}))
    for subject in ("bpf: Add a", "bpf: Fix b", "net: Touch c", 'Revert "bpf: Fix b"',
                    "A sentence: not a prefix", "bpf: Add c"):
        commit(repo, "kernel/bpf/helpers.c", subject)
    commit(repo, "net/netfilter/core.c", "netfilter: nf_tables: x")
    commit(repo, "net/netfilter/core.c", "netfilter: y")
    commit(repo, "kernel/sched/core.c", "sched: old")
    commit(repo, "kernel/sched/core.c", "sched/core: new")

    assert subject_prefix(repo, ["kernel/bpf/helpers.c"], "kfunc") == "bpf"
    assert subject_prefix(repo, ["net/netfilter/"], "kfunc") == "netfilter"
    assert subject_prefix(repo, ["kernel/bpf/", "net/netfilter/core.c"], "kfunc") == "bpf"
    # A tie goes to the most recent prefix.
    assert subject_prefix(repo, ["kernel/sched/core.c"], "kfunc") == "sched/core"
    assert subject_prefix(repo, ["mm/never.c"], "mm") == "mm"
