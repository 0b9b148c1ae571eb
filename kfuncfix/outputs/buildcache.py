"""What `--build` keeps between runs: each compile's result, keyed on the files it read.

As in ccache's direct mode, an object's earlier compiles leave their
dependency lists (Kbuild's `.cmd` files name every header); a result is
stored under the git blob ids of exactly those files, and found again when
they are all as they were, whatever the commit.  Reading blob ids from git
costs nothing: no file is hashed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfuncfix import gitrun
from kfuncfix.btf.dwarf import DwarfFunc
from kfuncfix.outputs.buildbtf import ObjectBTF
from kfuncfix.outputs.kbuild import CompilerWarning
from kfuncfix.treefiles import TreeFiles

CACHE_FORMAT = 4  # bump when a stored result would mean something else


class Unreadable(Exception):
    """A file of the build directory that is not the JSON we wrote (cut short by a
    crash or a full disk, edited by hand): it is ignored and made again."""


def read_json(path: Path) -> Any:
    """The JSON value kept in path; Unreadable when it is not one we could have written."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise Unreadable(f"{path}: unreadable ({exc.__class__.__name__}), made again") from exc


@dataclass
class ObjectResult:
    """One object at one state of the series."""

    obj: str
    ok: bool
    warnings: list[CompilerWarning] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cached: bool = False
    btf: ObjectBTF | None = None
    deps: list[str] = field(default_factory=list)  # the tree files it was compiled from


class Blobs:
    """The blob id of every file at the current step, and what the last step changed."""

    def __init__(self, root: Path, base: str) -> None:
        self.root = root
        self.sha = base
        listing = TreeFiles(root, rev=base)
        self.ids = listing.object_ids()
        listing.close()
        self.changed: set[str] = set()

    def _run(self, *args: str) -> str:
        return gitrun.out(self.root, *args).decode("utf-8", "surrogateescape")

    def move_to(self, sha: str) -> None:
        """Step to sha; `changed` becomes the paths that differ from the previous step."""
        self.changed = set()
        if sha == self.sha:
            return
        fields = self._run("diff-tree", "-r", "-z", "--no-renames", self.sha, sha).split("\0")
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            if not meta.startswith(":"):
                continue
            new_blob = meta.split()[3]
            self.changed.add(path)
            if set(new_blob) == {"0"}:
                self.ids.pop(path, None)
            else:
                self.ids[path] = new_blob
        self.sha = sha

    def blob(self, path: str) -> str:
        return self.ids.get(path, "-")

    def changed_any(self, paths: Sequence[str]) -> bool:
        return any(p in self.changed for p in paths)


class ResultCache:
    """Results on disk under `directory`; `salt` names what else they depend on
    (base commit, configuration, compiler and pahole versions)."""

    def __init__(self, directory: Path, salt: Sequence[str]) -> None:
        self.directory = directory
        self.salt = list(salt)

    def lookup(self, obj: str, blobs: Blobs) -> ObjectResult | None:
        """A stored result whose files are all as they are now, if any.

        A patch that adds an #include changes the including file, so a list
        recorded before the patch cannot match the patched state by mistake.
        """
        for deps in self._manifest(obj):
            found = self._load(self._key(obj, deps, blobs))
            if found is not None:
                return found
        return None

    def store(self, result: ObjectResult, blobs: Blobs) -> None:
        """Keep a successful compile; a failed one has no dependency list to key it."""
        if not result.ok or not result.deps:
            return
        lists = self._manifest(result.obj)
        if result.deps not in lists:
            path = self._manifest_path(result.obj)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([*lists, result.deps]))
        key = self._key(result.obj, result.deps, blobs)
        objects = self.directory / "objects"
        objects.mkdir(parents=True, exist_ok=True)
        if result.btf is not None:
            (objects / f"{key}.btf").write_bytes(result.btf.raw)
        (objects / f"{key}.json").write_text(json.dumps({
            "obj": result.obj, "ok": result.ok,
            "warnings": [[w.file, w.line, w.col, w.message] for w in result.warnings],
            "errors": result.errors, "btf": result.btf is not None, "deps": result.deps,
            "symbols": list(result.btf.function_symbols) if result.btf else [],
            "dwarf": ({n: f.to_json() for n, f in result.btf.dwarf.items()}
                      if result.btf and result.btf.dwarf is not None else None)}))

    def _manifest_path(self, obj: str) -> Path:
        return self.directory / "deps" / (obj.replace("/", "%") + ".json")

    def _manifest(self, obj: str) -> list[list[str]]:
        path = self._manifest_path(obj)
        try:
            lists = read_json(path) if path.is_file() else []
        except Unreadable:
            return []
        if not isinstance(lists, list) or not all(isinstance(x, list) for x in lists):
            return []
        return lists

    def _key(self, obj: str, deps: list[str], blobs: Blobs) -> str:
        data = json.dumps([CACHE_FORMAT, *self.salt, obj, [(p, blobs.blob(p)) for p in deps]])
        return hashlib.sha256(data.encode()).hexdigest()

    def _load(self, key: str) -> ObjectResult | None:
        path = self.directory / "objects" / f"{key}.json"
        if not path.is_file():
            return None
        try:
            data = read_json(path)
            btf = None
            if data["btf"]:
                dwarf = data.get("dwarf")  # absent in results stored before DWARF was read
                btf = ObjectBTF((self.directory / "objects" / f"{key}.btf").read_bytes(),
                                tuple(data["symbols"]),
                                {n: DwarfFunc.from_json(n, f) for n, f in dwarf.items()}
                                if dwarf is not None else None)
            return ObjectResult(data["obj"], data["ok"],
                                [CompilerWarning(*w) for w in data["warnings"]], data["errors"],
                                True, btf, data["deps"])
        except (Unreadable, OSError, LookupError, TypeError, AttributeError):
            return None  # not a result we stored: compile again
