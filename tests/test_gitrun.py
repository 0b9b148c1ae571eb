"""The git layer and the import graph: one runner, no upward arrows, no import circles.

Static tests over kfuncfix's own source (no git, no tree): a new git call outside
`kfuncfix/gitrun.py`, or an import that points up the layers (engine -> pipeline,
outputs -> cli), fails here with the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError

PACKAGE = Path(__file__).resolve().parent.parent / "kfuncfix"
GIT_LAYER = {"gitrun"}  # the one module that starts git processes
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output", "getoutput",
                    "getstatusoutput"}

# The layers of ARCHITECTURE.md, lowest first: a module may import its own layer or
# below, never above.  (cli -> pipeline -> snapshot -> discover -> plan -> outputs.)
LAYERS = [
    ("errors", "words", "userfiles", "safematch", "pathquote", "mailheaders", "gitrun",
     "gitpath", "sample",
     "source", "btf.errors", "btf.elf", "btf.types", "btf.reader",
     "btf.btf_ids"),
    ("model", "notes", "config", "treefiles", "btf", "indexcache", "grepcache"),
    ("snapshot",),
    ("discovery", "discover"),
    ("engine",),
    ("outputs",),
    ("lint", "patchcheck", "report", "interactive", "series", "pipeline", "runreport",
     "experiment", "commitwalk", "commitview", "commitscope", "commitlint"),
    ("cli", "__main__"),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        out[name] = path
    return out


def _layer(name: str) -> int:
    best, rank = -1, -1
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), number
    assert rank >= 0, f"kfuncfix.{name} is in no layer of this test: add it to LAYERS"
    return rank


def _runtime_imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported kfuncfix module, line) for every import not under `if TYPE_CHECKING`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(sub) for sub in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "kfuncfix":
            base = node.module.removeprefix("kfuncfix").lstrip(".")
            for alias in node.names:
                full = f"{base}.{alias.name}".lstrip(".")
                found.append((full if full in modules else base, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "kfuncfix":
                    found.append((alias.name.removeprefix("kfuncfix").lstrip("."),
                                  node.lineno))
    return [(name, line) for name, line in found if name]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m, _ in _runtime_imports(path, modules)}
            for name, path in modules.items()}


def test_no_module_but_gitrun_runs_git() -> None:
    offences = []
    for name, path in _modules().items():
        if name in GIT_LAYER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "git"
                                                    for a in node.names):
                offences.append(f"{name}:{node.lineno}: imports GitPython")
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "git" \
                    and node.level == 0:
                offences.append(f"{name}:{node.lineno}: imports from GitPython")
            if isinstance(node, ast.Attribute) and node.attr == "execute" and \
                    isinstance(node.value, ast.Attribute) and node.value.attr == "git":
                offences.append(f"{name}:{node.lineno}: repo.git.execute")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in SUBPROCESS_CALLS and node.args:
                first = node.args[0]
                words = [e.value for e in getattr(first, "elts", [])[:1]
                         if isinstance(e, ast.Constant)]
                if words == ["git"] or (isinstance(first, ast.Constant)
                                        and str(first.value).startswith("git ")):
                    offences.append(f"{name}:{node.lineno}: runs git itself")
    assert offences == [], "git runs outside kfuncfix.gitrun:\n" + "\n".join(offences)


def test_the_grep_test_catches_a_git_call(tmp_path: Path) -> None:
    """The check above would see a raw git call (it is not vacuous)."""
    source = "import subprocess\nsubprocess.run(['git', 'status'])\n"
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    first = calls[0].args[0]
    assert [e.value for e in first.elts[:1]] == ["git"]  # type: ignore[attr-defined]


def test_no_upward_imports() -> None:
    modules = _modules()
    upward = []
    for name, path in modules.items():
        for imported, line in _runtime_imports(path, modules):
            if _layer(imported) > _layer(name):
                upward.append(f"{name}:{line} imports {imported}")
    assert upward == [], "imports pointing up the layers:\n" + "\n".join(upward)


def test_no_import_circles() -> None:
    graph = _graph()
    circles = []
    # Tarjan's strongly connected components: any component of two or more is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("value", ["--output=/tmp/x", "-x", "", "a b", "a\nb", "HEAD\x1b[2J"])
def test_option_like_or_odd_revisions_are_refused(value: str) -> None:
    with pytest.raises(KfuncfixError, match="is not a revision"):
        gitrun.revision(value)


def test_git_message_is_one_line_with_control_characters_shown() -> None:
    message = gitrun.git_message(b"fatal: 'a\x1bb' is not valid\nhint: more\n")
    assert message == "'a\\x1bb' is not valid"


def test_branch_ref_takes_a_full_ref_as_the_branch() -> None:
    assert gitrun.branch_ref("refs/heads/x") == "refs/heads/x"
    assert gitrun.branch_ref("x") == "refs/heads/x"
    assert gitrun.branch_name("refs/heads/x") == "x"
