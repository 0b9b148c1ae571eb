"""The files discovery reads, each scanned once, and the problems met reading them."""

from __future__ import annotations

from kfuncfix.source.scan import SourceFile, scan
from kfuncfix.treefiles import TreeFiles


class Reader:
    """Scanned files of one tree by relative path; unreadable ones are recorded."""

    def __init__(self, files: TreeFiles) -> None:
        self.files = files
        self.sources: dict[str, SourceFile] = {}
        self.warnings: list[str] = []
        self.unreadable: list[str] = []

    def source(self, rel: str) -> SourceFile | None:
        if rel in self.sources:
            return self.sources[rel]
        try:
            data = self.files.read(rel)
        except OSError as exc:
            self.warnings.append(f"{rel}: cannot read: {exc.strerror or exc}")
            self.unreadable.append(rel)
            return None
        if b"\0" in data[:8192]:
            self.warnings.append(f"{rel}: binary file skipped")
            self.unreadable.append(rel)
            return None
        src = scan(rel, data)
        self.warnings.extend(src.warnings)
        self.sources[rel] = src
        return src

    def sources_of(self, rels: list[str]) -> list[SourceFile]:
        return [s for s in map(self.source, rels) if s is not None]
