"""The CI contracts (scripts/ci) judge what a patch holds, not how its mail looks.

* sendemail-validate lets a message without a diff through (a series' cover
  letter, kfuncfix's own included) and still refuses a patch with findings.
* patchwork-check.sh counts a finding's severity, not the text `ERROR:` anywhere
  on its line: a file named `ERROR: x.c` with a warning is a warning (250).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kfuncfix.sample import copy_sample_tree
from tests.conftest import git_init
from tests.rewrite_helper import kfunc_source, small_tree
from tests.test_check import BTF_H, ENV, REPO, TAGGED, commit_kfunc, git, has_send_email

HOOK = REPO / "scripts/ci/sendemail-validate"
PATCHWORK = REPO / "scripts/ci/patchwork-check.sh"
KFUNCFIX_ENV = dict(ENV, KFUNCFIX=f"{shutil.which('python') or 'python3'} -m kfuncfix")

needs_send_email = pytest.mark.skipif(not has_send_email(),
                                      reason="git send-email (Debian git-email) missing")


def install_hook(tree: Path) -> None:
    hooks = tree / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    shutil.copy(HOOK, hooks / "sendemail-validate")


def send(tree: Path, patches: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "send-email", "--dry-run", "--confirm=never",
                           "--to=bpf@vger.kernel.org", *map(str, patches)], cwd=tree,
                          capture_output=True, text=True, env=KFUNCFIX_ENV)


@needs_send_email
def test_a_kfuncfix_series_with_its_cover_letter_is_sent(tmp_path: Path) -> None:
    tree = git_init(copy_sample_tree(tmp_path / "tree"))
    out = tmp_path / "out"
    made = subprocess.run(["python", "-m", "kfuncfix", "series", "-o", str(out), "--cover",
                           "--date", "2024-01-01 00:00 +0000", "."], cwd=tree,
                          capture_output=True, text=True, env=KFUNCFIX_ENV)
    assert made.returncode == 0, made.stderr
    patches = sorted(out.glob("*.patch"))
    assert patches[0].name.startswith("0000-cover-letter")
    install_hook(tree)
    sent = send(tree, patches)
    assert sent.returncode == 0, sent.stderr
    assert "rejected by sendemail-validate" not in sent.stderr
    assert (sent.stdout + sent.stderr).count("Dry-OK") + (sent.stdout + sent.stderr).count(
        "Result: OK") >= len(patches)


@needs_send_email
def test_a_bad_patch_behind_a_cover_letter_is_still_refused(tmp_path: Path) -> None:
    tree = git_init(small_tree(tmp_path / "linux", {"include/linux/btf.h": BTF_H,
                                                    "kernel/k.c": TAGGED}))
    commit_kfunc(tree, "bpf_new", tagged=False)
    out = tmp_path / "out"
    git(tree, "format-patch", "--cover-letter", "-1", "-o", str(out))
    install_hook(tree)
    sent = send(tree, sorted(out.glob("*.patch")))
    assert sent.returncode != 0
    assert "ERROR: bpf_kfunc_tag: kfunc bpf_new is not tagged" in sent.stdout + sent.stderr


def test_patchwork_check_reads_the_severity_not_the_file_name(tmp_path: Path) -> None:
    tree = git_init(small_tree(tmp_path / "linux", {
        "include/linux/btf.h": BTF_H, "kernel/k.c": TAGGED,
        "include/linux/btf_ids.h": "#define BTF_KFUNCS_START(name) BTF_SET8_START(name)\n"}))
    # A new file, tagged, whose set is declared the old way: one warning.
    (tree / "kernel/ERROR: x.c").write_text(kfunc_source(
        "\n__bpf_kfunc int bpf_good(int a)\n{\n\treturn a;\n}\n", ["bpf_good"], "x_ids"))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "x: add kfuncs")
    patch = tmp_path / "one.patch"
    patch.write_bytes(git(tree, "format-patch", "-1", "--stdout"))
    done = subprocess.run([str(PATCHWORK), str(patch), "."], cwd=tree, capture_output=True,
                          text=True, env=KFUNCFIX_ENV)
    assert done.returncode == 250, done.stdout
    assert done.stdout.splitlines()[0] == "kfuncfix: 1 warning(s)"
