"""Check a written series the way its recipients will: as mail, with git am, with checkpatch.

Patches are applied in a scratch worktree (`git worktree add --detach` at the
base, in a temporary directory, removed afterwards), so the user's worktree,
index and branches are not involved.  Results come back as data; nothing is
printed.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.gitseries import (
    Identity,
    ident_env,
    open_repo,
    resolve_commit,
)
from kfuncfix.outputs.kerneldoc import kernel_doc_command, new_warnings

CHECKPATCH = "scripts/checkpatch.pl"
_BASE_COMMIT = re.compile(r"^base-commit: ([0-9a-f]{40})$", re.MULTILINE)
# `PATCH:LINE: ERROR:TYPE: message` with --terse --show-types.
_FINDING = re.compile(r"^(?:(\d+):)? ?(ERROR|WARNING|CHECK):(\w+):")
# git am commits in the scratch worktree; who "commits" there does not matter.
_SCRATCH_IDENT = Identity("kfuncfix check", "check@kfuncfix.invalid")
MAX_LINE = 998  # RFC 5322's hard limit on a line, CRLF excluded


@dataclass(frozen=True)
class ExpectedFinding:
    """A checkpatch finding that a patch explains in its message, so not a failure.

    It is expected only of that type and on a patch line that matches `line`
    (`+#define __bpf_kfunc ...`), so the same finding elsewhere still counts.
    """

    kind: str  # checkpatch's type: COMPLEX_MACRO
    line: re.Pattern[str]

    def covers(self, kind: str, text: str) -> bool:
        return kind == self.kind and self.line.search(text) is not None


@dataclass
class CheckpatchResult:
    """checkpatch --strict's findings on one patch that the code before did not have."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # findings the patch explains
    # Findings the lines already had before the patch (upstream accepted them).
    inherited: list[str] = field(default_factory=list)


@dataclass
class PatchCheck:
    """What one mail file got: parse problems, git am's verdict, checkpatch's findings."""

    path: Path
    subject: str = ""
    is_cover: bool = False
    problems: list[str] = field(default_factory=list)
    applied: bool | None = None  # None: not a patch (cover letter) or not tried
    apply_error: str = ""
    checkpatch: CheckpatchResult | None = None  # None: checkpatch.pl not run
    commit: str = ""  # what git am made of it in the scratch tree
    kernel_doc: list[str] | None = None  # new kernel-doc warnings; None: not run

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and (self.is_cover or self.applied is True)
            and not (self.checkpatch and self.checkpatch.errors)
            and not self.kernel_doc
        )


@dataclass
class SeriesCheck:
    base: str
    patches: list[PatchCheck]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.patches)


def patch_files(location: Path | str | Sequence[Path | str]) -> list[Path]:
    """The *.patch files of a directory in name order, or the given files as they are."""
    if isinstance(location, (str, Path)) and Path(location).is_dir():
        files = sorted(p for p in Path(location).glob("*.patch") if p.is_file())
    elif isinstance(location, (str, Path)):
        files = [Path(location)]
    else:
        files = [Path(p) for p in location]
    if not files:
        raise KfuncfixError(f"no .patch files in {location}")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise KfuncfixError(f"not a file: {', '.join(missing)}")
    return [p.absolute() for p in files]


def check_series(
    repo_path: Path | str,
    location: Path | str | Sequence[Path | str],
    base: str | None = None,
    *,
    checkpatch: bool = True,
    expected: Sequence[ExpectedFinding] = (),
) -> SeriesCheck:
    """Parse, apply (in order, on `base`) and checkpatch every file of a series.

    `base` defaults to the `base-commit:` line git format-patch --base wrote.
    Application stops at the first patch git am refuses; later ones stay untried.
    Findings in `expected` are listed apart and do not fail the check.
    """
    files = patch_files(location)
    repo = open_repo(repo_path)
    reports = [_parse(path) for path in files]
    base_sha = resolve_commit(repo, base or _base_commit(files))
    with tempfile.TemporaryDirectory(prefix="kfuncfix-check-") as scratch:
        hooks = Path(scratch, "no-hooks")
        hooks.mkdir()
        # The user's hooks are for their own work, not for a throwaway tree.
        no_hooks = ["-c", f"core.hooksPath={hooks}"]
        with gitrun.temporary_worktree(repo.root, base_sha, Path(scratch, "tree"),
                                       [f"core.hooksPath={hooks}"]) as tree:
            _apply_all(tree, no_hooks, reports)
            if checkpatch:
                _check_patches(tree, reports, expected)
    return SeriesCheck(base_sha, reports)


def _check_patches(tree: Path, reports: list[PatchCheck],
                   expected: Sequence[ExpectedFinding]) -> None:
    """checkpatch --strict and kernel-doc -none, as the tree has them, on each applied
    patch; only what is new against the code before the patch counts."""
    applied = [r for r in reports if not r.is_cover and r.applied and r.commit]
    script = tree / CHECKPATCH
    if script.is_file() and shutil.which("perl"):
        for report in applied:
            with tempfile.NamedTemporaryFile(suffix=".patch") as before:
                # The same hunks the other way round (from the commit to its parent,
                # so `+++ b/` still names the file): what the old lines got.
                before.write(gitrun.out(tree, "diff", "--no-color", "--no-ext-diff",
                                        report.commit, f"{report.commit}^", "--"))
                before.flush()
                report.checkpatch = run_checkpatch(tree, report.path, expected,
                                                   baseline=Path(before.name))
    command = kernel_doc_command(tree)
    if command is not None:
        for report in applied:
            report.kernel_doc = new_warnings(tree, command, f"{report.commit}^", report.commit)


def _parse(path: Path) -> PatchCheck:
    """Read a file as RFC 2822 mail and note whatever a mail client would trip on."""
    raw = path.read_bytes()
    report = PatchCheck(path)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    report.problems += [f"mail: {type(d).__name__}: {d}" for d in message.defects]
    for name in ("From", "Date", "Subject"):
        value = message.get(name)
        if value is None:
            report.problems.append(f"mail: no {name} header")
            continue
        report.problems += [f"mail: {name}: {d}" for d in getattr(value, "defects", ())]
    report.subject = str(message.get("Subject", ""))
    long_lines = [(n, len(line)) for n, line in enumerate(raw.split(b"\n"), 1)
                  if len(line) > MAX_LINE]
    if long_lines:
        number, length = long_lines[0]
        more = f" (and {len(long_lines) - 1} more)" if len(long_lines) > 1 else ""
        report.problems.append(
            f"mail: line {number} is {length} bytes long{more}; RFC 5322 allows at most "
            f"{MAX_LINE} bytes per line, so mail servers cut or refuse it")
    payload = message.get_payload(decode=True)
    body = payload if isinstance(payload, bytes) else b""
    report.is_cover = b"\ndiff --git " not in b"\n" + body
    return report


def _base_commit(files: list[Path]) -> str:
    for path in files:
        found = _BASE_COMMIT.search(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found[1]
    raise KfuncfixError("the series has no base-commit: line; say which base to apply it on")


def _apply_all(tree: Path, no_hooks: list[str], reports: list[PatchCheck]) -> None:
    env = ident_env(_SCRATCH_IDENT, None, ["COMMITTER"])
    failed = False
    for report in reports:
        if report.is_cover:
            continue
        if failed:
            report.apply_error = "not tried: an earlier patch did not apply"
            continue
        done = gitrun.run(tree, *no_hooks, "am", "--quiet", "--no-3way", "--",
                          str(report.path), env=env, check=False)
        report.applied = done.returncode == 0
        if not report.applied:
            failed = True
            report.apply_error = (done.stderr.decode("utf-8", "replace").strip() + "\n"
                                  + done.stdout.decode("utf-8", "replace").strip())
            gitrun.run(tree, "am", "--abort", check=False)
        else:
            report.commit = gitrun.text(tree, "rev-parse", "--verify", "HEAD")


def run_checkpatch(
    tree: Path, patch: Path, expected: Sequence[ExpectedFinding] = (),
    baseline: Path | None = None,
) -> CheckpatchResult:
    """The tree's checkpatch.pl --strict on one patch, run from the tree's top so it
    can use it (the BPF and netdev CI run it with --strict).

    `baseline` is the same patch reversed: a finding of a kind it also has in the
    same file was on the old lines already, so it is inherited, not new.
    """
    result = CheckpatchResult()
    buckets = {"ERROR": result.errors, "WARNING": result.warnings, "CHECK": result.checks}
    old = Counter((path, kind) for _, _, kind, path, _ in
                  (_findings(tree, baseline) if baseline is not None else []))
    for finding, level, kind, path, text in _findings(tree, patch):
        if any(e.covers(kind, text) for e in expected):
            result.expected.append(finding)
        elif path and old[(path, kind)] > 0:
            old[(path, kind)] -= 1
            result.inherited.append(finding)
        else:
            buckets[level].append(finding)
    return result


def _findings(tree: Path, patch: Path) -> list[tuple[str, str, str, str, str]]:
    """(finding, level, type, file it is in, patch line) for each checkpatch finding."""
    command = ["perl", CHECKPATCH, "--strict", "--terse", "--show-types", "--no-summary",
               str(patch)]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    # 0: clean, 1: findings; anything else means checkpatch itself gave up.
    if done.returncode not in (0, 1):
        why = (done.stderr.strip() or done.stdout.strip()).splitlines() or ["no reason given"]
        raise KfuncfixError(f"{CHECKPATCH} failed on {patch.name}: {why[-1]}")
    lines = patch.read_text(encoding="utf-8", errors="replace").split("\n")
    files = _file_of_lines(lines)
    out = []
    for line in done.stdout.splitlines():
        finding = line.removeprefix(f"{patch}:")
        found = _FINDING.match(finding)
        if not found:
            continue
        number, level, kind = found.groups()
        # checkpatch counts the lines of the patch file from 1.
        at = int(number) - 1 if number and 0 < int(number) <= len(lines) else -1
        out.append((finding, level, kind, files[at] if at >= 0 else "",
                    lines[at] if at >= 0 else ""))
    return out


def _file_of_lines(lines: list[str]) -> list[str]:
    """For each line of a patch, the file its hunk is in ("" outside any)."""
    current = ""
    out = []
    for line in lines:
        if line.startswith("diff --git "):
            current = ""
        elif line.startswith("+++ "):
            current = line[4:].removeprefix("b/")
        out.append(current)
    return out
