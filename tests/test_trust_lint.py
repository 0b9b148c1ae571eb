"""`check --git` and `check --patch` never miss what a commit or a patch brings:
names git quotes, merges, patches applied at an offset or under later patches,
and patches that add, delete or rename files (issue "Trust, round three")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kfuncfix.commitlint import full_plans, lint_range
from kfuncfix.commitscope import scoped_plans
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, small_tree

KFUNCFIX = [sys.executable, "-m", "kfuncfix"]
REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(REPO), GIT_AUTHOR_NAME="Dev",
           GIT_AUTHOR_EMAIL="dev@example.org", GIT_COMMITTER_NAME="Dev",
           GIT_COMMITTER_EMAIL="dev@example.org")
BTF_H = "#ifndef _BTF_H\n#define _BTF_H\n#define __bpf_kfunc __used noinline\n#endif\n"
TAGGED = kfunc_source("\n__bpf_kfunc int bpf_old(void)\n{\n\treturn 0;\n}\n", ["bpf_old"])


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*KFUNCFIX, *args], cwd=cwd, input=stdin, capture_output=True,
                          env=ENV)


def git(tree: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          env=ENV).stdout


def untagged(name: str, set_name: str) -> str:
    return kfunc_source(f"\nint {name}(int a)\n{{\n\treturn a;\n}}\n", [name], set_name)


def errors(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [line for line in result.stdout.decode().splitlines() if "ERROR:" in line]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = small_tree(tmp_path / "linux", {"include/linux/btf.h": BTF_H,
                                           "kernel/k.c": TAGGED})
    return git_init(root)


# --- 1: names git C-quotes ---------------------------------------------------------

@pytest.mark.parametrize("name", ["kernel/café.c", "kernel/t\tab.c", "kernel/a b.c",
                                  "-lead.c", 'kernel/q"uote.c', "kernel/back\\slash.c"])
def test_check_git_reads_names_git_quotes(tree: Path, name: str) -> None:
    (tree / name).write_text(untagged("bpf_odd", "odd_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "odd name")
    result = run("-q", "check", "--git", "HEAD", cwd=tree)
    assert result.returncode == 1, result.stderr
    assert len(errors(result)) == 1 and "bpf_odd is not tagged" in errors(result)[0]
    # The range says the same.
    assert errors(run("-q", "check", "--git", "HEAD~1..HEAD", cwd=tree)) == errors(result)


def test_subjects_and_names_that_look_like_git_output_are_read_as_such(tree: Path) -> None:
    """Every commit's diffs come from one git process, each headed by its commit id,
    and the subjects from the listing of the commits: a file named like a commit id,
    an empty subject or one starting with "commit " cannot shift them."""
    head = git(tree, "rev-parse", "HEAD").decode().strip()
    (tree / "kernel" / head).write_text("x\n")  # a file named as a commit id
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", f"commit {head}")
    (tree / "kernel/two.c").write_text(untagged("bpf_two", "two_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "--allow-empty-message", "-m", "")
    (tree / "kernel/three.c").write_text(untagged("bpf_three", "three_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "three")
    result = run("check", "--git", "HEAD~3..HEAD", cwd=tree)
    assert result.returncode == 1, result.stderr
    blocks = [line for line in result.stdout.decode().splitlines()
              if line.startswith("commit ")]
    assert [b.split(" ", 2)[2] for b in blocks] == [
        f'("commit {head}"): 0 findings', '(""): 1 finding', '("three"): 1 finding']
    assert [e.split(":")[0] for e in errors(result)] == ["kernel/two.c", "kernel/three.c"]


def test_a_fifo_in_the_worktree_never_blocks_check_git(tree: Path) -> None:
    """A tracked file replaced by a FIFO in the worktree: the commit views read it from
    git, and nothing opens the FIFO (which would wait for a writer forever).  Many
    changed names, so the scope reads the files with sets in Python."""
    (tree / "kernel/a.c").write_text(untagged("bpf_a", "a_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "add a")
    (tree / "kernel/b.c").write_text(untagged("bpf_b", "b_ids") + "".join(
        f"int f{n}(void) {{ return bpf_a(0); }}\n" for n in range(20)))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "add b")
    (tree / "kernel/k.c").unlink()
    os.mkfifo(tree / "kernel/k.c")
    result = subprocess.run([sys.executable, "-m", "kfuncfix", "-q", "check", "--git",
                             "HEAD~1..HEAD", "."], cwd=tree, capture_output=True, env=ENV,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    assert [e.split(":")[0] for e in errors(result)] == ["kernel/b.c"]


# --- 2: merges ---------------------------------------------------------------------

def _branch_commit(tree: Path, path: str, text: str, message: str) -> None:
    (tree / path).parent.mkdir(parents=True, exist_ok=True)
    (tree / path).write_text(text)
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", message)


def test_evil_merge_is_linted(tree: Path) -> None:
    git(tree, "checkout", "-qb", "side")
    _branch_commit(tree, "kernel/side.c", "int side;\n", "side")
    git(tree, "checkout", "-q", "master")
    _branch_commit(tree, "kernel/main.c", "int main_;\n", "main")
    git(tree, "merge", "-q", "--no-ff", "--no-commit", "side")
    # What neither parent had: an untagged kfunc added by the merge itself.
    (tree / "kernel/evil.c").write_text(untagged("bpf_evil", "evil_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "Merge branch side")
    alone = run("-q", "check", "--git", "HEAD", cwd=tree)
    assert alone.returncode == 1 and len(errors(alone)) == 1
    assert "bpf_evil is not tagged" in errors(alone)[0]
    ranged = run("check", "--git", "master~2..HEAD", cwd=tree)
    assert ranged.returncode == 1 and errors(ranged) == errors(alone)
    assert "Merge branch side" in ranged.stdout.decode()


def test_merge_of_what_only_together_is_a_kfunc(tree: Path) -> None:
    """One branch registers bpf_late, the other defines it untagged: only the merge
    makes it an untagged kfunc, and the merge reports it."""
    git(tree, "checkout", "-qb", "side")
    _branch_commit(tree, "kernel/def.c", "\nint bpf_late(int a)\n{\n\treturn a;\n}\n",
                   "define bpf_late")
    git(tree, "checkout", "-q", "master")
    text = (tree / "kernel/k.c").read_text().replace(
        "BTF_ID_FLAGS(func, bpf_old)\n",
        "BTF_ID_FLAGS(func, bpf_old)\nBTF_ID_FLAGS(func, bpf_late)\n")
    _branch_commit(tree, "kernel/k.c", text, "register bpf_late")
    git(tree, "merge", "-q", "--no-ff", "-m", "Merge branch side", "side")
    # Alone, each is at most a warning (a kfunc without definition).
    assert errors(run("-q", "check", "--git", "HEAD^1", cwd=tree)) == []
    assert errors(run("-q", "check", "--git", "HEAD^2", cwd=tree)) == []
    merge = run("-q", "check", "--git", "HEAD", cwd=tree)
    assert merge.returncode == 1 and "bpf_late is not tagged" in errors(merge)[0]
    assert errors(run("-q", "check", "--git", "HEAD~2..HEAD", cwd=tree)) == errors(merge)


def test_registration_alone_is_reported(tree: Path) -> None:
    """A commit adding only the registration of a set whose function is untagged."""
    text = untagged("bpf_quiet", "quiet_ids")
    registered = text.split("static int __init")[0]
    _branch_commit(tree, "kernel/q.c", registered, "set without registration")
    assert run("-q", "check", "--git", "HEAD", cwd=tree).returncode == 0
    _branch_commit(tree, "kernel/q.c", text, "register it")
    result = run("-q", "check", "--git", "HEAD", cwd=tree)
    assert result.returncode == 1 and "bpf_quiet is not tagged" in errors(result)[0]


def test_worktree_view_equals_reading_each_revision(tree: Path) -> None:
    """The fast path (worktree plus overlay) finds what reading each revision finds,
    with the worktree dirty and an untracked C file lying around."""
    _branch_commit(tree, "kernel/a.c", untagged("bpf_a", "a_ids"), "a")
    _branch_commit(tree, "kernel/k.c", TAGGED.replace("return 0", "return 1"), "k")
    (tree / "kernel/a.c").write_text("dirty\n")
    (tree / "kernel/untracked.c").write_text(untagged("bpf_u", "u_ids"))
    want = [(c.commit, c.findings)
            for c in lint_range(tree, "HEAD~2..HEAD", full_plans(tree, ()))]
    got = [(c.commit, c.findings)
           for c in lint_range(tree, "HEAD~2..HEAD", lambda cs: scoped_plans(tree, (), cs))]
    assert got == want and sum(len(f) for _, f in got) == 1


def test_check_git_option_like_values_are_refused(tree: Path) -> None:
    for value in ("HEAD..--output=/tmp/x", "HEAD...--all", "master..-n"):
        result = run("check", "--git", value, cwd=tree)
        assert result.returncode == 2 and b"Traceback" not in result.stderr
        assert len(result.stderr.decode().strip().splitlines()) == 1


# --- 3 and 16: applied patches -----------------------------------------------------

def _patch(tree: Path, rev: str = "HEAD") -> bytes:
    return git(tree, "format-patch", "-1", "--stdout", rev)


def test_applied_patch_under_a_later_patch_is_linted_where_its_lines_are(tree: Path) -> None:
    """Patch 1 adds an untagged kfunc; patch 2 adds lines above it: with both applied
    (b4 prep --check), patch 1's kfunc is reported at its line in the tree."""
    text = (tree / "kernel/k.c").read_text()
    one = text.replace("BTF_ID_FLAGS(func, bpf_old)\n",
                       "BTF_ID_FLAGS(func, bpf_old)\nBTF_ID_FLAGS(func, bpf_new)\n").replace(
        "\nBTF_SET8_START", "\nint bpf_new(int a)\n{\n\treturn a;\n}\n\nBTF_SET8_START")
    _branch_commit(tree, "kernel/k.c", one, "patch 1")
    two = one.replace("#include <linux/btf_ids.h>\n",
                      "#include <linux/btf_ids.h>\n" + "/* moved */\n" * 30)
    _branch_commit(tree, "kernel/k.c", two, "patch 2")
    result = run("-q", "check", "--patch", "-", cwd=tree, stdin=_patch(tree, "HEAD~1"))
    assert result.returncode == 1, result.stderr
    line = two.splitlines().index("int bpf_new(int a)") + 1
    assert errors(result) == [f"kernel/k.c:{line}: ERROR: bpf_kfunc_tag: kfunc bpf_new is "
                              "not tagged __bpf_kfunc"]


@pytest.mark.parametrize("shape", ["add-and-modify", "delete", "rename", "rename-and-edit"])
def test_applied_patch_that_adds_deletes_or_renames_files(tree: Path, shape: str) -> None:
    _branch_commit(tree, "kernel/other.c", "int other;\n", "other")
    if shape == "add-and-modify":
        (tree / "kernel/new.c").write_text(untagged("bpf_added", "added_ids"))
        (tree / "kernel/other.c").write_text("int other;\nint more;\n")
    elif shape == "delete":
        (tree / "kernel/other.c").unlink()
    else:
        (tree / "kernel/other.c").rename(tree / "kernel/moved.c")
        if shape == "rename-and-edit":
            (tree / "kernel/moved.c").write_text(untagged("bpf_moved", "moved_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", shape)
    patch = _patch(tree)
    applied = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert b"does not apply" not in applied.stderr
    want = 1 if shape in ("add-and-modify", "rename-and-edit") else 0
    assert (applied.returncode, len(errors(applied))) == (want, want), applied.stderr
    # Not applied yet: the same answer.
    git(tree, "reset", "-q", "--hard", "HEAD~1")
    fresh = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert (fresh.returncode, fresh.stdout) == (applied.returncode, applied.stdout)


def test_patch_of_a_registration_alone_is_reported(tree: Path) -> None:
    """The patch only registers a set whose function is untagged: reported whether
    it is applied already or not."""
    text = untagged("bpf_quiet", "quiet_ids")
    _branch_commit(tree, "kernel/q.c", text.split("static int __init")[0], "set")
    _branch_commit(tree, "kernel/q.c", text, "register it")
    patch = _patch(tree)
    applied = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert applied.returncode == 1 and "bpf_quiet is not tagged" in errors(applied)[0]
    git(tree, "reset", "-q", "--hard", "HEAD~1")
    fresh = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert (fresh.returncode, fresh.stdout) == (1, applied.stdout)


def test_applied_patch_that_creates_a_file_is_read_as_applied(tree: Path) -> None:
    """A patch creating a file the tree has already is applied, not applied again on
    a copy: its kfunc, registered by a later commit, is reported."""
    _branch_commit(tree, "kernel/def.c", "\nint bpf_later(int a)\n{\n\treturn a;\n}\n",
                   "define")
    patch = _patch(tree)
    _branch_commit(tree, "kernel/reg.c", kfunc_source("", ["bpf_later"], "later_ids"),
                   "register")
    result = run("-q", "check", "--patch", "-", cwd=tree, stdin=patch)
    assert result.returncode == 1 and "bpf_later is not tagged" in errors(result)[0]


def test_worktree_that_cannot_stand_in_reads_each_revision(tree: Path) -> None:
    """An assume-unchanged file may differ from git unseen: no view, each revision
    read itself; the findings are those of reading each revision whole."""
    _branch_commit(tree, "kernel/a.c", untagged("bpf_a", "a_ids"), "a")
    git(tree, "update-index", "--assume-unchanged", "kernel/a.c")
    (tree / "kernel/a.c").write_text(TAGGED.replace("bpf_old", "bpf_hidden"))
    want = [(c.commit, c.findings)
            for c in lint_range(tree, "HEAD~1..HEAD", full_plans(tree, ()))]
    got = [(c.commit, c.findings)
           for c in lint_range(tree, "HEAD~1..HEAD", lambda cs: scoped_plans(tree, (), cs))]
    assert got == want
    assert [f.kfunc for _, found in got for f in found] == ["bpf_a"]


def test_tree_wide_change_indexes_each_tree_whole(tree: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_SCOPED touched C files the scoped path gives way to whole trees, with
    the same findings."""
    from kfuncfix import commitscope

    monkeypatch.setattr(commitscope, "MAX_SCOPED", 1)
    for n in range(2):
        (tree / f"kernel/w{n}.c").write_text(untagged(f"bpf_w{n}", f"w{n}_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "tree-wide")
    got = lint_range(tree, "HEAD~1..HEAD", lambda cs: scoped_plans(tree, (), cs))
    assert sorted(f.kfunc or "" for c in got for f in c.findings) == ["bpf_w0", "bpf_w1"]


def test_commit_costs_one_pass_over_the_c_files(tree: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit that adds a kfunc to a set whose other kfuncs are defined in another
    file: the search for files naming the new function and the one resolution makes
    for the others' definitions are one pass over the tree's .c files, and each
    version of each file is scanned once for the commit, its parent and the scope
    together.  The findings are those of reading each revision whole."""
    from kfuncfix.discovery import reader as reader_module
    from kfuncfix.source import scan as scan_module
    from kfuncfix.treefiles import TreeFiles

    (tree / "kernel/defs.c").write_text(
        "".join(f"int bpf_far{n}(int a)\n{{\n\treturn a;\n}}\n\n" for n in range(3)))
    far = untagged("bpf_near", "near_ids").replace(
        "BTF_ID_FLAGS(func, bpf_near)\n",
        "".join(f"BTF_ID_FLAGS(func, bpf_far{n})\n" for n in range(3)))
    (tree / "kernel/near.c").write_text(far.replace("bpf_near", "bpf_near0"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "base")
    (tree / "kernel/near.c").write_text(far.replace(
        "BTF_ID_FLAGS(func, bpf_far0)\n",
        "BTF_ID_FLAGS(func, bpf_far0)\nBTF_ID_FLAGS(func, bpf_new)\n").replace(
        "\nint bpf_near0", "\nint bpf_new(int a)\n{\n\treturn a;\n}\n\nint bpf_near0"))
    git(tree, "commit", "-qam", "add bpf_new")

    searches: list[str] = []
    scanned: list[tuple[str, int]] = []
    real_grep, real_scan = TreeFiles.grep_start, scan_module.scan

    def counting_grep(self: TreeFiles, pattern: object, files: str = "all",
                      whole_words: bool = False):  # type: ignore[no-untyped-def]
        if files == "c" and type(self) is TreeFiles:  # a pass over the worktree's files
            searches.append(str(pattern))
        return real_grep(self, pattern, files, whole_words)  # type: ignore[arg-type]

    def counting_scan(path: str, data: bytes):  # type: ignore[no-untyped-def]
        scanned.append((path, hash(data)))
        return real_scan(path, data)

    want = [(c.commit, c.findings)
            for c in lint_range(tree, "HEAD~1..HEAD", full_plans(tree, ()))]
    from kfuncfix import commitscope
    with monkeypatch.context() as patch:
        patch.setattr(TreeFiles, "grep_start", counting_grep)
        patch.setattr(reader_module, "scan", counting_scan)
        patch.setattr(commitscope, "scan", counting_scan)
        got = [(c.commit, c.findings)
               for c in lint_range(tree, "HEAD~1..HEAD", lambda cs: scoped_plans(tree, (), cs))]
    assert got == want
    assert [f.kfunc for _, found in got for f in found] == ["bpf_new"]
    assert len(searches) == 1, searches
    assert "bpf_far0" in searches[0] and "bpf_new" in searches[0]
    assert len(scanned) == len(set(scanned)), scanned


def test_a_commit_tagging_without_the_definition_is_an_error_a_patch_alone_is_not(
        tmp_path: Path) -> None:
    """A commit's tree is what `git bisect` builds: tagging kfuncs before the commit
    that defines the tag breaks it.  A patch checked alone against a tree without
    its series' earlier patches (git send-email's validate hook) may rely on patch 1
    for the definition: not reported there."""
    root = git_init(small_tree(tmp_path / "linux", {
        "include/linux/btf.h": "#ifndef _BTF_H\n#define _BTF_H\n#endif\n",
        "kernel/k.c": untagged("bpf_old", "old_ids")}))
    (root / "kernel/k.c").write_text(TAGGED)
    git(root, "commit", "-qam", "tag without the definition")
    result = run("-q", "check", "--git", "HEAD", ".", cwd=root)
    assert result.returncode == 1, result.stderr
    assert errors(result) == [
        "kernel/k.c:5: ERROR: bpf_kfunc_tag: bpf_old uses __bpf_kfunc, which this tree "
        "does not define: it does not compile (`kfuncfix apply --with-definition` adds it)"]
    patch = git(root, "format-patch", "-1", "--stdout", "HEAD")
    git(root, "reset", "-q", "--hard", "HEAD~1")
    alone = run("-q", "check", "--patch", "-", ".", cwd=root, stdin=patch)
    assert (alone.returncode, alone.stdout) == (0, b""), alone.stderr
