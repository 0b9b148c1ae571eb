"""From a command's options to one Plan: config, rules, index at a revision, plan.

Every command that changes or lints a tree goes this one way (`check`,
`diff`, `apply`, `apply -i`, `apply --branch`, `series`): the tree's files are
read through one file layer at the revision asked for (the worktree, a
commit, or the worktree with a patch laid over it), the rules come from the
options or the tree's `.kfuncfix.toml`, and the Plan is the only product.
The commands only render it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.discover import DEFAULT_MACROS, DEFAULT_TAGS, DEFAULT_WRAPPERS, discover
from kfuncfix.engine import DEFAULT_RULE, Plan, Rule, list_rules, load_rules, plan
from kfuncfix.engine.macrodef import Reader, missing_definition
from kfuncfix.engine.retired import is_retired
from kfuncfix.model import TreeIndex
from kfuncfix.snapshot import Snapshot


@dataclass(frozen=True)
class Conventions:
    """What discovery is told by the rules: the words that mark a definition
    (`__bpf_kfunc`), the macros that do it by wrapping one (`BPF_KFUNC`), and the
    macros whose defining headers are read (so that `check` knows which
    conventions the tree has)."""

    tags: frozenset[str] = DEFAULT_TAGS
    wrappers: frozenset[str] = DEFAULT_WRAPPERS
    macros: frozenset[str] = DEFAULT_MACROS

    @classmethod
    def of(cls, rules: Sequence[Rule]) -> Conventions:
        tags = {w for r in rules if r.style for w in (*r.style.already, r.style.prefix) if w}
        wraps = {w for r in rules if r.style for w in (*r.style.already, r.style.wrap) if w}
        macros = {r.definition.macro for r in rules if r.definition}
        return cls(DEFAULT_TAGS | frozenset(tags), DEFAULT_WRAPPERS | frozenset(wraps),
                   DEFAULT_MACROS | frozenset(macros))


# (snapshot, conventions) -> index; the CLI passes one that prints warnings.
IndexLoader = Callable[[Snapshot, Conventions], TreeIndex]


@dataclass(frozen=True)
class Request:
    """What to plan: the options every command shares."""

    tree: Path
    rules: tuple[str, ...] = ()  # names, paths, comma lists or "all"; () = configured
    paths: tuple[str, ...] | None = None  # tree-relative scope of the rewrite
    rev: str | None = None  # read the tree as committed there (None: the worktree)
    overlay: Mapping[str, bytes | None] | None = None  # files replaced (check --patch)
    lint: bool = False  # no rule given: the conventions the tree adopted (check)
    config: Path | None = None  # settings file instead of TREE/.kfuncfix.toml


@dataclass
class Planned:
    index: TreeIndex
    plan: Plan
    rules_given: bool  # False: the rules came from config or the defaults

    @property
    def root(self) -> Path:
        return Path(self.index.root)

    @property
    def snapshot(self) -> Snapshot:
        assert self.index.snapshot is not None  # run_plan sets it
        return self.index.snapshot


def snapshot_of(request: Request) -> Snapshot:
    """The tree of a request at its revision, with its overlay: built once per run."""
    return Snapshot(request.tree, request.rev, request.overlay)


def configured_rules(request: Request, snapshot: Snapshot | None = None) -> tuple[str, ...]:
    """The rules asked for, else the `.kfuncfix.toml` `rule` of the tree at the request's
    revision (never the worktree's when the run is at a commit), else ()."""
    if request.rules:
        return request.rules
    if request.config is None and not request.tree.is_dir():
        return ()
    config = (snapshot or snapshot_of(request)).config(request.config)
    return (config["rule"],) if "rule" in config else ()


def run_plan(request: Request, load: IndexLoader | None = None,
             snapshot: Snapshot | None = None) -> Planned:
    """The one plan of a request (see the module docstring); `snapshot`: the request's
    tree as the caller already holds it (else built here from the request)."""
    snapshot = snapshot or snapshot_of(request)
    names = configured_rules(request, snapshot)
    # A config file may add rules to `check`, never take the tag lint away: its rules
    # come on top of the conventions the tree adopted.  Rules named on the command
    # line are what the user asked for.
    extra = names if request.lint and not request.rules else ()
    if extra:
        names = ()
    # The rules that may run decide what discovery looks for (a misspelt rule is
    # an error before the tree is read).
    candidates = (load_rules(names) if names
                  else load_rules([*extra, "all", DEFAULT_RULE]))
    loader = load or discover_index
    try:
        index = loader(snapshot, Conventions.of(candidates))
        index.snapshot = snapshot
        read = snapshot.read
        rules = pick_rules(index, names, request.lint, read, extra)
        return Planned(index, plan(index, rules, request.paths, read), bool(names or extra))
    finally:
        snapshot.close()  # its cat-file process; a later read starts another


def rules_of(request: Request) -> tuple[Rule, ...]:
    """The rules a request names (or the configured or default one), without a tree
    index: for what needs only the rule's texts (subject prefix, expected findings)."""
    names = configured_rules(request)
    return load_rules(names or [DEFAULT_RULE])


def pick_rules(index: TreeIndex, names: Sequence[str], lint: bool,
               read: Reader | None = None, extra: Sequence[str] = ()) -> tuple[Rule, ...]:
    """The rules named; with none named, the default rule (or for `check`, every
    convention the tree has adopted: the tag always, later ones where the tree
    defines their macros, a retired macro's rule where the tree no longer
    defines it, plus the `extra` rules a config file adds)."""
    if names:
        return load_rules(names)
    if not lint:
        return load_rules([DEFAULT_RULE])
    read = read or reader_for(index)
    added = load_rules(extra) if extra else ()
    # A configured rule with a definition form (a tag of the tree's own, `__my_kfunc`)
    # is the tree's tag lint: it takes the built-in tags' place, so that what `list`
    # calls tagged `check` does too.  Any other rule only adds to them.
    own_tag = any(r.style is not None for r in added)
    adopted_rules = [r for r in list_rules() if adopted(index, r, read)
                     and r.name not in {a.name for a in added}
                     and not (own_tag and r.style is not None)]
    return (*adopted_rules, *added)


def adopted(index: TreeIndex, rule: Rule, read: Reader) -> bool:
    """`check` lints this rule on this tree without being asked by name: always, or
    (`lint = "when-defined"`) where the tree defines the rule's macro, or
    (`lint = "when-retired"`) where its header no longer defines the retired one."""
    if rule.lint == "always":
        return True
    if rule.lint == "when-retired":
        return is_retired(index, rule.retired, read)
    return rule.lint == "when-defined" and missing_definition(index, rule, read) is None


def reader_for(index: TreeIndex, overlay: Mapping[str, bytes | None] | None = None) -> Reader:
    """Read a file of the indexed tree at its revision: bytes, or None when it is
    not a regular file inside the tree (missing, a symlink, leading out).  The
    snapshot the index was made from, when the overlay is the same; else one new one."""
    snapshot = index.snapshot
    if snapshot is None or dict(overlay or {}) != snapshot.overlay:
        snapshot = Snapshot(Path(index.root), index.rev, overlay)
    return snapshot.read


def discover_index(snapshot: Snapshot, conventions: Conventions,
                   cache: bool | None = None) -> TreeIndex:
    """The plain index loader: discovery of the snapshot for the rules' conventions
    (`cache` False: without the index cache)."""
    return discover(snapshot.files, None, None, None, conventions.tags, conventions.wrappers,
                    conventions.macros, cache=cache)
