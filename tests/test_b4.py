"""`kfuncfix apply --branch NAME --b4`, proved with the real b4.

What a developer who sends with b4 relies on: `b4 prep` takes the branch
over as its own (`--show-info` sees the cover letter, the patches and the
prefixes), `b4 prep --check` runs, and `b4 send -o DIR` writes the cover and
one message per patch, each going to the cover's recipients and its own Cc:
trailers, whose patches `git am` applies on the base.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kfuncfix.cli import main
from kfuncfix.cli.demo import make_sample_repo
from kfuncfix.outputs.b4branch import (
    MAGIC_MARKER,
    b4_prefixes,
    change_id,
    cover_message,
    tracking,
)
from kfuncfix.outputs.formatpatch import CoverLetter
from tests.series_helper import git as git_run
from tests.series_helper import user_state

B4 = shutil.which("b4")
needs_b4 = pytest.mark.skipif(B4 is None, reason="b4 is not installed (pip install b4)")
ANN = ("Ann Example", "ann@example.org")
CHANGE_ID = re.compile(r"\d{8}-[a-z0-9-]+-[0-9a-f]{12}\Z")


@pytest.fixture(autouse=True)
def no_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def git(repo: Path, *args: str) -> str:
    return git_run(repo, *args).strip()


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def b4(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """b4 in repo, with a private HOME so the user's b4 and git settings stay out."""
    home = repo.parent / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local"),
               # A mail transport (never used: -o only writes files), else b4 picks
               # its web endpoint in a kernel tree, which wants a signing key.
               GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="sendemail.smtpserver",
               GIT_CONFIG_VALUE_0="smtp.invalid")
    return subprocess.run([B4 or "b4", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)


def show_info(repo: Path, branch: str) -> dict[str, str]:
    done = b4(repo, "prep", "--show-info", branch)
    assert done.returncode == 0, done.stderr
    return dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)


def send_to_dir(repo: Path, branch: str, outdir: Path) -> list[Path]:
    git(repo, "switch", "-q", branch)
    done = b4(repo, "send", "--no-sign", "-o", str(outdir))
    assert done.returncode == 0, done.stderr
    return sorted(outdir.glob("*.eml"))


def parse(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def git_am_all(repo: Path, base: str, mails: list[Path], where: Path) -> str:
    """Apply the mails in order on a detached worktree at base; return the tree id."""
    git(repo, "worktree", "add", "-q", "--detach", str(where), base)
    for path in mails:
        subprocess.run(["git", "-C", str(where), "-c", "user.name=T", "-c",
                        "user.email=t@example.org", "am", "-q", str(path)], check=True)
    return git(where, "rev-parse", "HEAD^{tree}")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    repo = make_sample_repo(tmp_path / "linux")
    git(repo, "config", "user.name", ANN[0])
    git(repo, "config", "user.email", ANN[1])
    return repo


# -- the pieces, against what b4's own code writes --------------------------------------------

def test_prefixes_leave_patch_and_version_to_b4() -> None:
    assert b4_prefixes("PATCH bpf-next") == ["bpf-next"]
    assert b4_prefixes("PATCH v3 net") == ["net"]
    assert b4_prefixes("RFC PATCH bpf-next") == ["RFC", "bpf-next"]


def test_change_id_has_b4s_form() -> None:
    made = change_id("b4/Kfunc tags", datetime.date(2026, 12, 2), "0123456789ab")
    assert made == "20261202-b4-kfunc-tags-0123456789ab"
    assert CHANGE_ID.match(change_id("x", datetime.date.today()))


def test_cover_message_is_what_b4_loads() -> None:
    """b4's load_cover splits on the marker and reads the JSON from the first `{`."""
    track = tracking("20261202-x-0123456789ab", 2, ["bpf-next"])
    text = cover_message(CoverLetter("Subject", "Body\n#include is not a note"), track,
                         to=["bpf@vger.kernel.org"])
    cover, magic = text.split(MAGIC_MARKER)
    assert json.loads("{" + magic.split("{", 1)[1]) == track
    # b4 drops lines starting with # from the cover; >#... is its escape for them.
    assert cover == "Subject\n\nBody\n>#include is not a note\n\nTo: bpf@vger.kernel.org\n\n"


# -- the sample tree, with the real b4 ---------------------------------------------------------

@needs_b4
def test_sample_branch_is_a_b4_prep_branch(sample: Path, tmp_path: Path) -> None:
    before = user_state(sample)
    result = run("apply", str(sample), "--branch", "kf", "--b4", "--split", "subsystem",
                 "--b4-cc-trailers")
    assert result.exit_code == 0, result.output
    assert "b4 prep --check" in result.stderr and "b4 send --reflect" in result.stderr
    assert user_state(sample)[:2] == before[:2]  # worktree and index as they were
    assert git(sample, "config", "branch.kf.b4-prep-cover-strategy") == "commit"

    info = show_info(sample, "kf")
    commits = [k for k in info if k.startswith("commit-")]
    assert len(commits) == 6  # the definition patch and five subsystems
    assert info["prefixes"] == "bpf-next"
    assert info["revision"] == "1"
    assert info["cover-strategy"] == "commit"
    assert info["cover-subject"] == "Tag all kfuncs with __bpf_kfunc"
    assert CHANGE_ID.match(info["change-id"]) and "-kf-" in info["change-id"]
    assert info["base-commit"] == git(sample, "rev-parse", "master")
    assert info["needs-recipients"] == "False"

    mails = send_to_dir(sample, "kf", tmp_path / "out")
    assert len(mails) == 7
    cover, *patches = [parse(m) for m in mails]
    assert cover["Subject"] == "[PATCH bpf-next 0/6] Tag all kfuncs with __bpf_kfunc"
    assert "base-commit: " + info["base-commit"] in cover.get_content()
    for msg in patches:
        assert "bpf@vger.kernel.org" in msg["To"]  # the rule's list, on every patch
    # Each patch's own Cc: trailers go to that patch only: the tcp reviewer
    # sees the tcp patch and the cover letter, not the netfilter patch.
    tcp = next(m for m in patches if "tcp:" in m["Subject"])
    netfilter = next(m for m in patches if "netfilter:" in m["Subject"])
    reviewer = re.search(r"^Cc: (.*ines.*)$", tcp.get_content(), re.M | re.I)
    assert reviewer is not None
    assert "ines.marchetti" in tcp["Cc"] and "ines.marchetti" in cover["Cc"]
    assert "ines.marchetti" not in (netfilter["Cc"] or "")

    tree = git_am_all(sample, "master", mails[1:], tmp_path / "am")
    assert tree == git(sample, "rev-parse", "kf^{tree}")


@needs_b4
def test_without_cc_trailers_the_commits_carry_none(sample: Path) -> None:
    assert run("apply", str(sample), "--branch", "kf", "--b4").exit_code == 0
    messages = git(sample, "log", "--format=%B", "master..kf")
    assert "\nCc: " not in messages
    assert show_info(sample, "kf")["commit-" + git(sample, "rev-parse", "--short=7", "kf")]


def test_b4_refuses_what_would_hide_the_cover(sample: Path) -> None:
    other = run("apply", str(sample), "--branch", "kf", "--b4", "--from",
                "Bob <bob@example.org>")
    assert other.exit_code == 2 and "user.email" in other.output
    dated = run("apply", str(sample), "--branch", "kf", "--b4", "--date", "2020-01-01")
    assert dated.exit_code == 2 and "--date" in dated.output
    assert run("apply", str(sample), "--b4").exit_code == 2  # no --branch
    assert "refs/heads/kf" not in git(sample, "for-each-ref")


def test_existing_branch_needs_force(sample: Path) -> None:
    assert run("apply", str(sample), "--branch", "kf", "--b4").exit_code == 0
    again = run("apply", str(sample), "--branch", "kf", "--b4")
    assert again.exit_code == 2 and "already exists" in again.output
    assert run("apply", str(sample), "--branch", "kf", "--b4", "--force").exit_code == 0


# -- Linux 6.1, with the real b4 and the tree's checkpatch.pl ----------------------------------

@pytest.mark.realtree
@needs_b4
def test_linux61_b4_branch(linux61: Path, tmp_path: Path) -> None:
    clone = tmp_path / "linux"
    subprocess.run(["git", "clone", "-q", "--shared", str(linux61), str(clone)], check=True)
    git(clone, "config", "user.name", "Test Person")
    git(clone, "config", "user.email", "test@example.org")
    result = run("apply", str(clone), "--branch", "kfunc-tags", "--b4", "--split", "subsystem",
                 "--b4-cc-trailers")
    assert result.exit_code == 0, result.output

    info = show_info(clone, "kfunc-tags")
    assert len([k for k in info if k.startswith("commit-")]) == 6
    assert info["prefixes"] == "bpf-next"

    git(clone, "switch", "-q", "kfunc-tags")
    checked = b4(clone, "prep", "--check")
    assert checked.returncode == 0, checked.stderr
    assert "scripts/checkpatch.pl" in checked.stdout + checked.stderr
    assert re.search(r"Success: \d+, Warning: \d+, Error: \d+", checked.stdout + checked.stderr)

    mails = send_to_dir(clone, "kfunc-tags", tmp_path / "out")
    assert len(mails) == 7
    # get_maintainer.pl's answer for the netfilter patch is in its Cc:
    netfilter = next(parse(m) for m in mails if "netfilter:" in parse(m)["Subject"])
    assert "netfilter-devel@vger.kernel.org" in netfilter["Cc"]
    base = git(linux61, "rev-parse", "HEAD")
    assert git_am_all(clone, base, mails[1:], tmp_path / "am") == git(
        clone, "rev-parse", "kfunc-tags^{tree}")
