"""The action protocol has no side channels: nobody outside the actions knows one by
its class, and a result's status is the `Status` enum, never a spelled-out string.

Static checks over kfuncfix's source (milliseconds).
"""

from __future__ import annotations

import ast
import importlib
import inspect

from kfuncfix.engine.actions import Action
from tests.test_gitrun import _modules

ACTIONS_PACKAGE = "engine.actions"


def action_classes_imported(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) of every Action subclass a module imports by name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.startswith("kfuncfix."):
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if inspect.isclass(value) and issubclass(value, Action) and value is not Action:
                    found.append((alias.name, node.lineno))
    return found


def test_no_module_but_the_actions_names_an_action_class() -> None:
    offences = [f"kfuncfix.{name}:{line}: imports {cls}"
                for name, path in _modules().items()
                if not (name == ACTIONS_PACKAGE or name.startswith(ACTIONS_PACKAGE + "."))
                for cls, line in action_classes_imported(ast.parse(path.read_text("utf-8")))]
    assert offences == [], "ask the protocol (kfuncfix/engine/actions/__init__.py) " \
        "instead:\n" + "\n".join(offences)


def test_the_check_sees_an_action_class_imported() -> None:
    tree = ast.parse("from kfuncfix.engine.actions.diag import DiagBlockAction\n"
                     "from kfuncfix.engine.actions import Action, parse_action\n")
    assert action_classes_imported(tree) == [("DiagBlockAction", 1)]


def status_strings(tree: ast.Module) -> list[int]:
    """Lines comparing a `.status` with a string literal (or a tuple of them)."""
    def literal(node: ast.expr) -> bool:
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(literal(e) for e in node.elts)
        return isinstance(node, ast.Constant) and isinstance(node.value, str)

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "status" for s in sides) \
                    and any(literal(s) for s in sides):
                lines.append(node.lineno)
    return lines


def test_statuses_are_compared_as_the_enum() -> None:
    offences = [f"kfuncfix.{name}:{line}" for name, path in _modules().items()
                for line in status_strings(ast.parse(path.read_text("utf-8")))]
    assert offences == [], "compare with kfuncfix.engine.plan.Status:\n" + "\n".join(offences)


def test_the_check_sees_a_status_string() -> None:
    tree = ast.parse("if r.status != 'skipped':\n    pass\n"
                     "x = r.status in ('note', 'changed')\ny = r.status == SKIPPED\n")
    assert status_strings(tree) == [1, 3]


def test_action_modules_import_the_protocol_not_the_package() -> None:
    """The package's __init__ loads every action module; an action module that imported
    the package back would be a circle the loader holds together (invisible to the
    import graph of test_gitrun, which does not see importlib)."""
    offences = []
    for name, path in _modules().items():
        if not name.startswith(ACTIONS_PACKAGE + ".") or name == ACTIONS_PACKAGE + ".base":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "kfuncfix." + ACTIONS_PACKAGE:
                offences.append(f"kfuncfix.{name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
                offences.append(f"kfuncfix.{name}:{node.lineno}")
    assert offences == [], "import kfuncfix.engine.actions.base instead:\n" + "\n".join(offences)
