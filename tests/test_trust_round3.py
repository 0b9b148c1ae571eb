"""Trust, round three (issue 18): what the tool adds, reads and hands to git.

* A tree already tagged by a plain `apply` still gets the macro's definition
  from `apply --with-definition` (and `diff`, `series`, `apply --branch`): the
  definition is needed because the tree uses the macro, not because this run
  changes a kfunc.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfuncfix.cli import main
from kfuncfix.sample import copy_sample_tree
from tests.conftest import git_init

DATE = "2024-01-01 00:00 +0000"
SENDER = "Test Sender <sender@example.org>"
IDENT = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENT, "-C", str(root), *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return git_init(copy_sample_tree(tmp_path_factory.mktemp("template") / "tree"))


@pytest.fixture
def sample(template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "tree"
    subprocess.run(["git", "clone", "-q", str(template), str(dest)], check=True)
    return dest


# -- 5: the definition of a macro the tree already uses ----------------------------


@pytest.fixture
def tagged(sample: Path) -> Path:
    """The sample tree after a plain `apply`, committed: tagged, and no definition."""
    done = run("apply", str(sample))
    assert done.exit_code == 0, done.output
    git(sample, "commit", "-q", "-am", "tag kfuncs")
    assert b"define __bpf_kfunc" not in (sample / "include/linux/btf.h").read_bytes()
    return sample


def test_apply_with_definition_on_a_tagged_tree_adds_the_definition(tagged: Path) -> None:
    done = run("apply", "--with-definition", str(tagged))
    assert done.exit_code == 0, done.output
    assert b"#define __bpf_kfunc" in (tagged / "include/linux/btf.h").read_bytes()
    assert "0 files changed" not in done.output
    # Once there, a second run has nothing left to add.
    again = run("apply", "--with-definition", str(tagged))
    assert again.exit_code == 0 and "0 files changed" in again.output


def test_plain_apply_on_a_tagged_tree_says_the_definition_is_missing(tagged: Path) -> None:
    done = run("apply", str(tagged))
    assert done.exit_code == 0
    assert "does not define __bpf_kfunc" in done.output


def test_diff_with_definition_on_a_tagged_tree(tagged: Path) -> None:
    done = run("diff", "--with-definition", str(tagged))
    assert done.exit_code == 0, done.output
    assert "+#define __bpf_kfunc" in done.output


def test_series_on_a_tagged_tree_is_the_definition_patch(tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("series", str(tagged), "-o", str(out), "--date", DATE, "--from", SENDER)
    assert done.exit_code == 0, done.output
    patches = sorted(out.glob("*.patch"))
    assert len(patches) == 1, patches
    assert "+#define __bpf_kfunc" in patches[0].read_text()


def test_apply_branch_on_a_tagged_tree_commits_the_definition(tagged: Path) -> None:
    done = run("apply", str(tagged), "--branch", "def", "--date", DATE, "--from", SENDER)
    assert done.exit_code == 0, done.output
    assert "#define __bpf_kfunc" in git(tagged, "show", "def:include/linux/btf.h")
    assert git(tagged, "rev-list", "--count", "master..def").strip() == "1"


def test_b4_branch_on_a_tagged_tree_commits_the_definition(tagged: Path) -> None:
    git(tagged, "config", "user.email", "test@example.invalid")
    git(tagged, "config", "user.name", "Test")
    done = run("apply", str(tagged), "--branch", "def", "--b4")
    assert done.exit_code == 0, done.output
    assert "#define __bpf_kfunc" in git(tagged, "show", "def:include/linux/btf.h")


# -- 8: no value of a user reaches git as an option ----------------------------------

HOSTILE = ["--output={sent}/out", "-x", "--exec=touch {sent}/exec", "-o{sent}/dir"]
# Every option whose value reaches a git command line (a revision, a range, a branch,
# a path, a date) or a commit (a trailer, an address); `=` attaches the value, so
# click takes it as the option's even when it looks like an option itself.
GIT_OPTIONS = [
    ("check", "--git"),
    ("series -o {out}", "--base"),
    ("series -o {out} -v2", "--range-diff"),
    ("series -o {out}", "--from-branch"),
    ("series -o {out}", "--link"),
    ("series -o {out}", "--in-reply-to"),
    ("series -o {out}", "--to"),
    ("series -o {out}", "--cc"),
    ("series -o {out}", "--from"),
    ("series -o {out}", "--date"),
    ("series -o {out} -v2", "--changes"),
    ("series -o {out} --cover", "--cover-from"),
    ("series -o {out} --build", "--build-dir"),
    ("series -o {out}", "--config"),
    ("apply", "--branch"),
    ("apply --branch b", "--base"),
    ("apply --branch b", "--date"),
    ("apply --branch b", "--from"),
    ("apply --branch b --build", "--build-dir"),
    ("apply --branch b --build", "--build-config"),
]


def one_line_error(output: str) -> bool:
    errors = [ln for ln in output.splitlines() if "error" in ln.lower()]
    return "Traceback" not in output and len(errors) == 1


@pytest.fixture(scope="module")
def target(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clone for every refused run (a refused run writes nothing: checked)."""
    dest = tmp_path_factory.mktemp("target") / "tree"
    subprocess.run(["git", "clone", "-q", str(template), str(dest)], check=True)
    git(dest, "config", "user.email", "test@example.invalid")
    git(dest, "config", "user.name", "Test")
    return dest


@pytest.mark.parametrize(("command", "option"), GIT_OPTIONS,
                         ids=[f"{c.split()[0]}{o}" for c, o in GIT_OPTIONS])
def test_option_like_values_never_reach_git(target: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, command: str,
                                            option: str) -> None:
    for n, value in enumerate(HOSTILE):
        sent = tmp_path / f"sentinel{n}"
        sent.mkdir()
        monkeypatch.chdir(sent)  # a relative `-x` would land here
        out = tmp_path / f"out{n}"
        args = [*command.format(out=out).split(), f"{option}={value.format(sent=sent)}",
                str(target)]
        done = run(*args)
        assert done.exit_code == 2, (args, done.output)
        assert one_line_error(done.output), done.output
        assert list(sent.iterdir()) == [], f"{args}: a file was made from an option value"
        assert not out.exists() or list(out.iterdir()) == []
        assert git(target, "status", "--porcelain") == ""
        assert git(target, "branch", "--list", "b") == ""


# -- 14: files a user names are regular files of a sane size ----------------------


def kfuncfix_child(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """kfuncfix in a child with a timeout and 2 GiB of address space: a read without
    end fails the test instead of hanging it or filling the machine's memory."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([sys.executable, "-m", "kfuncfix", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd, preexec_fn=limit)


def not_regular(tmp_path: Path, kind: str) -> Path:
    if kind == "zero":
        return Path("/dev/zero")
    if kind == "fifo":
        fifo = tmp_path / "fifo.toml"
        os.mkfifo(fifo)
        return fifo
    if kind == "dir":
        (tmp_path / "dir.toml").mkdir()
        return tmp_path / "dir.toml"
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (8 << 20) + b"\n")
    return big


KINDS = ["zero", "fifo", "dir", "big"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["--rule", "config rule", "--config", "tree config",
                                 "--changes", "--cover-from"])
def test_named_files_are_regular_and_small(sample: Path, tmp_path: Path, kind: str,
                                           how: str) -> None:
    path = not_regular(tmp_path, kind)
    out = str(tmp_path / "out")
    if how == "--rule":
        args = ["diff", "--rule", str(path), str(sample)]
    elif how == "config rule":
        (sample / ".kfuncfix.toml").write_text(f'rule = "{path}"\n')
        args = ["diff", str(sample)]
    elif how == "--config":
        args = ["series", "-o", out, "--config", str(path), str(sample)]
    elif how == "tree config":  # the tree's own .kfuncfix.toml is a link to it
        (sample / ".kfuncfix.toml").symlink_to(path)
        args = ["diff", str(sample)]
    elif how == "--changes":
        args = ["series", "-o", out, "-v2", "--cover", "--changes", str(path), str(sample)]
    else:
        args = ["series", "-o", out, "--cover-from", str(path), str(sample)]
    if kind == "zero":  # would eat memory if it were read: in a child, with limits
        child = kfuncfix_child(*args)
        code, output = child.returncode, child.stderr
    else:  # a FIFO would block: an alarm ends the test instead
        with alarm(30):
            done = run(*args)
        code, output = done.exit_code, done.output
    assert code == 2, output
    assert one_line_error(output), output
    assert any(why in output for why in ("must be a regular file", "larger than",
                                         "is a directory"))


@contextlib.contextmanager
def alarm(seconds: int) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds}s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# -- 15: bytes that are not what they should be ------------------------------------


def test_changes_file_that_is_not_utf8_is_a_one_line_error(sample: Path, tmp_path: Path,
                                                          ) -> None:
    changes = tmp_path / "changes.txt"
    changes.write_bytes(b"v2:\n- caf\xe9\n")
    done = run("series", str(sample), "-o", str(tmp_path / "out"), "-v2", "--cover",
               "--changes", str(changes), "--from", SENDER, "--date", DATE)
    assert done.exit_code == 2, done.output
    assert one_line_error(done.output) and "not UTF-8" in done.output
    assert "line 2" in done.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("garbage", [b"{not json", b"\xff\xfe", b"[1, 2]", b""])
def test_an_unreadable_build_stamp_starts_the_directory_afresh(
        tmp_path: Path, garbage: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from kfuncfix.outputs.build import _ConfigRun

    where = tmp_path / "build" / "cfg"
    (where / "out").mkdir(parents=True)
    (where / "out" / "old.o").write_bytes(b"stale")
    (where / "results").mkdir()
    (where / "stamp.json").write_bytes(garbage)
    said: list[str] = []
    run_ = SimpleNamespace(where=where, out=where / "out", cache=where / "results",
                           base="b" * 40, config=SimpleNamespace(digest=lambda: "cfg"),
                           progress=said.append)
    _ConfigRun._check_stamp(run_)  # type: ignore[arg-type]
    assert not (where / "out" / "old.o").exists()
    assert json.loads((where / "stamp.json").read_text())["base"] == "b" * 40
    err = capsys.readouterr().err
    assert "Traceback" not in err and len([ln for ln in err.splitlines() if ln]) <= 1


def test_unreadable_cached_results_are_compiled_again(tmp_path: Path) -> None:
    from kfuncfix.outputs.buildcache import ResultCache

    cache = ResultCache(tmp_path / "results", ["salt"])
    (tmp_path / "results" / "deps").mkdir(parents=True)
    (tmp_path / "results" / "deps" / "kernel%a.o.json").write_bytes(b"[[\"x\"")
    (tmp_path / "results" / "objects").mkdir()
    (tmp_path / "results" / "objects" / "k.json").write_bytes(b"{\"obj\": 1")
    assert cache._manifest("kernel/a.o") == []
    assert cache._load("k") is None


# -- 18: series --from-branch takes any branch a user could have made --------------


def branch_from_apply(tree: Path, name: str = "tags") -> None:
    git(tree, "config", "user.email", "test@example.invalid")
    git(tree, "config", "user.name", "Test")
    done = run("apply", str(tree), "--branch", name, "--date", DATE)
    assert done.exit_code == 0, done.output


def from_branch(tree: Path, out: Path, *extra: str, branch: str = "tags"):
    return run("series", str(tree), "-o", str(out), "--from-branch", branch, "--date", DATE,
               *extra)


def test_from_branch_with_a_renamed_file(sample: Path, tmp_path: Path) -> None:
    branch_from_apply(sample)
    git(sample, "checkout", "-q", "tags")
    git(sample, "mv", "net/netfilter/nf_flowmark_bpf.c", "net/netfilter/nf_fm_bpf.c")
    git(sample, "commit", "-qm", "netfilter: rename nf_flowmark_bpf.c")
    git(sample, "checkout", "-q", "master")
    done = from_branch(sample, tmp_path / "out", "--no-cover")
    assert done.exit_code == 0, done.output
    patches = sorted((tmp_path / "out").glob("*.patch"))
    assert "rename to net/netfilter/nf_fm_bpf.c" in patches[-1].read_text()
    # Whatever git's diff.renames says, the check and the mail agree.
    git(sample, "config", "diff.renames", "copies")
    again = from_branch(sample, tmp_path / "out2", "--no-cover")
    assert again.exit_code == 0, again.output


def test_from_branch_with_a_file_new_on_the_branch_and_a_cover(sample: Path,
                                                                tmp_path: Path) -> None:
    branch_from_apply(sample)
    git(sample, "checkout", "-q", "tags")
    (sample / "kernel/new_on_branch.c").write_text("int x;\n")
    git(sample, "add", "kernel/new_on_branch.c")
    git(sample, "commit", "-qm", "kernel: a file only the branch has")
    git(sample, "checkout", "-q", "master")
    assert not (sample / "kernel/new_on_branch.c").exists()
    done = from_branch(sample, tmp_path / "out", "--cover")
    assert done.exit_code == 0, done.output
    names = [p.name for p in sorted((tmp_path / "out").glob("*.patch"))]
    assert names[0].startswith("0000-cover-letter") and len(names) == 4


def test_from_branch_of_a_b4_branch_takes_its_cover_commit(sample: Path,
                                                           tmp_path: Path) -> None:
    git(sample, "config", "user.email", "test@example.invalid")
    git(sample, "config", "user.name", "Test")
    done = run("apply", str(sample), "--branch", "b4tags", "--b4")
    assert done.exit_code == 0, done.output
    cover_subject = git(sample, "log", "--reverse", "--format=%s", "master..b4tags"
                        ).splitlines()[0]
    made = from_branch(sample, tmp_path / "out", branch="b4tags")
    assert made.exit_code == 0, made.output
    patches = sorted((tmp_path / "out").glob("*.patch"))
    texts = [p.read_text() for p in patches]
    # The empty cover commit is the cover letter, not a patch of its own.
    assert patches[0].name.startswith("0000-cover-letter")
    assert cover_subject in texts[0]
    assert "b4-submit-tracking" not in "".join(texts)
    assert all("diff --git" in t for t in texts[1:]) and len(patches) == 3


# -- weaker spots ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://lore.kernel.org/r/x\x1b[31m", "https://lore/\x07",
                                 "https://lore/\u202eevil", "https://lore/a\u2028b",
                                 "https://lore/\x7f", "https://lore/\u00a0"])
def test_link_refuses_control_and_format_characters(sample: Path, tmp_path: Path,
                                                    url: str) -> None:
    done = run("series", str(sample), "-o", str(tmp_path / "out"), "--link", url,
               "--from", SENDER, "--date", DATE)
    assert done.exit_code == 2, done.output
    assert one_line_error(done.output) and "--link" in done.output
    assert "\x1b" not in done.output and "\x07" not in done.output


def test_link_takes_a_lore_url(sample: Path, tmp_path: Path) -> None:
    url = "https://lore.kernel.org/r/20240101.12345-1-caf\u00e9@example.org"
    done = run("series", str(sample), "-o", str(tmp_path / "out"), "--link", url,
               "--from", SENDER, "--date", DATE)
    assert done.exit_code == 0, done.output
    assert f"Link: {url}" in "".join(p.read_text() for p in (tmp_path / "out").glob("*"))


@pytest.mark.parametrize("applied", [False, True], ids=["not-applied", "applied"])
def test_check_patch_reads_a_crlf_mail_as_git_am_does(tmp_path: Path, applied: bool) -> None:
    from tests.rewrite_helper import small_tree
    from tests.test_check import BTF_H, ENV, FINDING, TAGGED, commit_kfunc
    from tests.test_check import git as git_env

    tree = git_init(small_tree(tmp_path / "linux", {"include/linux/btf.h": BTF_H,
                                                    "kernel/k.c": TAGGED}))
    commit_kfunc(tree, "bpf_new", tagged=False)
    mail = git_env(tree, "format-patch", "-1", "--stdout")
    if not applied:
        git_env(tree, "reset", "-q", "--hard", "HEAD~1")
    results = []
    for data in (mail, mail.replace(b"\n", b"\r\n")):
        results.append(subprocess.run(
            [sys.executable, "-m", "kfuncfix", "-q", "check", "--patch", "-", "."],
            cwd=tree, input=data, capture_output=True, env=ENV))
    lf, crlf = results
    assert (lf.returncode, lf.stdout.decode()) == (1, FINDING.format(line=10) + "\n")
    assert (crlf.returncode, crlf.stdout, crlf.stderr) == (lf.returncode, lf.stdout, b"")


def test_check_patch_from_an_endless_file_is_one_line(tmp_path: Path) -> None:
    """`check --patch /dev/zero` stops at a size cap instead of filling memory."""
    tree = tmp_path / "t"
    tree.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", "import resource, sys; "
         "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
         "from kfuncfix.cli import main; sys.exit(main())",
         "check", "--patch", "/dev/zero", str(tree)],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "larger than" in done.stderr
