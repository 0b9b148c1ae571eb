"""From a command's options to one Plan: config, rules, index at a revision, plan.

Every command that changes or lints a tree goes this one way (`check`,
`diff`, `apply`, `apply -i`, `apply --branch`, `series`): the tree's files are
read through one file layer at the revision asked for (the worktree, a
commit, or the worktree with a patch laid over it), the rules come from the
options or the tree's `.kfuncfix.toml`, and the Plan is the only product.
The commands only render it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfuncfix.config import load_config
from kfuncfix.discover import DEFAULT_MACROS, DEFAULT_TAGS, DEFAULT_WRAPPERS, discover
from kfuncfix.engine import DEFAULT_RULE, Plan, Rule, list_rules, load_rules, plan
from kfuncfix.engine.macrodef import Reader, missing_definition
from kfuncfix.engine.retired import is_retired
from kfuncfix.model import TreeIndex
from kfuncfix.treefiles import TreeFiles


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


# (tree, overlay, revision, conventions) -> index; the CLI passes one that prints warnings.
IndexLoader = Callable[[Path, "dict[str, bytes | None] | None", "str | None", Conventions],
                       TreeIndex]


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


def configured_rules(request: Request) -> tuple[str, ...]:
    """The rules asked for, else the tree's `.kfuncfix.toml` `rule`, else ()."""
    if request.rules:
        return request.rules
    if request.tree.is_dir():
        config = load_config(request.tree, request.config)
        if "rule" in config:
            return (config["rule"],)
    return ()


def run_plan(request: Request, load: IndexLoader | None = None) -> Planned:
    """The one plan of a request (see the module docstring)."""
    names = configured_rules(request)
    # The rules that may run decide what discovery looks for (a misspelt rule is
    # an error before the tree is read).
    candidates = load_rules(names) if names else load_rules(["all", DEFAULT_RULE])
    loader = load or _discover
    index = loader(request.tree, dict(request.overlay) if request.overlay else None,
                   request.rev, Conventions.of(candidates))
    read = reader_for(index, request.overlay)
    rules = pick_rules(index, names, request.lint, read)
    return Planned(index, plan(index, rules, request.paths, read), bool(names))


def rules_of(request: Request) -> tuple[Rule, ...]:
    """The rules a request names (or the configured or default one), without a tree
    index: for what needs only the rule's texts (subject prefix, expected findings)."""
    names = configured_rules(request)
    return load_rules(names or [DEFAULT_RULE])


def pick_rules(index: TreeIndex, names: Sequence[str], lint: bool,
               read: Reader | None = None) -> tuple[Rule, ...]:
    """The rules named; with none named, the default rule (or for `check`, every
    convention the tree has adopted: the tag always, later ones where the tree
    defines their macros, and a retired macro's rule where the tree no longer
    defines it)."""
    if names:
        return load_rules(names)
    if not lint:
        return load_rules([DEFAULT_RULE])
    read = read or reader_for(index)
    return tuple(r for r in list_rules() if adopted(index, r, read))


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
    not a regular file inside the tree (missing, a symlink, leading out)."""
    root = Path(index.root)
    files = TreeFiles(root, dict(overlay or {}), index.rev)

    def read(rel: str) -> bytes | None:
        try:
            if index.rev is None and rel not in files.overlay:
                path = root / rel
                real = os.path.realpath(path)
                if os.path.islink(path) or not real.startswith(str(root.resolve()) + os.sep):
                    return None
                if not os.path.isfile(path):
                    return None
            if not files.exists(rel):
                return None
            return files.read(rel)
        except OSError:
            return None
        finally:
            files.close()

    return read


def _discover(tree: Path, overlay: dict[str, bytes | None] | None, rev: str | None,
              conventions: Conventions) -> TreeIndex:
    return discover(tree, overlay, None, rev, conventions.tags, conventions.wrappers,
                    conventions.macros)
