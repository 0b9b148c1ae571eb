"""Hostile input: symbolic links, rule files, odd file names, and unusable output directories.

* Links inside the tree (to files and directories outside it, to a file of
  the tree, loops, dangling) are never read as files of the tree, so each
  kfunc is listed once and nothing outside the tree is rewritten, whether
  discovery searches with git grep, GNU grep or Python.
* Rule files are TOML data: any value of any type gives a Rule or a
  RuleError naming the file and key; a rule never names a path that leaves
  the tree; its texts are never run, whatever shell syntax they hold.
* Names reach git and perl only as argument lists (checked on the source
  code), and files named `--foo.c`, with spaces, with UTF-8 or with
  non-UTF-8 bytes work through list, diff, apply and series.
* An output directory that is a file, cannot be created, is read-only or
  fills up gives one clear error and leaves no patch file behind.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kfuncfix
from kfuncfix.cli import main
from kfuncfix.cli.series import build_from_plan
from kfuncfix.engine import RuleError, parse_rule
from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs import formatpatch
from kfuncfix.pipeline import Request, run_plan
from kfuncfix.sample import copy_sample_tree
from tests.conftest import builtin_rule_text, git_init
from tests.rewrite_helper import kfunc_source, read_tree, small_tree

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATE = "2024-01-01 00:00 +0000"
SENDER = "Test Sender <sender@example.org>"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def kfunc_file(name: str, set_name: str) -> str:
    return kfunc_source(f"\nnoinline int {name}(int x)\n{{\n\treturn x;\n}}\n", [name], set_name)


# -- symbolic links ----------------------------------------------------------


def linked_tree(root: Path) -> tuple[Path, Path]:
    """A tree with one real kfunc file and links of every kind; returns (tree, outside)."""
    outside = root / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "x.c").write_text(kfunc_file("f_out", "out_ids"))
    (outside / "dir" / "y.c").write_text(kfunc_file("f_dir", "dir_ids"))
    tree = small_tree(root / "tree", {"kernel/a.c": kfunc_file("f_a", "a_ids")})
    kernel = tree / "kernel"
    (kernel / "link.c").symlink_to("a.c")  # a second name for a file of the tree
    (kernel / "out.c").symlink_to(outside / "x.c")
    (kernel / "outdir").symlink_to(outside / "dir", target_is_directory=True)
    (kernel / "loop").symlink_to("..", target_is_directory=True)
    (kernel / "self.c").symlink_to("self.c")
    (kernel / "dangling.c").symlink_to("missing.c")
    return tree, outside


def links_of(tree: Path) -> dict[str, str]:
    return {str(p.relative_to(tree)): os.readlink(p) for p in sorted(tree.rglob("*"))
            if p.is_symlink() and ".git" not in p.parts}


@pytest.mark.parametrize("search", ["git grep", "grep", "python"])
def test_links_are_listed_once_and_never_written_through(
        search: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree, outside = linked_tree(tmp_path)
    if search == "git grep":
        git_init(tree)
    elif search == "python":
        monkeypatch.setattr("kfuncfix.treefiles.shutil.which", lambda name: None)
    links, outside_before = links_of(tree), read_tree(outside)

    listed = run("list", "--format", "json", str(tree))
    assert listed.exit_code == 0, listed.output
    assert [(r["name"], r["file"]) for r in json.loads(listed.stdout)] == [
        ("f_a", "kernel/a.c")]

    applied = run("apply", str(tree))
    assert applied.exit_code == 0, applied.output
    assert b"__bpf_kfunc int f_a(int x)" in (tree / "kernel/a.c").read_bytes()
    assert links_of(tree) == links
    assert read_tree(outside) == outside_before


@pytest.mark.parametrize("git", [True, False])
def test_a_linked_header_is_never_written(git: bool, tmp_path: Path) -> None:
    """The definition goes to include/linux/btf.h; when that is a link, nothing is written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "btf.h").write_text("#ifndef _BTF_H\n#define _BTF_H\n#define KF_ACQUIRE 1\n"
                                   "#endif\n")
    tree = small_tree(tmp_path / "tree", {"kernel/a.c": kfunc_file("f_a", "a_ids")})
    (tree / "include/linux").mkdir(parents=True)
    (tree / "include/linux/btf.h").symlink_to(outside / "btf.h")
    if git:
        git_init(tree)
    before, outside_before = read_tree(tree), read_tree(outside)
    result = run("apply", "--with-definition", str(tree))
    assert result.exit_code in (1, 2), result.output
    assert "symbolic link" in result.stderr or "not a file of" in result.stderr
    assert read_tree(tree) == before and read_tree(outside) == outside_before


def test_a_rule_header_that_leads_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.h").write_text("#define KF_X 1\n")
    tree = small_tree(tmp_path / "tree", {"kernel/a.c": kfunc_file("f_a", "a_ids")})
    (tree / "include").mkdir()
    (tree / "include/evil.h").symlink_to(outside / "evil.h")
    rule = builtin_rule_text("bpf_kfunc_tag").replace('header = "include/linux/btf.h"',
                                                      'header = "include/evil.h"')
    (tmp_path / "evil.toml").write_text(rule)
    before, outside_before = read_tree(tree), read_tree(outside)
    result = run("apply", "--with-definition", "--rule", str(tmp_path / "evil.toml"), str(tree))
    assert result.exit_code == 2
    assert "include/evil.h: not a file of" in result.stderr
    assert read_tree(tree) == before and read_tree(outside) == outside_before


# -- rule files ----------------------------------------------------------------


def toml_value(value: Any) -> str:
    """A TOML rendering of strings, ints, bools, floats, lists and tables (inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in data.items())


BUILTIN = {n: tomllib.loads(builtin_rule_text(n)) for n in
           ("bpf_kfunc_tag", "bpf_kfunc_macro", "kfunc_defs_block", "btf_kfuncs_set")}
HOSTILE_TEXT = st.lists(st.sampled_from(list("./\\~$`;|&(){}%!a_Z0 \n\t\"'") + [
    "..", "/etc/passwd", "${HOME}", "$(id)", "\x00", "é", "\u202e", "linux/btf.h", "x.h"]),
    max_size=8).map("".join)
VALUES = st.recursive(
    st.one_of(HOSTILE_TEXT, st.integers(-2**63, 2**63 - 1), st.booleans(),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["type", "text", "header", "x"]),
                                            inner, max_size=3)),
    max_leaves=6)


def paths(where: dict[str, Any], prefix: tuple = ()) -> list[tuple]:
    """Every key path in a rule's data, tables and arrays of tables included."""
    out = []
    for key, value in where.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out += paths(value, (*prefix, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out += paths(item, (*prefix, key, i))
    return out


@st.composite
def mutated_rule(draw: st.DrawFn) -> dict[str, Any]:
    data = json.loads(json.dumps(BUILTIN[draw(st.sampled_from(sorted(BUILTIN)))]))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(data)))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["run", "command", "exec", "path"]))] = draw(VALUES)
        else:
            parent[path[-1]] = draw(VALUES)
        if not paths(data):
            break
    return data


def inside(header: str) -> bool:
    path = PurePosixPath(header)
    return (not path.is_absolute() and ".." not in path.parts and "\\" not in header
            and "\0" not in header and os.path.normpath("/tree/" + header).startswith("/tree/"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_rule())
def test_any_rule_data_gives_a_rule_or_a_clear_error(data: dict[str, Any]) -> None:
    try:
        rule = parse_rule(toml_document(data).encode(), "own.toml")
    except RuleError as exc:
        message = str(exc)
        assert message.startswith("own.toml: ") and "\n" not in message.split(": ", 2)[1]
        return
    if rule.definition is not None:
        assert inside(rule.definition.header) and rule.definition.header.endswith(".h")
        assert rule.definition.doc_file is None or inside(rule.definition.doc_file)
    for action in rule.actions:
        header = getattr(action, "header", None)
        assert header is None or inside(header)


def test_rule_texts_are_never_run(tmp_path: Path) -> None:
    """Shell syntax in a rule's texts reaches the commits as text, and runs nothing."""
    marker = tmp_path / "ran"
    shell = f"$(touch {marker}) `touch {marker}`; touch {marker} | touch {marker}"
    rule = builtin_rule_text("bpf_kfunc_tag").replace(
        'commit_body = """\n', f'commit_body = """\n{shell}\n\n', 1)
    (tmp_path / "shell.toml").write_text(rule)
    tree = git_init(copy_sample_tree(tmp_path / "tree"))
    out = tmp_path / "out"
    result = run("series", str(tree), "-o", str(out), "--rule", str(tmp_path / "shell.toml"),
                 "--date", DATE, "--from", SENDER, "--no-maintainers")
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    # Bodies are reflowed to 72 columns: compare with the line breaks undone.
    assert any(shell in " ".join(p.read_text().split()) for p in out.glob("*.patch"))


def test_no_command_goes_through_a_shell() -> None:
    """Every process the package starts gets an argument list, never a shell line."""
    found = []
    for source in sorted(Path(kfuncfix.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            where = f"{source.name}:{node.lineno}: {name}"
            if name in ("os.system", "os.popen", "eval", "exec") or name.startswith(
                    ("os.exec", "os.spawn", "commands.")):
                found.append(where)
            if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant)
                                             and k.value.value is False) for k in node.keywords):
                found.append(f"{where} with shell=")
            starts_process = name.startswith("subprocess.") or name.endswith(".execute")
            if starts_process and node.args and isinstance(node.args[0],
                                                           ast.Constant | ast.JoinedStr):
                found.append(f"{where} with a string command")
    assert found == []


# -- odd file names ------------------------------------------------------------

ODD_NAMES = {
    "--top.c": "f_top",
    "kernel/--foo.c": "f_dash",
    "kernel/with space/a b.c": "f_space",
    "kernel/caf\u00e9/\u00fcber.c": "f_utf8",
    os.fsdecode(b"kernel/lat\xe9.c"): "f_latin",
}


@pytest.fixture(scope="module")
def odd_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample tree (a git repository) with kfuncs in files with odd names."""
    root = copy_sample_tree(tmp_path_factory.mktemp("odd") / "tree")
    for i, (rel, name) in enumerate(ODD_NAMES.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kfunc_file(name, f"odd{i}_ids"))
    return git_init(root)


def worktree_copy(tree: Path, dest: Path) -> Path:
    shutil.copytree(tree, dest, symlinks=True)
    return dest


def test_odd_names_are_listed(odd_tree: Path) -> None:
    result = run("list", "--format", "json", str(odd_tree))
    assert result.exit_code == 0, result.output
    files = {r["name"]: r["file"] for r in json.loads(result.stdout)}
    assert {name: files.get(name) for name in ODD_NAMES.values()} == {
        name: rel for rel, name in ODD_NAMES.items()}


def test_odd_names_diff_applies_as_apply_writes(odd_tree: Path, tmp_path: Path) -> None:
    diff = run("diff", str(odd_tree))
    assert diff.exit_code == 0, diff.output
    for rel in ODD_NAMES:
        assert b"+++ b/" + os.fsencode(rel) in diff.stdout_bytes

    by_git = worktree_copy(odd_tree, tmp_path / "by-git")
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp_path))
    subprocess.run(["git", "apply", "-"], input=diff.stdout_bytes, cwd=by_git, check=True,
                   env=env, capture_output=True)
    by_us = worktree_copy(odd_tree, tmp_path / "by-us")
    applied = run("apply", str(by_us))
    assert applied.exit_code == 0, applied.output
    ours, theirs = read_tree(by_us), read_tree(by_git)
    assert {p: d for p, d in ours.items() if not p.startswith(".git/")} == {
        p: d for p, d in theirs.items() if not p.startswith(".git/")}
    for rel, name in ODD_NAMES.items():
        assert f"__bpf_kfunc int {name}(int x)".encode() in ours[rel]


def test_odd_names_make_a_series_that_applies(odd_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("series", str(odd_tree), "-o", str(out), "--split", "file", "--check",
                 "--date", DATE, "--from", SENDER)
    assert result.exit_code == 0, result.output
    assert "series check passed" in result.stderr
    patches = sorted(out.glob("*.patch"))
    text = b"".join(p.read_bytes() for p in patches)
    for name in ODD_NAMES.values():
        assert f"+__bpf_kfunc int {name}(int x)".encode() in text
    # Messages are UTF-8 text: the undecodable byte of a name is shown, not lost.
    assert any("lat\\xe9.c" in p.read_text(encoding="utf-8") for p in patches)


# -- output directories ----------------------------------------------------------


@pytest.fixture(scope="module")
def series_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return git_init(copy_sample_tree(tmp_path_factory.mktemp("series") / "tree"))


def series(tree: Path, out: Path, *more: str):
    return run("series", str(tree), "-o", str(out), "--split", "file", "--date", DATE,
               "--from", SENDER, *more)


def patch_files(out: Path) -> list[Path]:
    return sorted(out.glob("*.patch")) if out.is_dir() else []


def test_output_that_is_a_file(series_tree: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("mine\n")
    result = series(series_tree, target)
    assert (result.exit_code, result.stderr) == (
        2, f"kfuncfix: error: {target} exists and is not a directory\n")
    assert target.read_text() == "mine\n"
    below = series(series_tree, target / "sub")
    assert below.exit_code == 2 and "Not a directory" in below.stderr


@pytest.mark.parametrize("where", ["/proc/kfuncfix-out", "/proc/self", "/sys/kernel/kfuncfix"])
def test_output_that_cannot_be_written(series_tree: Path, where: str) -> None:
    result = series(series_tree, Path(where))
    assert result.exit_code == 2
    assert re.fullmatch(rf"kfuncfix: error: (cannot create {where}: .+|{where} is not writable"
                        rf"|cannot write to {where}: .+)\n", result.stderr), result.stderr


def mounted_tmpfs(path: Path, options: str) -> bool:
    """Mount a tmpfs at path (root in a container that allows it); False when not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


def unmount(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=True)


def test_read_only_output(series_tree: Path, tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    if not mounted_tmpfs(mount, "ro,size=64k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        for out in (mount, mount / "sub"):
            result = series(series_tree, out)
            assert result.exit_code == 2
            assert "Read-only file system" in result.stderr or "not writable" in result.stderr
            assert patch_files(out) == []
    finally:
        unmount(mount)


def test_full_disk_never_leaves_part_of_a_series(series_tree: Path, tmp_path: Path) -> None:
    """On a real full file system, at every page of free space: the whole series or nothing."""
    mount = tmp_path / "full"
    if not mounted_tmpfs(mount, "size=128k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        whole = series(series_tree, mount / "probe")
        assert whole.exit_code == 0, whole.output
        count = len(patch_files(mount / "probe"))
        pages = sum(-(-p.stat().st_size // 4096) for p in patch_files(mount / "probe"))
        shutil.rmtree(mount / "probe")
        outcomes = set()
        for free_pages in range(0, pages + 3):
            filler = mount / "filler"
            filler.unlink(missing_ok=True)
            free = shutil.disk_usage(mount).free
            with filler.open("wb") as handle:
                handle.write(b"\0" * max(0, free - free_pages * 4096))
            result = series(series_tree, mount / "out")
            made = patch_files(mount / "out")
            if result.exit_code == 0:
                assert len(made) == count and all(p.read_bytes().endswith(b"\n") for p in made)
                outcomes.add("whole")
            else:
                assert result.exit_code == 2 and result.stderr.startswith("kfuncfix: error: ")
                assert made == [], result.stderr
                assert not list((mount / "out").glob(".kfuncfix-*"))  # no scratch left
                outcomes.add("nothing")
            shutil.rmtree(mount / "out", ignore_errors=True)
        assert outcomes == {"whole", "nothing"}
    finally:
        unmount(mount)


def enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_while_editing_git_output(series_tree: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        # Only the edits of git's files in the scratch directory fill the disk.
        if ".kfuncfix-" in str(self):
            calls["n"] += 1
            if calls["n"] == 3:
                enospc()
        return real(self, data)

    monkeypatch.setattr(formatpatch.Path, "write_bytes", write_bytes)
    out = tmp_path / "out"
    result = series(series_tree, out)
    assert result.exit_code == 2
    assert result.stderr == (f"kfuncfix: error: cannot write the series to {out}: No space left "
                             "on device; no patch file was left there\n")
    assert patch_files(out) == [] and list(out.iterdir()) == []


@pytest.mark.parametrize("nth", [0, 2, 5])
def test_failure_while_moving_the_series_in_takes_it_back(
        series_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "0001-old.patch").write_text("an older series\n")
    calls = {"n": 0}
    real = os.replace

    def replace(src: str, dst: str) -> None:
        if Path(dst).parent == out:
            if calls["n"] == nth:
                enospc()
            calls["n"] += 1
        real(src, dst)

    monkeypatch.setattr(formatpatch.os, "replace", replace)
    result = series(series_tree, out, "--force")
    assert result.exit_code == 2
    assert "no patch file was left there" in result.stderr
    # Not a part of the new series, not a mix with the old; a file of another name stays.
    assert patch_files(out) == [out / "0001-old.patch"]
    assert (out / "0001-old.patch").read_text() == "an older series\n"


def test_a_file_git_wrote_short_is_refused(series_tree: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """git format-patch does not check its writes: cut each file it wrote, at many places.

    (A cut that takes only the signature's last newline leaves a complete
    mail and is not looked for.)
    """
    run = run_plan(Request(series_tree, ("bpf_kfunc_tag",), rev="HEAD"))
    built = build_from_plan(series_tree, run, "file", "HEAD", SENDER, DATE)
    assert built is not None
    options = formatpatch.MailOptions(date=DATE)
    sizes = [p.stat().st_size for p in formatpatch.write_series(
        built[0], tmp_path / "whole", options)]
    real = formatpatch.run_git
    for index, size in enumerate(sizes):
        for cut in sorted({0, 1, size // 3, size // 2, size - 40}):
            def run_git(repo, args, *, env=None, stdin=None, index=index, cut=cut):
                listed = real(repo, args, env=env, stdin=stdin)
                if args[0] == "format-patch":
                    victim = Path(listed.splitlines()[index])
                    victim.write_bytes(victim.read_bytes()[:cut])
                return listed

            monkeypatch.setattr(formatpatch, "run_git", run_git)
            out = tmp_path / f"out-{index}-{cut}"
            with pytest.raises(KfuncfixError, match="incomplete .is .* full..; no patch file"):
                formatpatch.write_series(built[0], out, options)
            assert patch_files(out) == []
