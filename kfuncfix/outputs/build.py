"""`--build`: compile a series patch by patch with the tree's Kbuild and audit the BTF it yields.

For each configuration, in a scratch worktree at the base: the objects of the
series are compiled (`make O=OUT W=1 obj.o ...`) at the base and then after
each patch, and each object is recompiled only when a file it was compiled
from (its `.c` or a header, as Kbuild's `.cmd` dependency list says) changed.
A patch is blamed for an object that stops building and for each W=1
warning that is new against the base; each compiled object's BTF (`pahole
-J`) is audited for the kfuncs defined in the files the patch touches.

Warm runs are cheap: each result is stored under the git blob ids of the
files it was compiled from, so an unchanged object is never compiled twice
for the same base and configuration.  The scratch worktree has a fixed path
inside the build directory (Kbuild records the source path in every `.cmd`
file) and its files get one old timestamp, so that the output of an earlier
run counts as up to date except for the objects we compile, which are
removed first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kfuncfix import __version__, gitrun
from kfuncfix.btf.audit import SourceKfunc, from_tree
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex
from kfuncfix.outputs.buildbtf import KfuncChange, changes, encode_btf, kfunc_states
from kfuncfix.outputs.buildcache import (
    CACHE_FORMAT,
    Blobs,
    ObjectResult,
    ResultCache,
    Unreadable,
    read_json,
)
from kfuncfix.outputs.gitseries import SeriesCommit
from kfuncfix.outputs.kbuild import (
    Compiled,
    CompilerWarning,
    Kbuild,
    NotBuilt,
    require_tools,
    source_deps,
    tool_version,
)
from kfuncfix.words import plural

Progress = Callable[[str], None]
# The index of the tree at a commit, made by the pipeline (the caller's run_plan):
# the build never runs discovery of its own, so it sees the rules' conventions.
IndexAt = Callable[[str], TreeIndex]
# Every file of the scratch worktree gets this mtime (2001-09-09): older than
# any output, so Kbuild's prepare steps count as done on a warm build directory.
OLD_MTIME = 1_000_000_000
# Kbuild's reasons for leaving objects out, kept per base and configuration.
NOT_BUILT = "not-built.json"
NOT_BUILT_FORMAT = 2


@dataclass(frozen=True)
class BuildConfig:
    """A .config file, or None for allmodconfig with the BTF fragment."""

    path: Path | None = None

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "allmodconfig + DEBUG_INFO_BTF"

    def digest(self) -> str:
        from kfuncfix.outputs.kbuild import BTF_FRAGMENT

        data = self.path.read_bytes() if self.path else b"allmodconfig\n" + BTF_FRAGMENT.encode()
        return hashlib.sha256(data).hexdigest()[:12]


@dataclass
class StepReport:
    """The base (number 0) or one patch of the series, as the compiler saw it."""

    number: int
    sha: str
    subject: str
    compiled: list[ObjectResult] = field(default_factory=list)
    new_warnings: list[tuple[str, CompilerWarning]] = field(default_factory=list)  # (obj, w)
    broke: list[ObjectResult] = field(default_factory=list)  # built before, fails now
    still_failing: list[ObjectResult] = field(default_factory=list)  # failed before too
    kfuncs: list[KfuncChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.new_warnings and not self.broke and not self.regressed

    @property
    def regressed(self) -> list[KfuncChange]:
        """Kfuncs right in BTF before this patch and wrong after it."""
        return [k for k in self.kfuncs if k.before is not None and k.before.ok and k.broken]


@dataclass
class ConfigReport:
    config: BuildConfig
    build_dir: Path
    base: StepReport
    patches: list[StepReport]
    not_built: dict[str, NotBuilt]  # object -> why the configuration does not build it

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.patches) and not self.compiled_nothing

    @property
    def compiled_nothing(self) -> bool:
        """The series changes objects another configuration would build and this one
        builds none at all: nothing was proved (a pass would only say that no compiler
        ran).  Objects no configuration builds (tools/) do not count."""
        return not self.objects and any(why.configurable for why in self.not_built.values())

    @property
    def configurable(self) -> int:
        """How many objects this configuration leaves out that another could build."""
        return sum(1 for why in self.not_built.values() if why.configurable)

    @property
    def objects(self) -> list[str]:
        return sorted({r.obj for s in [self.base, *self.patches] for r in s.compiled})

    @property
    def base_failures(self) -> list[ObjectResult]:
        return [r for r in self.base.compiled if not r.ok]


@dataclass
class BuildReport:
    configs: list[ConfigReport]
    compiler: str
    pahole: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.configs)

    def cover_paragraph(self) -> str:
        """The "Build-tested:" paragraph of a cover letter, wrapped at 72 columns."""
        parts = []
        for config in self.configs:
            new = sum(len(p.new_warnings) for p in config.patches)
            fixed = sum(1 for p in config.patches for k in p.kfuncs if k.fixed)
            parts.append(f"{config.config.label}: {plural(len(config.objects), 'object')} built"
                         + (f" ({len(config.not_built)} not built by this config)"
                            if config.not_built else "")
                         + f", new warnings: {new}"
                         + (f", kfuncs brought into BTF: {fixed}" if fixed else ""))
        text = (f"Build-tested: each patch compiled with W=1 and its objects' BTF "
                f"encoded ({self.compiler}, pahole {self.pahole}); " + "; ".join(parts) + ".")
        return textwrap.fill(text, 72, break_long_words=False, break_on_hyphens=False) + "\n"


def default_build_root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kfuncfix" / "build"


def build_check(
    repo_root: Path,
    base: str,
    commits: Sequence[SeriesCommit],
    configs: Sequence[Path | None],
    build_dir: Path | None,
    jobs: int,
    progress: Progress,
    index_at: IndexAt,
) -> BuildReport:
    """Compile base and each commit for each configuration; see the module docstring.

    `commits` are in order, the first one's parent being `base` (full shas).
    `build_dir` holds one directory per configuration; by default it is the
    user's cache directory, keyed by base commit and configuration; a relative
    one is taken against the current directory (here, before git sees it).
    `index_at(commit)` gives the tree's index at a commit (see `IndexAt`).
    """
    require_tools()
    if build_dir is not None:
        build_dir = Path(os.path.abspath(build_dir))
    kfuncs = _SeriesKfuncs(index_at, base, commits[-1].sha if commits else base, progress)
    reports = []
    for config in [BuildConfig(c) for c in configs or [None]]:
        if config.path is not None and not config.path.is_file():
            raise KfuncfixError(f"--build-config {config.path}: no such file")
        where = (build_dir / config.digest() if build_dir
                 else default_build_root() / f"{base[:12]}-{config.digest()}")
        run = _ConfigRun(repo_root, base, list(commits), config, where, jobs, progress, kfuncs)
        reports.append(run.run())
    return BuildReport(reports, tool_version(["gcc", "--version"]),
                       tool_version(["pahole", "--version"]))


class _SeriesKfuncs:
    """The kfuncs of the files each patch touches: from discovery at the base and at the tip.

    Before a patch its files are as at the base, after it as at the tip,
    unless another patch of the series changes the same file.
    """

    def __init__(self, index_at: IndexAt, base: str, tip: str, progress: Progress) -> None:
        progress("finding the kfuncs of the base and of the tip")
        self.before = self._by_file(index_at(base))
        self.after = self._by_file(index_at(tip)) if tip != base else self.before

    @staticmethod
    def _by_file(index: TreeIndex) -> dict[str, list[SourceKfunc]]:
        out: dict[str, list[SourceKfunc]] = {}
        for k in from_tree(index):
            if k.file:
                out.setdefault(k.file, []).append(k)
        return out

    def in_object(self, obj: str, after: bool) -> list[SourceKfunc]:
        table = self.after if after else self.before
        return table.get(obj[:-2] + ".c", [])


class _ConfigRun:
    """One configuration: the scratch worktree, Kbuild, the result cache, the steps."""

    def __init__(self, root: Path, base: str, commits: list[SeriesCommit], config: BuildConfig,
                 where: Path, jobs: int, progress: Progress, kfuncs: _SeriesKfuncs) -> None:
        self.root, self.base, self.commits, self.config = root, base, commits, config
        self.where, self.progress, self.kfuncs = where, progress, kfuncs
        self.src, self.out, self.cache = where / "src", where / "out", where / "results"
        self.kbuild = Kbuild(self.src, self.out, jobs, progress)
        # kfuncfix's own version too: a result holds what this version read from
        # the object (DWARF verdicts), which CACHE_FORMAT alone may forget to cover.
        self.results = ResultCache(self.cache, [
            base, config.digest(), f"kfuncfix {__version__}",
            tool_version(["gcc", "--version"]) + tool_version(["pahole", "--version"])])
        self._worktree = False
        self._prepared = False
        self._base_results: dict[str, ObjectResult] = {}
        self._not_built: dict[str, NotBuilt | None] = {}

    def run(self) -> ConfigReport:
        self._check_stamp()
        self._not_built = self._known_not_built()
        objects = series_objects(self.commits)
        blobs = Blobs(self.root, self.base)
        latest: dict[str, ObjectResult] = {}
        not_built: dict[str, NotBuilt] = {}
        steps = [StepReport(0, self.base, "base")] + [
            StepReport(i, c.sha, c.subject) for i, c in enumerate(self.commits, 1)]
        try:
            for step in steps:
                blobs.move_to(step.sha)
                self._step(step, objects, blobs, latest, not_built)
        finally:
            self._remove_worktree()
        return ConfigReport(self.config, self.where, steps[0], steps[1:], not_built)

    # -- one step ----------------------------------------------------------------

    def _step(self, step: StepReport, objects: list[str], blobs: Blobs,
              latest: dict[str, ObjectResult], not_built: dict[str, NotBuilt]) -> None:
        where = "base" if step.number == 0 else f"patch {step.number}/{len(self.commits)}"
        todo: list[str] = []
        found: dict[str, ObjectResult | None] = {}
        for obj in objects:
            known = self._not_built.get(obj)
            if known is not None:
                not_built[obj] = known
            if obj in not_built:
                continue
            before = latest.get(obj)
            if step.number and before and before.deps and not blobs.changed_any(before.deps):
                continue  # nothing it is compiled from changed: same result as before
            todo.append(obj)
            found[obj] = self.results.lookup(obj, blobs)
        missing = [obj for obj in todo if found[obj] is None]
        if missing:
            self._ensure_tree(step.sha)
            for obj in list(missing):
                reason = self._why_not_built(obj)
                if reason:
                    not_built[obj] = reason
                    missing.remove(obj)
                    found.pop(obj)
        if missing:
            self.progress(f"{where}: compiling {', '.join(missing)}")
            compiled = self.kbuild.compile(
                missing, lambda o: self.progress(f"{where}: compiled {o}"))
            for obj in missing:
                result = self._result(obj, compiled[obj], where)
                self.results.store(result, blobs)
                found[obj] = result
        for obj in todo:
            done = found.get(obj)
            if done is not None:
                self._judge(step, done, latest)

    def _judge(self, step: StepReport, result: ObjectResult,
               latest: dict[str, ObjectResult]) -> None:
        before = latest.get(result.obj)
        latest[result.obj] = result
        step.compiled.append(result)
        if step.number == 0:
            self._base_results[result.obj] = result
            return
        if not result.ok:
            (step.broke if before is None or before.ok else step.still_failing).append(result)
            return
        base = self._base_results.get(result.obj)
        known = Counter(w.key for w in (base.warnings if base else []))
        earlier = Counter(w.key for w in (before.warnings if before else [])) - known
        for warning in result.warnings:
            if known[warning.key] > 0:
                known[warning.key] -= 1
            elif earlier[warning.key] > 0:
                earlier[warning.key] -= 1  # new against the base, but an earlier patch's
            else:
                step.new_warnings.append((result.obj, warning))
        touched = {p for p in self._paths(step)}
        if result.obj[:-2] + ".c" in touched and result.btf is not None:
            after_src = self.kfuncs.in_object(result.obj, after=True)
            after = kfunc_states(result.btf, after_src)
            prior = None
            if before is not None and before.ok and before.btf is not None:
                prior = kfunc_states(before.btf, self.kfuncs.in_object(result.obj, after=False))
            step.kfuncs += changes(prior, after, [k.name for k in after_src])

    def _paths(self, step: StepReport) -> tuple[str, ...]:
        return self.commits[step.number - 1].paths if step.number else ()

    def _result(self, obj: str, compiled: Compiled, where: str) -> ObjectResult:
        """A compile's outcome with its BTF (pahole -J) and the files it was made from."""
        btf = None
        if compiled.ok:
            self.progress(f"{where}: pahole -J {obj}")
            btf = encode_btf(self.out / obj, self.where / "pahole")
        deps = source_deps(self.out / Path(obj).parent / f".{Path(obj).name}.cmd", self.src)
        return ObjectResult(obj, compiled.ok, compiled.warnings, compiled.errors, False, btf,
                            deps if compiled.ok else [])

    # -- the scratch worktree and Kbuild ------------------------------------------

    def _ensure_tree(self, sha: str) -> None:
        if not self._worktree:
            self.progress(f"scratch worktree at {self.base[:12]} in {self.src}")
            # Left over by a run that was killed: this worktree alone is removed (never
            # `git worktree prune`, which would drop other worktrees' metadata too).
            gitrun.remove_worktree(self.root, self.src)
            if self.src.exists():
                shutil.rmtree(self.src)
            gitrun.run(self.root, "worktree", "add", "--detach", "--quiet", "--",
                       str(self.src), self.base)
            self._worktree = True
            _set_mtimes(self.src, OLD_MTIME)
        head = gitrun.text(self.src, "rev-parse", "HEAD")
        if head != sha:
            gitrun.run(self.src, "checkout", "--detach", "--quiet", sha)
        if not self._prepared:
            if not (self.out / ".config").is_file():
                self.kbuild.configure(self.config.path)
            self.kbuild.prepare()
            self._prepared = True

    def _why_not_built(self, obj: str) -> NotBuilt | None:
        """Kbuild's answer, kept with the results: it depends on the base and config only."""
        if obj not in self._not_built:
            self._not_built[obj] = self.kbuild.why_not_built(obj)
            self.cache.mkdir(parents=True, exist_ok=True)
            saved = {o: None if why is None else [why.why, why.configurable]
                     for o, why in self._not_built.items()}
            (self.cache / NOT_BUILT).write_text(json.dumps(
                {"format": NOT_BUILT_FORMAT, "objects": saved}, indent=1))
        return self._not_built[obj]

    def _known_not_built(self) -> dict[str, NotBuilt | None]:
        """What earlier runs learned of Kbuild; nothing from a file of another format
        (the first one held bare reason strings) or a damaged one."""
        try:
            found = read_json(self.cache / NOT_BUILT)
        except Unreadable:
            return {}
        objects = found.get("objects") if isinstance(found, dict) else None
        if not isinstance(objects, dict) or found.get("format") != NOT_BUILT_FORMAT:
            return {}
        known: dict[str, NotBuilt | None] = {}
        for obj, why in objects.items():
            if why is None:
                known[obj] = None
            elif (isinstance(why, list) and len(why) == 2 and isinstance(why[0], str)
                    and isinstance(why[1], bool)):
                known[obj] = NotBuilt(why[0], why[1])
            else:
                return {}
        return known

    def _remove_worktree(self) -> None:
        if self._worktree:
            gitrun.remove_worktree(self.root, self.src)
            self._worktree = False

    def _check_stamp(self) -> None:
        """An output directory made for another base or config is started afresh."""
        stamp = self.where / "stamp.json"
        want = {"base": self.base, "config": self.config.digest(), "format": CACHE_FORMAT}
        try:
            have = read_json(stamp) if stamp.is_file() else want
        except Unreadable as exc:
            print(f"kfuncfix: warning: {exc}", file=sys.stderr)
            have = {}
        if not isinstance(have, dict):
            have = {}
        if (have.get("base"), have.get("config")) != (self.base, self.config.digest()):
            self.progress(f"{self.where} was made for another base or config: starting afresh")
            shutil.rmtree(self.out, ignore_errors=True)
        if have != want:
            shutil.rmtree(self.cache, ignore_errors=True)
        self.where.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(want))

def series_objects(commits: Sequence[SeriesCommit]) -> list[str]:
    """The objects of the .c files the series changes (headers reach objects through deps)."""
    return sorted({p[:-2] + ".o" for c in commits for p in c.paths if p.endswith(".c")})


def _set_mtimes(tree: Path, when: int) -> None:
    for folder, dirs, files in os.walk(tree):
        if ".git" in dirs:
            dirs.remove(".git")
        for name in files:
            try:
                os.utime(os.path.join(folder, name), (when, when), follow_symlinks=False)
            except OSError:
                pass



def report_lines(report: BuildReport) -> list[str]:
    """The build check as text: per configuration, the base, then each patch."""
    out = []
    for config in report.configs:
        out.append(f"build: {config.config.label} in {config.build_dir}")
        base = config.base
        warned = sum(len(r.warnings) for r in base.compiled)
        out.append(f"  base: {plural(len(base.compiled), 'object')}, "
                   f"{plural(warned, 'W=1 warning')} already there")
        for failed in config.base_failures:
            out.append(f"       the base does not build {failed.obj} (not blamed on a patch)")
            out += [f"       {e}" for e in failed.errors[:3]]
        for obj, why in sorted(config.not_built.items()):
            out.append(f"  not built: {obj}: {why}")
        if config.compiled_nothing:
            out.append(f"  FAIL: this configuration compiles none of the "
                       f"{plural(config.configurable, 'object')} the series changes: "
                       "nothing was tested (choose one that builds them: --build-config)")
        for step in config.patches:
            out += _step_lines(step, len(config.patches))
    new = sum(len(p.new_warnings) for c in report.configs for p in c.patches)
    out.append(f"  {report.compiler}; pahole {report.pahole}; new W=1 warnings: {new}")
    return out


def _step_lines(step: StepReport, total: int) -> list[str]:
    names = [r.obj for r in step.compiled]
    objects = (", ".join(names) if len(names) <= 3 else f"{len(names)} objects") or (
        "no object to compile")
    head = f"  {'ok  ' if step.ok else 'FAIL'} {step.number}/{total} {step.subject}: {objects}"
    lines = [head]
    for result in step.broke:
        lines.append(f"       does not build {result.obj}:")
        lines += [f"       {e}" for e in result.errors[:5]]
    for result in step.still_failing:
        lines.append(f"       {result.obj} still does not build (nor did it before)")
    for obj, warning in step.new_warnings:
        lines.append(f"       new: {warning}  ({obj})")
    for change in step.kfuncs:
        if change.fixed and change.before is not None:
            lines.append(f"       BTF: {change.name}: {change.before.state} before, "
                         "right after this patch")
        elif change.broken:
            was = change.before.state if change.before else "not built"
            lines.append(f"       BTF: {change.name}: {change.after.describe()} "
                         f"(before: {was})")
    right = [c.name for c in step.kfuncs if c.after.ok and not c.fixed]
    if right:
        more = f" and {len(right) - 4} more" if len(right) > 4 else ""
        lines.append(f"       BTF: {plural(len(right), 'kfunc')} present with the source's "
                     "prototype "
                     f"({', '.join(right[:4])}{more})")
    return lines
