"""Trust, mail side: what a series writes, which headers it can carry, what it runs.

* Only files of the names a run writes are replaced in the output directory
  (`series --force`, `demo`), as `git format-patch -o` does; `my-fix.patch` stays.
* `check --patch` never touches a path a patch names outside the tree (`..`,
  absolute, through a symbolic link) and reads git's C-quoted names.
* No value can add a mail header: `--to/--cc/--in-reply-to/--subject-prefix`,
  the tree's `.kfuncfix.toml`, a rule's one-line texts, recipients from
  get_maintainer.pl; each is refused in one line naming where it came from.
* A rule's `after` pattern is of a restricted form that matches in linear time.
* `series --check` says why a patch failed (a line too long for mail).
* `series` runs get_maintainer.pl as committed at the base, not the worktree's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kfuncfix.cli import main
from kfuncfix.cli.series import build_from_plan
from kfuncfix.engine import RuleError, parse_rule
from kfuncfix.engine.rule import list_rules
from kfuncfix.errors import KfuncfixError
from kfuncfix.mailheaders import check_address, check_header_value, check_message_id
from kfuncfix.outputs import formatpatch
from kfuncfix.outputs.formatpatch import MailOptions, write_series
from kfuncfix.outputs.maintainers import Recipients
from kfuncfix.pipeline import Request, run_plan
from kfuncfix.sample import copy_sample_tree
from tests.conftest import builtin_rule_text, git_init
from tests.rewrite_helper import kfunc_source, small_tree

DATE = "2024-01-01 00:00 +0000"
SENDER = "Test Sender <sender@example.org>"
INJECTED = "bpf@vger.kernel.org\nBcc: attacker@evil.example"
needs_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="needs perl")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def series(tree: Path, out: Path, *more: str) -> Result:
    return run("series", str(tree), "-o", str(out), "--date", DATE, "--from", SENDER, *more)


def patch_names(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("*.patch"))


def all_mail(out: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("0*.patch")))


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    return git_init(copy_sample_tree(tmp_path / "tree"))


# -- 3: only the files this run writes are replaced ---------------------------------


def test_series_force_replaces_only_files_of_its_own_names(
        sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert series(sample_repo, out).exit_code == 0
    ours = patch_names(out)
    (out / "my-fix.patch").write_text("my own fix\n")
    (out / ours[1]).write_text("edited by hand\n")

    refused = series(sample_repo, out)
    assert refused.exit_code == 2
    assert f"already holds {len(ours)} of the files this series writes" in refused.stderr
    assert (out / ours[1]).read_text() == "edited by hand\n"

    assert series(sample_repo, out, "--force").exit_code == 0
    assert patch_names(out) == sorted([*ours, "my-fix.patch"])
    assert (out / "my-fix.patch").read_text() == "my own fix\n"
    assert (out / ours[1]).read_text() != "edited by hand\n"


def test_series_without_force_writes_beside_other_patches(
        sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-fix.patch").write_text("my own fix\n")
    result = series(sample_repo, out)
    assert result.exit_code == 0, result.output
    assert (out / "my-fix.patch").read_text() == "my own fix\n"
    assert len(patch_names(out)) > 1


def test_demo_keeps_patches_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "my-fix.patch").write_text("my own fix\n")
    result = run("demo", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "my-fix.patch").read_text() == "my own fix\n"
    assert "0000-cover-letter.patch" in patch_names(out)


def test_failed_move_puts_back_the_file_it_was_replacing(
        sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert series(sample_repo, out).exit_code == 0
    ours = patch_names(out)
    for name in ours:
        (out / name).write_text(f"old {name}\n")
    real = os.replace
    moved = {"n": 0}

    def replace(src: str, dst: str) -> None:
        if Path(dst).parent == out:
            moved["n"] += 1
            if moved["n"] == 2:
                raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(formatpatch.os, "replace", replace)
    result = series(sample_repo, out, "--force")
    assert result.exit_code == 2
    assert patch_names(out) == ours
    assert all((out / n).read_text() == f"old {n}\n" for n in ours)


# -- 5: check --patch stays inside the tree ------------------------------------------


def one_hunk(old: str, new: str) -> str:
    return f"--- {old}\n+++ {new}\n@@ -1 +1 @@\n-original\n+changed\n"


@pytest.fixture
def patch_tree(tmp_path: Path) -> Path:
    return small_tree(tmp_path / "tree", {"kernel/a.c": kfunc_source(
        "\nnoinline int f_a(int x)\n{\n\treturn x;\n}\n", ["f_a"])})


def check_patch(tree: Path, text: str | bytes, tmp_path: Path) -> Result:
    patch = tmp_path / "in.patch"
    patch.write_bytes(text if isinstance(text, bytes) else text.encode())
    return run("check", "--patch", str(patch), str(tree))


def test_patch_path_with_dotdot_is_refused_before_any_copy(
        patch_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "victim.txt").write_text("original\n")  # tree/../victim.txt
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = check_patch(patch_tree, one_hunk("a/../victim.txt", "b/../victim.txt"), tmp_path)
    # Before: the file was copied to <tmp>/../victim.txt, then git apply refused.
    assert list(scratch.iterdir()) == []  # nothing was copied, not even the directory
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "'../victim.txt'" in result.stderr and "'..' component" in result.stderr
    assert (tmp_path / "victim.txt").read_text() == "original\n"


@pytest.mark.parametrize("header", [
    "diff --git a/x.c b/x.c\nsimilarity index 100%\nrename from ../x.c\nrename to x.c\n",
    "diff --git a/kernel/a.c b/kernel/b.c\ncopy from kernel/a.c\ncopy to ../../b.c\n",
    "diff --git a/../x.c b/../x.c\nold mode 100644\nnew mode 100755\n",
])
def test_rename_and_copy_headers_are_checked_too(
        patch_tree: Path, tmp_path: Path, header: str) -> None:
    result = check_patch(patch_tree, header, tmp_path)
    assert result.exit_code == 2
    assert "'..' component" in result.stderr


def test_absolute_patch_path_gets_a_clear_error(patch_tree: Path, tmp_path: Path) -> None:
    result = check_patch(patch_tree, one_hunk("/etc/hostname", "/etc/hostname"), tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "kfuncfix: error: the patch names the absolute path '/etc/hostname'; only paths "
        "relative to the tree are accepted (as git diff writes them)\n")


def test_patch_path_through_a_symlink_is_refused(patch_tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.c").write_text("original\n")
    (patch_tree / "kernel" / "link").symlink_to(outside, target_is_directory=True)
    result = check_patch(patch_tree, one_hunk("a/kernel/link/x.c", "b/kernel/link/x.c"),
                         tmp_path)
    assert result.exit_code == 2
    assert "symbolic link kernel/link" in result.stderr
    assert (outside / "x.c").read_text() == "original\n"


def test_patch_that_adds_a_symlink_is_not_read_through(
        patch_tree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.c"
    secret.write_text(kfunc_source("\nnoinline int f_secret(int x)\n{\n\treturn x;\n}\n",
                                   ["f_secret"], "secret_ids"))
    text = ("diff --git a/kernel/evil.c b/kernel/evil.c\nnew file mode 120000\n"
            "index 0000000..1111111\n--- /dev/null\n+++ b/kernel/evil.c\n@@ -0,0 +1 @@\n"
            f"+{secret}\n\\ No newline at end of file\n")
    result = check_patch(patch_tree, text, tmp_path)
    assert "f_secret" not in result.output
    assert result.exit_code == 2
    assert "makes kernel/evil.c a symbolic link" in result.stderr


def test_quoted_names_from_git_are_read(tmp_path: Path) -> None:
    name = "kernel/caf\u00e9.c"
    tree = git_init(small_tree(tmp_path / "tree", {name: kfunc_source(
        "\nnoinline int f_cafe(int x)\n{\n\treturn x;\n}\n", ["f_cafe"])}))
    path = tree / name
    original = path.read_text()
    path.write_text(original.replace("(int x)", "(int  x)"))  # the header: linted
    diff = subprocess.run(["git", "-C", str(tree), "diff"], check=True,
                          capture_output=True).stdout
    path.write_text(original)
    assert b'"a/kernel/caf\\303\\251.c"' in diff  # git quotes it (core.quotePath)
    result = check_patch(tree, diff, tmp_path)
    assert result.exit_code == 1, result.output
    # Printed as git prints names (core.quotePath): "kernel/caf\303\251.c".
    assert ('"kernel/caf\\303\\251.c":5: ERROR: bpf_kfunc_tag: kfunc f_cafe is not tagged '
            "__bpf_kfunc") in result.stdout


# -- 6: header injection -------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [
    ("--to", INJECTED),
    ("--cc", "a@example.org\r\n\r\nbody"),
    ("--to", "a@example.org, b@example.org"),
    ("--to", "not an address"),
    ("--in-reply-to", "<x@example.org>\nBcc: attacker@evil.example"),
    ("--in-reply-to", "no id"),
    ("--subject-prefix", "PATCH\rBcc: attacker@evil.example"),
])
def test_header_options_are_validated(sample_repo: Path, tmp_path: Path, option: str,
                                      value: str) -> None:
    out = tmp_path / "out"
    result = series(sample_repo, out, option, value)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"kfuncfix: error: {option}: ")
    assert result.stderr.count("\n") == 1
    assert patch_names(out) == []


def test_from_with_a_quoted_name_is_accepted(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = series(sample_repo, out, "--from", '"Pan, Xinhui" <x@example.org>')
    assert result.exit_code == 0, result.output
    assert 'From: "Pan, Xinhui" <x@example.org>' in all_mail(out)


def commit_config(repo: Path, text: str) -> str:
    """Commit .kfuncfix.toml (series reads it as committed at its base); the new HEAD."""
    (repo / ".kfuncfix.toml").write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", ".kfuncfix.toml"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@e.org",
                    "commit", "-q", "-m", "config"], check=True)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_config_file_cannot_add_a_header(sample_repo: Path, tmp_path: Path) -> None:
    head = commit_config(sample_repo, f"to = [{INJECTED!r}]\n".replace("'", '"'))
    out = tmp_path / "out"
    result = series(sample_repo, out)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"kfuncfix: error: .kfuncfix.toml at {head[:12]}: to: 'bpf@vger.kernel.org\\nBcc:")
    assert result.stderr.count("\n") == 1
    assert patch_names(out) == []


def test_config_file_addresses_still_reach_the_mails(sample_repo: Path, tmp_path: Path) -> None:
    commit_config(sample_repo,
                  'to = ["bpf@vger.kernel.org"]\ncc = ["David S. Miller <davem@example.org>"]\n')
    out = tmp_path / "out"
    assert series(sample_repo, out).exit_code == 0
    first = (out / "0001-bpf-Add-__bpf_kfunc-tag-for-marking-kernel-functions.patch").read_text()
    assert re.search(r"^To: bpf@vger\.kernel\.org", first, re.M)
    assert "David S. Miller <davem@example.org>" in first


def test_config_subject_prefix_with_cr_is_refused(sample_repo: Path, tmp_path: Path) -> None:
    head = commit_config(sample_repo, 'subject_prefix = "PATCH\\rX"\n')
    result = series(sample_repo, tmp_path / "out")
    assert result.exit_code == 2
    assert f".kfuncfix.toml at {head[:12]}: subject_prefix:" in result.stderr


@pytest.mark.parametrize("key", ["commit_subject", "cover_subject", "subject_prefix",
                                 "commit_prefix", "definition_subject"])
def test_rule_one_line_texts_refuse_a_bare_cr(key: str) -> None:
    text = builtin_rule_text("bpf_kfunc_tag")
    found = re.search(rf'^{key} = "([^"\n]*)"$', text, re.M)
    assert found is not None
    broken = text.replace(found[0], f'{key} = "{found[1]}\\rBcc: attacker@evil.example"')
    with pytest.raises(RuleError, match=rf"^rules/x.toml: series\.{key}: must be one "
                                        r"non-empty line: .*line break \(U\+000D\)$"):
        parse_rule(broken.encode(), "rules/x.toml")


def test_rule_description_refuses_a_bare_cr() -> None:
    text = builtin_rule_text("bpf_kfunc_tag")
    found = re.search(r'^description = "([^"\n]*)"$', text, re.M)
    assert found is not None
    broken = text.replace(found[0], 'description = "Tag\\rit"')
    with pytest.raises(RuleError, match=r"rules/x.toml: description: must be one"):
        parse_rule(broken.encode(), "rules/x.toml")


@pytest.fixture
def built(sample_repo: Path):
    run = run_plan(Request(sample_repo, ("bpf_kfunc_tag",), rev="HEAD"))
    built = build_from_plan(sample_repo, run, "none", "HEAD", SENDER, DATE)
    assert built is not None
    return built[0]


@pytest.mark.parametrize("options", [
    MailOptions(to=(INJECTED,)),
    MailOptions(cc=("a@example.org\x00",)),
    MailOptions(in_reply_to="<a@b>\r\nBcc: x@y"),
    MailOptions(subject_prefix="PATCH\u2028X"),
    MailOptions(cover_letter=formatpatch.CoverLetter("Tag\rBcc: x@y", "body")),
])
def test_write_series_is_the_last_line_of_defence(built, tmp_path: Path,
                                                  options: MailOptions) -> None:
    with pytest.raises(KfuncfixError):
        write_series(built, tmp_path / "out", options)
    assert patch_names(tmp_path / "out") == []


def test_per_patch_recipients_are_checked(built, tmp_path: Path) -> None:
    with pytest.raises(KfuncfixError, match=r"^recipients of 0001-.*: 'bpf@vger"):
        write_series(built, tmp_path / "out", MailOptions(),
                     lambda path: Recipients(to=(INJECTED,)))
    assert patch_names(tmp_path / "out") == []


def test_cover_letter_file_cr_ends_the_subject_not_the_header(
        sample_repo: Path, tmp_path: Path) -> None:
    cover = tmp_path / "cover.txt"
    cover.write_bytes(b"Subject line\rBcc: attacker@evil.example\n\nBody.\n")
    out = tmp_path / "out"
    result = series(sample_repo, out, "--cover-from", str(cover))
    assert result.exit_code == 0, result.output
    head = (out / "0000-cover-letter.patch").read_bytes().split(b"\n\n", 1)[0]
    assert b"\r" not in head and b"\nBcc:" not in head
    assert re.search(rb"\nSubject: \[PATCH bpf-next 0/\d+\] Subject line\n", head)


def test_address_checks() -> None:
    assert check_address(" David S. Miller <davem@example.org> ", "x") == (
        "David S. Miller <davem@example.org>")
    assert check_address('"Pan, Xinhui" <x@example.org>', "x") == '"Pan, Xinhui" <x@example.org>'
    for bad in ["a@", "@b", "a b", "Pan, Xinhui <x@example.org>", "a@b,", ",a@b", "",
                "x\x00@y.z"]:
        with pytest.raises(KfuncfixError, match=r"^--cc: "):
            check_address(bad, "--cc")
    assert check_message_id("<1.2@example.org>", "m") == "<1.2@example.org>"
    for bad in ["<a@b", "a b@c", "<>", "a@b>"]:
        with pytest.raises(KfuncfixError):
            check_message_id(bad, "m")
    assert check_header_value("PATCH bpf-next\tv2", "p") == "PATCH bpf-next\tv2"


# -- 7: a rule's `after` pattern cannot hang matching --------------------------------


def rule_with_after(after: str) -> bytes:
    text = builtin_rule_text("bpf_kfunc_tag")
    found = re.search(r"^after = '.*'$", text, re.M)
    assert found is not None
    return text.replace(found[0], f"after = '{after}'").encode()


@pytest.mark.parametrize("after", [
    "^(a+)+$",  # nested quantifier: exponential
    "^a*a*a*a*a*b",  # adjacent overlapping quantifiers: polynomial
    "^.*x",
    "^\\s*X",  # \s reaches over line ends: quadratic over many lines
    "^(a)\\1",
    "^(?=a)a",
    "^a{1,9999}",
    "^a|b",
    "#define",  # not anchored
    "^a+?",
])
def test_unsafe_after_patterns_are_refused_naming_file_and_key(after: str) -> None:
    with pytest.raises(RuleError, match=r"^own\.toml: definition\.after: not a regular "
                                        r"expression of the accepted form: "):
        parse_rule(rule_with_after(after), "own.toml")


def test_builtin_after_patterns_are_accepted_and_match_as_before() -> None:
    rules = list_rules()
    afters = {r.definition.after.pattern for r in rules if r.definition and r.definition.after}
    assert afters == {rb"^#define[ \t]+KF_\w+", rb"^#endif /\* CONFIG_DEBUG_INFO_BTF \*/"}


@pytest.mark.parametrize("after", ["^#define[ \\t]+KF_\\w+", "^[a-z]+[0-9]+_", "^x[^y\\n]*y$"])
def test_accepted_patterns_match_crafted_lines_in_linear_time(after: str) -> None:
    rule = parse_rule(rule_with_after(after), "own.toml")
    assert rule.definition is not None and rule.definition.after is not None
    crafted = (b"#define" + b" " * 200_000 + b"\n") + (b"a" * 200_000 + b"0" * 200_000) + \
        b"\n" + b"x" * 400_000 + b"\n" * 200_000
    start = time.perf_counter()
    list(rule.definition.after.finditer(crafted))
    assert time.perf_counter() - start < 2.0


# -- series --check says why a patch fails -------------------------------------------


def test_check_failure_names_the_reason(tmp_path: Path) -> None:
    long_comment = "/* " + "x" * 1200 + " */\n"
    tree = git_init(small_tree(tmp_path / "tree", {
        "include/linux/btf.h": "#ifndef _LINUX_BTF_H\n#define _LINUX_BTF_H\n"
                               "#define __bpf_kfunc __used noinline\n#endif\n",
        "kernel/long.c": kfunc_source(
            f"\n{long_comment}noinline int f_long(int x)\n{{\n\treturn x;\n}}\n", ["f_long"]),
    }))
    result = series(tree, tmp_path / "out", "--check")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    failed = [n for n, line in enumerate(lines) if line.startswith("  FAIL ")]
    assert failed, result.stderr
    assert re.fullmatch(r"       mail: line \d+ is 1207 bytes long; RFC 5322 allows at most "
                        r"998 bytes per line, so mail servers cut or refuse it",
                        lines[failed[0] + 1]), result.stderr


# -- series runs the get_maintainer.pl committed at the base -------------------------

FAKE_GET_MAINTAINER = r"""#!/usr/bin/perl
# Proves where it runs: MAINTAINERS and the tree's directories must be beside it.
die "no MAINTAINERS\n" unless -f "MAINTAINERS";
die "no net directory\n" unless -d "net";
print "WHO <who\@example.org>\n" if grep { $_ eq "--m" } @ARGV;
exit 0;
"""


def fake_script(who: str) -> str:
    return FAKE_GET_MAINTAINER.replace("WHO <who", f"{who} <{who.lower()}")


def tree_with_script(root: Path, script: str) -> Path:
    """The sample tree with `script` committed as its get_maintainer.pl."""
    tree = copy_sample_tree(root)
    # `F: net` (no slash) is a directory: get_maintainer.pl checks that with -d.
    maintainers = tree / "MAINTAINERS"
    maintainers.write_text(maintainers.read_text() + "\nNETWORKING\nM:\tNet <n@example.org>\n"
                           "F:\tnet\n")
    (tree / "scripts").mkdir()
    (tree / "scripts" / "get_maintainer.pl").write_text(script)
    return git_init(tree)


@needs_perl
def test_modified_script_in_the_worktree_is_not_run(tmp_path: Path) -> None:
    tree = tree_with_script(tmp_path / "tree", fake_script("Committed"))
    (tree / "scripts" / "get_maintainer.pl").write_text(fake_script("Worktree"))

    out = tmp_path / "out"
    result = series(tree, out)
    assert result.exit_code == 0, result.output
    mails = all_mail(out)
    assert "Committed <committed@example.org>" in mails
    assert "worktree@example.org" not in mails
    assert ("scripts/get_maintainer.pl in the worktree is modified since" in result.stderr
            and "committed at" in result.stderr)


@needs_perl
def test_untracked_script_is_not_run(tmp_path: Path) -> None:
    tree = git_init(copy_sample_tree(tmp_path / "tree"))
    (tree / "scripts").mkdir()
    (tree / "scripts" / "get_maintainer.pl").write_text(fake_script("Untracked"))

    out = tmp_path / "out"
    result = series(tree, out)
    assert result.exit_code == 0, result.output
    mails = all_mail(out)
    assert "untracked@example.org" not in mails
    assert "To:" in mails  # the built-in MAINTAINERS reader, on the committed MAINTAINERS
    assert "is untracked at" in result.stderr
    assert "the built-in MAINTAINERS reader was used" in result.stderr


@needs_perl
def test_script_output_goes_through_the_address_check(tmp_path: Path) -> None:
    tree = tree_with_script(tmp_path / "tree", FAKE_GET_MAINTAINER.replace(
        '"WHO <who\\@example.org>\\n"', '"a\\@example.org, Bcc: b\\@evil.example\\n"'))
    out = tmp_path / "out"
    result = series(tree, out)
    assert result.exit_code == 2
    assert "scripts/get_maintainer.pl output: 'a@example.org, Bcc: b@evil.example'" in (
        result.stderr)
    assert patch_names(out) == []
