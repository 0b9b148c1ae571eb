"""The index cache: a warm run gives what a cold one gives, whatever happened in between.

Each test has its own cache directory (KFUNCFIX_CACHE_DIR) and its own small
git tree; the realtree check (warm = cold on Linux 7.2, byte for byte) is in
tests/test_realtree_index_cache.py.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kfuncfix.indexcache as indexcache
from kfuncfix.discover import discover
from kfuncfix.indexcache import Store, blob_id
from kfuncfix.report import records
from kfuncfix.source.scan import freeze, scan, thaw
from tests.conftest import REPO, git_init, write_tree

HEADER = "#define __bpf_kfunc __used noinline\n"
SET_FILE = """\
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc int a_one(int x)
{
\treturn x;
}

__bpf_kfunc int a_two(int x, int y)
{
\treturn x + y;
}

BTF_KFUNCS_START(a_ids)
BTF_ID_FLAGS(func, a_one)
BTF_ID_FLAGS(func, a_two, KF_RCU)
BTF_KFUNCS_END(a_ids)

static const struct btf_kfunc_id_set a_set = { .set = &a_ids };

static int __init a_init(void)
{
\treturn register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &a_set);
}
"""
# Every word that makes a file a candidate is misspelt (X): nothing to read here, yet.
HIDDEN = """\
__bpf_kfunX int c_one(void)
{
\treturn 1;
}

BTF_KFUNCS_STARX(c_ids)
BTF_ID_FLAGS(func, c_one)
BTF_KFUNCS_END(c_ids)

static const struct btf_kfunX_id_set c_set = { .set = &c_ids };

static int __init c_init(void)
{
\treturn registeX_btf_kfunX_id_set(BPF_PROG_TYPE_TRACING, &c_set);
}
"""
SHOWN = HIDDEN.replace("STARX", "START").replace("kfunX", "kfunc").replace("registeX",
                                                                           "register")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("KFUNCFIX_CACHE_DIR", str(where))
    monkeypatch.delenv("KFUNCFIX_NO_CACHE", raising=False)
    return where


def make_tree(root: Path, git: bool = True) -> Path:
    write_tree(root, {"Kconfig": "", "include/linux/btf.h": HEADER,
                      "include/linux/btf_ids.h": "#define BTF_KFUNCS_START(n)\n",
                      "kernel/a.c": SET_FILE, "kernel/c.c": HIDDEN,
                      "kernel/other.c": "int other(void) { return 0; }\n"})
    for path in root.rglob("*.[ch]"):  # older than the index: not racily clean for git
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return git_init(root) if git else root


def listing(root: Path, **kwargs: object) -> str:
    """What `list --format json` prints, from the library."""
    index = discover(root, **kwargs)  # type: ignore[arg-type]
    return json.dumps([r.to_json() for r in records(index)], indent=2)


def entries(where: Path, kind: str) -> list[Path]:
    return sorted(p for p in (where / kind).rglob("*") if p.is_file()) if where.exists() else []


def age_index(root: Path) -> None:
    """As if the index had been written a while ago (the cache stores no search of a
    tree whose index is seconds old: git's stat check has whole-second blind spots).

    First into the next second, so that the entries git recorded are from a past one.
    """
    time.sleep(1 - time.time() % 1 + 0.05)
    index = root / ".git" / "index"
    past = time.time() - 10
    os.utime(index, (past, past))


def rewrite_keeping_stat(path: Path, data: str) -> None:
    """New bytes of the same size, the old mtime put back (only ctime tells)."""
    before = path.stat()
    assert len(data.encode()) == before.st_size
    path.write_text(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def no_scanning(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(rel: str, data: bytes) -> None:
        raise AssertionError(f"{rel} scanned again")

    monkeypatch.setattr(indexcache, "scan", refuse)


def test_warm_run_reads_the_cache_and_equals_the_cold_run(
        tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "t")
    age_index(root)
    cold = listing(root)
    assert '"a_two"' in cold and entries(cache_dir, "scan") and entries(cache_dir, "grep")
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    no_scanning(monkeypatch)
    assert listing(root) == cold
    monkeypatch.undo()
    monkeypatch.setenv("KFUNCFIX_CACHE_DIR", str(cache_dir))
    assert listing(root, cache=False) == cold  # --no-cache: scans anew
    shutil.rmtree(cache_dir)  # safe to delete, at any time
    assert listing(root) == cold


@pytest.mark.parametrize("how", ["git, index just written", "git, index written before",
                                 "plain"])
def test_an_edit_keeping_size_and_mtime_is_seen(tmp_path: Path, cache_dir: Path,
                                                 how: str) -> None:
    root = make_tree(tmp_path / "t", how != "plain")
    if how != "plain":  # settings that make git's own stat check trust less
        for name, value in (("core.trustctime", "false"), ("core.checkStat", "minimal")):
            subprocess.run(["git", "-C", str(root), "config", name, value], check=True)
    if how == "git, index written before":
        age_index(root)  # the edit below is in a later second than git's record: ctime tells
    # else: the edit may fall in the second git recorded the file, where git's own
    # check cannot see it; the cache keeps no search of such a fresh index.
    assert '"status": "tagged"' in listing(root)
    # A candidate file (its scan is cached) and a file no search matched (its
    # absence from the search result is cached): both change, stat unchanged.
    rewrite_keeping_stat(root / "kernel/a.c", SET_FILE.replace("__bpf_kfunc int a_two",
                                                               "__bpf_kfuncXint a_two"))
    rewrite_keeping_stat(root / "kernel/c.c", SHOWN)
    warm = listing(root)
    assert warm == listing(root, cache=False)
    found = {r["name"]: r["status"] for r in json.loads(warm)}
    assert found == {"a_one": "tagged", "a_two": "untagged", "c_one": "tagged"}


def test_committed_and_uncommitted_changes_are_searched_again(
        tmp_path: Path, cache_dir: Path) -> None:
    root = make_tree(tmp_path / "t")
    age_index(root)
    listing(root)
    (root / "kernel/c.c").write_text(SHOWN)  # the worktree only: a dirty file
    dirty = listing(root)
    assert '"c_one"' in dirty and dirty == listing(root, cache=False)
    subprocess.run(["git", "-C", str(root), "add", "kernel/c.c"], check=True)
    age_index(root)
    (root / "kernel/c.c").write_text(HIDDEN)  # the index holds SHOWN, the worktree not
    assert '"c_one"' not in listing(root)
    (root / "kernel/c.c").write_text(SHOWN)
    assert listing(root) == dirty  # from another index listing than the stored one
    # Out of the index, the file is no longer searched (git grep reads tracked files).
    subprocess.run(["git", "-C", str(root), "rm", "-q", "--cached", "kernel/c.c"], check=True)
    age_index(root)
    untracked = listing(root)
    assert '"c_one"' not in untracked and untracked == listing(root, cache=False)
    subprocess.run(["git", "-C", str(root), "add", "kernel/c.c"], check=True)
    age_index(root)
    assert listing(root) == dirty
    (root / "kernel/c.c").unlink()
    assert '"c_one"' not in listing(root)


def test_an_assume_unchanged_file_is_searched_as_git_grep_does(tmp_path: Path,
                                                                cache_dir: Path) -> None:
    """git grep reads an assume-unchanged entry from the index, not from the edited
    file (git's word is taken for it); a warm search must answer the same."""
    root = make_tree(tmp_path / "t")
    subprocess.run(["git", "-C", str(root), "update-index", "--assume-unchanged", "kernel/c.c"],
                   check=True)
    age_index(root)
    cold = listing(root)
    assert '"c_one"' not in cold
    (root / "kernel/c.c").write_text(SHOWN)
    assert listing(root) == listing(root, cache=False) == cold


def test_at_a_revision_only_the_commits_changes_are_searched(
        tmp_path: Path, cache_dir: Path) -> None:
    root = make_tree(tmp_path / "t")
    first = listing(root, rev="HEAD")
    (root / "kernel/c.c").write_text(SHOWN)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@e.invalid",
                    "commit", "-qam", "c"], check=True)
    second = listing(root, rev="HEAD")
    assert '"c_one"' in second and second == listing(root, rev="HEAD", cache=False)
    assert listing(root, rev="HEAD~1") == first


def test_a_damaged_entry_is_ignored_with_one_line_and_written_again(
        tmp_path: Path, cache_dir: Path) -> None:
    root = make_tree(tmp_path / "t")
    age_index(root)
    cold = listing(root)
    scans = entries(cache_dir, "scan")
    scans[0].write_bytes(scans[0].read_bytes()[:100])  # truncated
    greps = entries(cache_dir, "grep")
    data = bytearray(greps[0].read_bytes())
    data[-5] ^= 0xFF  # one flipped byte
    greps[0].write_bytes(bytes(data))
    index = discover(root)
    notes = [w for w in index.warnings if w.startswith("index cache")]
    assert len(notes) == 2 and all("\n" not in w and "ignored" in w for w in notes)
    assert json.dumps([r.to_json() for r in records(index)], indent=2) == cold
    again = discover(root)  # both were written again, whole
    assert not [w for w in again.warnings if w.startswith("index cache")]


def test_an_entry_under_another_files_key_is_never_used(
        tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "t")
    cold = listing(root)
    store = Store(cache_dir, print)
    a_key = ("scan", "kernel/a.c", blob_id((root / "kernel/a.c").read_bytes()))
    other = ("scan", "kernel/a.c", blob_id(b"something else"))
    # The scan of a.c filed where the scan of other bytes belongs (a name collision,
    # a copied file): its stored key says what it is, so it is not used.
    store.path("scan", store.name(*other)).parent.mkdir(parents=True, exist_ok=True)
    store.path("scan", store.name(*a_key)).rename(store.path("scan", store.name(*other)))
    assert store.load("scan", other) is None
    assert listing(root) == cold


def test_runs_at_once_share_the_cache_without_damage(tmp_path: Path, cache_dir: Path) -> None:
    root = make_tree(tmp_path / "t")
    expected = listing(root, cache=False)
    assert not cache_dir.exists()
    cmd = [sys.executable, "-m", "kfuncfix", "list", "--format", "json", str(root)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for _ in range(2)]
    outs = [p.communicate() for p in procs]
    assert [o.decode().rstrip("\n") for o, _ in outs] == [expected, expected]
    assert [e for _, e in outs] == [b"", b""]
    index = discover(root)
    assert not index.warnings and not list(cache_dir.rglob(".tmp-*"))


def test_no_cache_writes_nothing(tmp_path: Path, cache_dir: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "t")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-m", "kfuncfix", "list", "--no-cache", str(root)],
                         capture_output=True, env=env)
    assert out.returncode == 0 and b"a_two" in out.stdout
    monkeypatch.setenv("KFUNCFIX_NO_CACHE", "1")
    listing(root)
    assert not cache_dir.exists()


def test_check_no_cache_writes_nothing_in_any_mode(tmp_path: Path, cache_dir: Path) -> None:
    """`check --no-cache`, of the tree, of a commit and of a patch: no index or
    search cache is read or written."""
    root = make_tree(tmp_path / "t")
    (root / "kernel/c.c").write_text(SHOWN)
    subprocess.run(["git", "-C", str(root), "commit", "-qam", "show c_one"], check=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org",
                            GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.org"))
    patch = subprocess.run(["git", "-C", str(root), "format-patch", "-1", "--stdout"],
                           capture_output=True, check=True).stdout
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for args, stdin in ((["."], None), (["--git", "HEAD", "."], None),
                        (["--patch", "-", "."], patch)):
        out = subprocess.run([sys.executable, "-m", "kfuncfix", "check", "--no-cache", *args],
                             cwd=root, input=stdin, capture_output=True, env=env)
        assert out.returncode in (0, 1), out.stderr
        assert not cache_dir.exists(), args
    # Without the flag the same commit does use it.
    subprocess.run([sys.executable, "-m", "kfuncfix", "check", "--git", "HEAD", "."],
                   cwd=root, capture_output=True, env=env)
    assert entries(cache_dir, "scan")


def test_a_cache_others_can_write_is_not_used(tmp_path: Path, cache_dir: Path) -> None:
    root = make_tree(tmp_path / "t")
    cache_dir.mkdir()
    cache_dir.chmod(0o777)
    index = discover(root)
    assert [w for w in index.warnings if "index cache" in w] == [
        f"index cache {cache_dir}: writable by another user: not used"]
    assert not list(cache_dir.iterdir())


def test_the_cache_keeps_under_its_cap(tmp_path: Path) -> None:
    store = Store(tmp_path / "c", print, max_bytes=40_000)
    for n in range(20):
        store.save("scan", ("scan", f"f{n}.c", "0" * 40), b"x" * 5000)
        os.utime(store.path("scan", store.name("scan", f"f{n}.c", "0" * 40)), (n, n))
    store.trim()
    kept = entries(tmp_path / "c", "scan")
    assert sum(p.stat().st_size for p in kept) <= 40_000
    assert store.load("scan", ("scan", "f19.c", "0" * 40)) == b"x" * 5000  # the newest stay
    assert store.load("scan", ("scan", "f0.c", "0" * 40)) is None


def test_blob_id_is_gits(tmp_path: Path) -> None:
    data = b"int x;\r\n\xff\x00tail"
    (tmp_path / "f").write_bytes(data)
    out = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True,
                         text=True, check=True)
    assert blob_id(data) == out.stdout.strip()


def test_a_frozen_scan_answers_as_the_scan(tmp_path: Path) -> None:
    import pickle

    deep = 3000  # a pickle of linked branches would recurse this deep
    text = ("#ifdef A\nint a(void) { return 0; }\n#elif defined(B)\nint b(void) {}\n"
            "#else\n#if 0\nint dead(void) {}\n#endif\nint c(void) {}\n#endif\n"
            + "#if X\n" * deep + "int d(void) {}\n" + "#endif\n" * deep).encode()
    src = scan("f.c", text)
    back = thaw(pickle.loads(pickle.dumps(freeze(src))), "f.c", text)
    for offset in range(0, len(text), 7):
        assert back.condition_at(offset) == src.condition_at(offset)
        assert back.is_dead(offset) == src.is_dead(offset)
    assert back.functions == src.functions and back.closer == src.closer
    assert back.masked == src.masked and back.directives == src.directives


def test_a_patch_over_a_commit_is_not_stored_as_the_commit(
        tmp_path: Path, cache_dir: Path) -> None:
    root = make_tree(tmp_path / "t")
    (root / "kernel/c.c").write_text(SHOWN)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@e.invalid",
                    "commit", "-qam", "c"], check=True)
    listing(root, rev="HEAD~1")  # stored: the parent's tree
    patched = discover(root, {"kernel/c.c": HIDDEN.encode()}, rev="HEAD")  # check --patch
    assert "c_one" not in {k.name for k in patched.kfuncs}
    at_head = listing(root, rev="HEAD")
    assert '"c_one"' in at_head and at_head == listing(root, rev="HEAD", cache=False)
