"""What the wheel ships is the program: every package, and no code only the tests use.

Static checks over pyproject.toml and kfuncfix's source (no build, milliseconds):
setuptools packages exactly the `packages` listed in pyproject, so a package missing
there is missing from the wheel; a module that `kfuncfix` never imports, or a function
that only tests and benchmarks call, belongs under tests/.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import REPO
from tests.test_gitrun import PACKAGE, _graph, _modules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# Packages whose __init__ imports every submodule by name at run time
# (`importlib.import_module(f"{__name__}.{name}")`): the commands and the actions.
DYNAMIC_PACKAGES = ("cli", "engine.actions")
# Public names that tests call and kfuncfix does not, kept on purpose (say why).
TEST_ONLY_KEPT = {
    # The reference the scoped planner must equal; it lives next to lint_range.
    "full_plans",
}


def _shipped_packages() -> set[str]:
    return set(PYPROJECT["tool"]["setuptools"]["packages"])


def _package_dirs() -> set[str]:
    """Every directory of kfuncfix/ that is a Python package, as a dotted name."""
    found = {"kfuncfix"}
    for init in PACKAGE.rglob("__init__.py"):
        parts = init.parent.relative_to(PACKAGE).parts
        if parts and "tree" not in parts:  # kfuncfix/sample/tree is package data
            found.add(".".join(("kfuncfix", *parts)))
    return found


def test_the_wheel_ships_every_package() -> None:
    listed = _shipped_packages()
    mapped = set(PYPROJECT["tool"]["setuptools"].get("package-dir", {}))
    assert listed - mapped == _package_dirs()


def reachable(graph: dict[str, set[str]], roots: Iterable[str]) -> set[str]:
    """Modules imported, directly or not, from roots (importing a.b imports a)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in graph.get(name, ()):
            parts = imported.split(".")
            todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if name in DYNAMIC_PACKAGES:
            todo += [m for m in graph if m.rpartition(".")[0] == name]
    return seen


def _entry_points() -> set[str]:
    """`kfuncfix` (the package), `python -m kfuncfix` and the console scripts."""
    roots = {"", "__main__"}
    for target in PYPROJECT["project"]["scripts"].values():
        module = target.split(":")[0]
        roots.add(module.removeprefix("kfuncfix").lstrip("."))
    return roots


def test_every_module_is_reachable_from_the_command() -> None:
    graph = _graph()
    unused = sorted(set(graph) - reachable(graph, _entry_points()))
    assert unused == [], f"kfuncfix never imports these (tests only?): {unused}"


def test_reachability_sees_an_unused_module() -> None:
    graph = {"": set(), "cli": {"engine.plan"}, "engine": set(), "engine.plan": set(),
             "engine.writer": set(), "cli.tree": {"report"}, "report": set()}
    assert set(graph) - reachable(graph, {"", "cli"}) == {"engine.writer"}


def _public_definitions(tree: ast.Module) -> set[str]:
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and not node.name.startswith("_")}


def _names_used(tree: ast.Module) -> set[str]:
    """Every name a module reads, imports or spells as a string (getattr, __all__)."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.alias):
            used.add(node.name.rpartition(".")[2])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value)
    return used


def _imported_from_kfuncfix(paths: Iterable[Path]) -> dict[str, str]:
    """name -> importing file, for `from kfuncfix.x import name` in paths."""
    found = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kfuncfix"):
                for alias in node.names:
                    found.setdefault(alias.name, str(path.relative_to(REPO)))
    return found


def test_no_public_function_is_used_only_by_tests() -> None:
    defined: dict[str, str] = {}
    used: set[str] = set()
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined.update(dict.fromkeys(_public_definitions(tree), name))
        used |= _names_used(tree)
    outside = [*REPO.glob("tests/*.py"), *REPO.glob("benchmarks/*.py")]
    test_only = sorted(f"kfuncfix.{defined[n]}.{n} (imported by {where})"
                       for n, where in _imported_from_kfuncfix(outside).items()
                       if n in defined and n not in used and n not in TEST_ONLY_KEPT)
    assert test_only == [], "only tests use these; move them under tests/:\n" + \
        "\n".join(test_only)
