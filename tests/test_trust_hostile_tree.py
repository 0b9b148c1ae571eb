"""Hostile trees: odd names, committed links, repositories git refuses, files we may not write.

* Names with a newline: the tree at a revision is read by object id, names
  NUL-separated, so every file gets its own bytes and a series or a branch
  holds exactly the planned edits (issue 11, item 1).
* A committed symbolic link is never rewritten, in any command: discovery
  skips it with a note, `series` and `apply --branch` refuse it in apply's
  words (item 2).
* A repository git refuses ("dubious ownership") stops every command with
  git's own line, before anything is written (item 4).
* `apply` checks every target before the first write (directory writable,
  not read-only, not hard-linked), keeps owner and group, stops cleanly on
  SIGTERM, removes the temporaries a kill -9 left, and its summary never
  claims what it did not write.
* A file with a NUL byte, a submodule, a sparse path: named, not dropped unseen.
* Names are quoted as git quotes them; branch names are checked as git does.
"""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.discover import discover
from kfuncfix.errors import KfuncfixError
from kfuncfix.gitrun import work_tree
from kfuncfix.outputs.apply import ApplyResult, Refusal
from kfuncfix.outputs.gitseries import PlannedPatch, build_series
from kfuncfix.pathquote import quote_path
from kfuncfix.sample import copy_sample_tree
from kfuncfix.treefiles import NotRegularFile, TreeFiles
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, read_tree, small_tree

REPO = Path(__file__).resolve().parent.parent
DATE = "2024-01-01 00:00 +0000"
SENDER = "Test Sender <sender@example.org>"
GIT_ENV = {"GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid",
               "-C", str(repo), *args]
    return subprocess.run(command, check=True, capture_output=True, input=stdin,
                          env={**os.environ, **GIT_ENV}).stdout


def kfunc_file(name: str, set_name: str) -> str:
    return kfunc_source(f"\nnoinline int {name}(int x)\n{{\n\treturn x;\n}}\n", [name], set_name)


def files_at(repo: Path, rev: str) -> dict[str, bytes]:
    """Every regular file of the tree at rev, read by object id (NUL-separated names)."""
    out = {}
    for record in git(repo, "ls-tree", "-r", "-z", rev).split(b"\0"):
        if record:
            info, _, name = record.partition(b"\t")
            mode, _, oid = info.decode().split(" ")
            if mode in ("100644", "100755"):
                out[os.fsdecode(name)] = git(repo, "cat-file", "blob", oid)
    return out


def refs(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname)").decode().split()


# -- item 1: names with a newline ------------------------------------------------

NEWLINE_NAME = "kernel/a\nb.c"


@pytest.fixture
def newline_tree(tmp_path: Path) -> Path:
    """The sample tree with a kfunc in a file whose name holds a newline, committed."""
    root = copy_sample_tree(tmp_path / "tree")
    (root / NEWLINE_NAME).write_text(kfunc_file("f_newline", "newline_ids"))
    return git_init(root)


def test_every_file_at_a_revision_reads_its_own_bytes(newline_tree: Path) -> None:
    worktree = read_tree(newline_tree)
    files = TreeFiles(newline_tree, rev="HEAD")
    try:
        committed = {rel: files.read(rel) for rel in sorted(worktree)
                     if not rel.startswith(".git/")}
    finally:
        files.close()
    assert committed == {rel: data for rel, data in worktree.items()
                         if not rel.startswith(".git/")}


def test_paths_listed_together_read_as_the_whole_listing_reads_them(
        newline_tree: Path) -> None:
    """`listed` (a commit's few files, one ls-tree) and `object_ids` (--build's keys)
    see the names git quotes, absent paths and every file as the listing does."""
    worktree = read_tree(newline_tree)
    names = sorted(rel for rel in worktree if not rel.startswith(".git/"))
    files = TreeFiles(newline_tree, rev="HEAD")
    try:
        files.listed([NEWLINE_NAME, "kernel/absent.c", "-n", *names[:3]])
        assert files.kind("kernel/absent.c") is None and files.kind("-n") is None
        assert files.read(NEWLINE_NAME) == worktree[NEWLINE_NAME]
        assert {rel: files.read(rel) for rel in names[:3]} == {
            rel: worktree[rel] for rel in names[:3]}
        ids = files.object_ids()
    finally:
        files.close()
    assert sorted(ids) == names
    hashed = subprocess.run(["git", "-C", str(newline_tree), "hash-object", "--", NEWLINE_NAME],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert ids[NEWLINE_NAME] == hashed


def test_a_newline_name_gives_the_branch_the_worktree_apply_gives(
        newline_tree: Path, tmp_path: Path) -> None:
    """apply --branch commits exactly what apply writes in a copy of the worktree."""
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(newline_tree), str(copy)], check=True)
    applied = run("apply", "--with-definition", str(copy))
    assert applied.exit_code == 0, applied.output
    expected = {rel: data for rel, data in read_tree(copy).items()
                if not rel.startswith(".git/")}

    made = run("apply", "--branch", "tagged", "--date", DATE, "--from", SENDER,
               str(newline_tree))
    assert made.exit_code == 0, made.output
    assert "cannot read" not in made.stderr
    assert files_at(newline_tree, "tagged") == expected
    assert b"__bpf_kfunc int f_newline(int x)" in expected[NEWLINE_NAME]


def test_a_newline_name_makes_a_series_of_the_planned_edits(
        newline_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("series", str(newline_tree), "-o", str(out), "--split", "file", "--check",
                 "--date", DATE, "--from", SENDER)
    assert result.exit_code == 0, result.output
    assert "cannot read" not in result.stderr
    text = b"".join(p.read_bytes() for p in sorted(out.glob("*.patch")))
    assert b'diff --git "a/kernel/a\\nb.c" "b/kernel/a\\nb.c"' in text
    assert b"diff --git a/include/linux/btf_ids.h" not in text  # never rewritten wholesale
    # The series, applied on the base, is the worktree apply of the same tree.
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(newline_tree), str(copy)], check=True)
    git(copy, "am", "--quiet", *map(str, sorted(out.glob("0[0-9][0-9][1-9]-*.patch"))))
    applied = tmp_path / "applied"
    subprocess.run(["cp", "-a", str(newline_tree), str(applied)], check=True)
    assert run("apply", "--with-definition", str(applied)).exit_code == 0
    assert files_at(copy, "HEAD") == {rel: data for rel, data in read_tree(applied).items()
                                      if not rel.startswith(".git/")}


# -- item 2: committed symbolic links -------------------------------------------


@pytest.fixture
def linked_header_tree(tmp_path: Path) -> Path:
    """The sample tree whose include/linux/btf.h is a committed link to btf_real.h."""
    root = copy_sample_tree(tmp_path / "tree")
    header = root / "include/linux/btf.h"
    header.rename(root / "include/linux/btf_real.h")
    header.symlink_to("btf_real.h")
    (root / "kernel/link.c").symlink_to("softlockup_dump.c")
    return git_init(root)


def test_a_committed_link_is_not_a_file_at_the_revision(linked_header_tree: Path) -> None:
    files = TreeFiles(linked_header_tree, rev="HEAD")
    try:
        assert files.kind("include/linux/btf.h") == "symbolic link"
        assert not files.exists("include/linux/btf.h")
        with pytest.raises(NotRegularFile, match="symbolic link"):
            files.read("include/linux/btf.h")
        assert files.exists("include/linux/btf_real.h")
    finally:
        files.close()
    worktree = TreeFiles(linked_header_tree)
    assert worktree.kind("kernel/link.c") == "symbolic link"
    with pytest.raises(NotRegularFile):
        worktree.read("kernel/link.c")


def test_a_linked_header_is_skipped_with_a_note_at_a_revision_as_in_the_worktree(
        tmp_path: Path) -> None:
    """A set's macro in an included header that is a link: the same note, both ways."""
    body = '#include "ids.h"\n\nnoinline int f_a(int x)\n{\n\treturn x;\n}\n'
    source = kfunc_source(body, [], "a_ids").replace("BTF_SET8_END", "A_IDS\nBTF_SET8_END")
    tree = small_tree(tmp_path / "tree", {"kernel/a.c": source,
                                          "kernel/real_ids.h": "#define A_IDS \\\n"
                                                               "\tBTF_ID_FLAGS(func, f_a)\n"})
    (tree / "kernel/ids.h").symlink_to("real_ids.h")
    git_init(tree)
    note = "kernel/ids.h: is a symbolic link; not read through: skipped"
    assert note in discover(tree).warnings
    assert note in discover(tree, rev="HEAD").warnings


@pytest.mark.parametrize("command", [
    ["series", "-o", "{out}", "--date", DATE, "--from", SENDER],
    ["apply", "--branch", "tagged", "--date", DATE, "--from", SENDER],
    ["apply", "--with-definition"],
])
def test_a_linked_header_is_refused_alike_by_every_command(
        linked_header_tree: Path, tmp_path: Path, command: list[str]) -> None:
    out = tmp_path / "out"
    before = read_tree(linked_header_tree)
    result = run(*[a.format(out=out) for a in command], str(linked_header_tree))
    assert result.exit_code == 2, result.output
    assert result.stderr.endswith(
        f"kfuncfix: error: include/linux/btf.h: not a file of {linked_header_tree}; "
        "cannot add the definition of __bpf_kfunc there\n"), result.stderr
    assert not out.exists() or list(out.glob("*.patch")) == []
    assert refs(linked_header_tree) == ["refs/heads/master"]
    assert read_tree(linked_header_tree) == before
    assert os.readlink(linked_header_tree / "include/linux/btf.h") == "btf_real.h"


def test_a_series_never_edits_a_link_blob(linked_header_tree: Path) -> None:
    patch = PlannedPatch("x: edit a link", "", {"include/linux/btf.h": b"btf_other.h"})
    with pytest.raises(KfuncfixError, match="is a symbolic link; not written through"):
        build_series(linked_header_tree, "HEAD", [patch], sender=SENDER, date=DATE)


# -- item 4: a repository git refuses -------------------------------------------


@pytest.fixture
def refused_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A git tree owned by nobody, used by root with no safe.directory: git refuses it."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give the tree to another user")
    nobody = pwd.getpwnam("nobody")
    global_config = tmp_path / "gitconfig"
    global_config.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    tree = git_init(copy_sample_tree(tmp_path / "tree"))
    edited = tree / "kernel/bpf/taskref.c"
    edited.write_bytes(edited.read_bytes() + b"/* uncommitted */\n")
    subprocess.run(["chown", "-R", f"{nobody.pw_uid}:{nobody.pw_gid}", str(tree)], check=True)
    yield tree


def owners(tree: Path) -> set[tuple[int, int]]:
    return {(p.stat().st_uid, p.stat().st_gid) for p in tree.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", [["apply"], ["series", "-o", "{out}"], ["list"]])
def test_a_repository_git_refuses_stops_the_run_with_gits_message(
        refused_tree: Path, tmp_path: Path, command: list[str]) -> None:
    before, owned = read_tree(refused_tree), owners(refused_tree)
    result = run(*[a.format(out=tmp_path / "out") for a in command], str(refused_tree))
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"kfuncfix: error: {refused_tree}: git: detected dubious "
                             f"ownership in repository at '{refused_tree}'\n")
    assert read_tree(refused_tree) == before and owners(refused_tree) == owned


def test_work_tree_is_one_answer(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert work_tree(plain) is None
    repo = git_init(small_tree(tmp_path / "repo", {"kernel/a.c": "int x;\n"}))
    assert work_tree(repo) == repo.resolve()
    assert work_tree(repo / "kernel") == repo.resolve()
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    with pytest.raises(KfuncfixError, match="bare git repository"):
        work_tree(bare)


# -- apply: every target checked first ---------------------------------------------


def three_dir_tree(root: Path) -> Path:
    return small_tree(root, {"kernel/a.c": kfunc_file("f_a", "a_ids"),
                             "kernel/b.c": kfunc_file("f_b", "b_ids"),
                             "net/c.c": kfunc_file("f_c", "c_ids")})


def test_a_directory_we_cannot_write_means_nothing_is_written(tmp_path: Path) -> None:
    tree = three_dir_tree(tmp_path / "tree")
    net = tree / "net"
    done = subprocess.run(["mount", "--bind", str(net), str(net)], capture_output=True)
    if done.returncode:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(net)], check=True)
        before = read_tree(tree)
        result = run("apply", str(tree))
        assert result.exit_code == 1, result.output
        assert "kfuncfix: refused net/c.c: its directory net is not writable\n" in result.stderr
        assert read_tree(tree) == before
    finally:
        subprocess.run(["umount", str(net)], check=True)


def test_a_read_only_file_is_refused_unless_forced(tmp_path: Path) -> None:
    tree = three_dir_tree(tmp_path / "tree")
    target = tree / "kernel/b.c"
    target.chmod(0o444)
    before = read_tree(tree)
    result = run("apply", str(tree))
    assert result.exit_code == 1, result.output
    assert ("kfuncfix: refused kernel/b.c: is read-only (mode 0444); use --force to write "
            "it anyway\n") in result.stderr
    assert read_tree(tree) == before
    forced = run("apply", "--force", str(tree))
    assert forced.exit_code == 0, forced.output
    assert b"__bpf_kfunc int f_b(" in target.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


def test_a_hard_linked_file_is_refused_unless_forced(tmp_path: Path) -> None:
    tree = three_dir_tree(tmp_path / "tree")
    other = tmp_path / "elsewhere.c"
    os.link(tree / "kernel/a.c", other)
    before, kept = read_tree(tree), other.read_bytes()
    result = run("apply", str(tree))
    assert result.exit_code == 1, result.output
    assert "kfuncfix: refused kernel/a.c: has 2 hard links" in result.stderr
    assert read_tree(tree) == before and other.read_bytes() == kept


def test_owner_and_group_are_kept(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root may give a file to another user")
    nobody = pwd.getpwnam("nobody")
    tree = three_dir_tree(tmp_path / "tree")
    target = tree / "kernel/a.c"
    os.chown(target, nobody.pw_uid, nobody.pw_gid)
    result = run("apply", str(tree))
    assert result.exit_code == 0, result.output
    assert b"__bpf_kfunc int f_a(" in target.read_bytes()
    assert (target.stat().st_uid, target.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid)


def test_a_refusal_summary_claims_nothing_written(tmp_path: Path) -> None:
    tree = three_dir_tree(tmp_path / "tree")
    (tree / "net/c.c").chmod(0o444)
    result = run("apply", str(tree))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "nothing written: 1 of 3 files refused, 3 kfuncs left as they were, 0 skipped")


def test_summary_says_only_what_was_written() -> None:
    done = ApplyResult(written=["a.c", "b.c"], planned=2)
    assert done.summary(3, 1, 2, 0) == (
        "2 files changed, 3 kfuncs rewritten, 1 set renamed, 2 already done, 0 skipped")
    refused = ApplyResult(refused=[Refusal("a.c", "is read-only")], planned=2)
    assert refused.summary(23, 0, 0, 1) == (
        "nothing written: 1 of 2 files refused, 23 kfuncs left as they were, 1 skipped")
    stopped = ApplyResult(written=["a.c"], failed=Refusal("b.c", "terminated"),
                          unwritten=["b.c"], planned=2)
    assert stopped.summary(23, 0, 0, 0) == "stopped after 1 of 2 files changed, 0 skipped"
    assert stopped.stop_status == 143


# -- apply: signals and what they leave -----------------------------------------

KILLER = textwrap.dedent("""\
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    real, calls = os.replace, []
    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2 and {sig} == signal.SIGKILL:
            os.kill(os.getpid(), signal.SIGKILL)  # before the rename: the temporary stays
        real(src, dst)
        if len(calls) == 2:
            os.kill(os.getpid(), {sig})
    os.replace = replace
    from kfuncfix.cli import main
    main(["apply", {tree!r}])
""")


def apply_killed(tree: Path, sig: int) -> subprocess.CompletedProcess[str]:
    script = KILLER.format(repo=str(REPO), sig=int(sig), tree=str(tree))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)


def temporaries(tree: Path) -> list[str]:
    return sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.kfuncfix"))


def test_sigterm_stops_the_run_and_says_what_was_written(tmp_path: Path) -> None:
    tree = three_dir_tree(tmp_path / "tree")
    before = read_tree(tree)
    done = apply_killed(tree, signal.SIGTERM)
    assert done.returncode == 143, (done.returncode, done.stderr)
    assert "failed: terminated" in done.stderr
    assert "kfuncfix: stopped after writing 2 of 3 files" in done.stderr
    assert "kfuncfix: written: kernel/a.c\nkfuncfix: written: kernel/b.c\n" in done.stderr
    assert "kfuncfix: not written: net/c.c\n" in done.stderr
    after = read_tree(tree)
    assert after["net/c.c"] == before["net/c.c"]
    assert after["kernel/b.c"] != before["kernel/b.c"]
    assert temporaries(tree) == []


def test_a_rerun_removes_what_kill_9_left(tmp_path: Path) -> None:
    tree = three_dir_tree(tmp_path / "tree")
    killed = apply_killed(tree, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    [left] = temporaries(tree)
    assert left.startswith("kernel/.b.c.")
    again = run("apply", str(tree))
    assert again.exit_code == 0, again.output
    assert f"kfuncfix: removed {left}, left by an interrupted run\n" in again.stderr
    assert temporaries(tree) == []
    assert all(b"__bpf_kfunc" in data for rel, data in read_tree(tree).items()
               if rel.endswith(".c"))


# -- files discovery must not drop unseen ---------------------------------------


@pytest.mark.parametrize("search", ["git grep", "grep"])
def test_a_file_with_a_nul_byte_is_named(search: str, tmp_path: Path) -> None:
    binary = kfunc_file("f_nul", "nul_ids").replace("#include <linux/btf.h>",
                                                    "#include <linux/btf.h> /* \0 */")
    tree = small_tree(tmp_path / "tree", {"kernel/a.c": kfunc_file("f_a", "a_ids"),
                                          "kernel/nul.c": binary})
    if search == "git grep":
        git_init(tree)
    result = run("list", "--format", "json", str(tree))
    assert result.exit_code == 0, result.output
    assert ("kfuncfix: warning: kernel/nul.c: a NUL byte in its first 8 KB: read as binary, "
            "skipped\n") in result.stderr
    assert "1 file(s) could not be read; the result below is incomplete" in result.stderr


def test_submodules_and_sparse_paths_get_a_note(tmp_path: Path) -> None:
    tree = git_init(small_tree(tmp_path / "tree", {"kernel/a.c": kfunc_file("f_a", "a_ids"),
                                                   "kernel/b.c": kfunc_file("f_b", "b_ids")}))
    head = git(tree, "rev-parse", "HEAD").decode().strip()
    git(tree, "update-index", "--add", "--cacheinfo", f"160000,{head},lib/sub")
    git(tree, "commit", "-q", "-m", "submodule")
    git(tree, "update-index", "--skip-worktree", "kernel/b.c")
    (tree / "kernel/b.c").unlink()
    listed = run("list", str(tree))
    assert listed.exit_code == 0, listed.output
    assert "kfuncfix: warning: lib/sub: a submodule: not searched\n" in listed.stderr
    assert ("kfuncfix: warning: 1 C file outside the sparse checkout (e.g. kernel/b.c): "
            "not searched\n") in listed.stderr
    out = tmp_path / "out"
    made = run("series", str(tree), "-o", str(out), "--date", DATE, "--from", SENDER,
               "--no-maintainers")
    assert "kfuncfix: warning: lib/sub: a submodule: not searched\n" in made.stderr


# -- names and branches as git takes them ----------------------------------------


@pytest.mark.parametrize("name", [
    "plain.c", "with space.c", "--dash.c", "a\nb.c", "tab\there.c", 'quote".c', "back\\slash.c",
    "caf\u00e9.c", os.fsdecode(b"lat\xe9.c"), "bell\a.c", "del\x7f.c", "esc\x1b.c", "cr\r.c",
])
def test_quote_path_is_gits_quoting(name: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / name).write_bytes(b"x\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git(repo, "add", "--", name)
    for quote_path_setting, quote_non_ascii in (("true", True), ("false", False)):
        shown = git(repo, "-c", f"core.quotePath={quote_path_setting}", "ls-files")
        assert os.fsencode(quote_path(name, quote_non_ascii=quote_non_ascii)) + b"\n" == shown


@pytest.mark.parametrize("name", ["HEAD", "@", "-f", "a..b", "x.lock", "@{-1}"])
def test_branch_names_git_refuses_are_refused(name: str, tmp_path: Path) -> None:
    tree = git_init(copy_sample_tree(tmp_path / "tree"))
    result = run("apply", f"--branch={name}", "--date", DATE, "--from", SENDER, str(tree))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"kfuncfix: error: '{name}' is not a valid branch name")
    assert len(result.stderr.splitlines()) == 1
    assert refs(tree) == ["refs/heads/master"]
