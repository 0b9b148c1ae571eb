"""The files discovery reads, each scanned once, and the problems met reading them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kfuncfix.source.scan import SourceFile, scan
from kfuncfix.treefiles import NotRegularFile, TreeFiles
from kfuncfix.words import plural

if TYPE_CHECKING:
    from kfuncfix.indexcache import IndexCache

# (path, bytes) -> its scan, shared by the runs of one command that read the same
# files (`check --git`: a commit, its parent and the scope all hold most of them).
ScanMemo = dict[tuple[str, bytes], SourceFile]


class Reader:
    """Scanned files of one tree by relative path; unreadable ones are recorded."""

    def __init__(self, files: TreeFiles, cache: IndexCache | None = None,
                 memo: ScanMemo | None = None) -> None:
        self.files = files
        self.cache = cache  # scans kept by blob id (kfuncfix.indexcache)
        self.memo = memo
        self.sources: dict[str, SourceFile] = {}
        self.warnings: list[str] = []
        self.unreadable: list[str] = []

    def source(self, rel: str) -> SourceFile | None:
        if rel in self.sources:
            return self.sources[rel]
        try:
            data = self.files.read(rel)
        except NotRegularFile as exc:
            # Not a file of the tree (a link may lead anywhere): skipped, as apply refuses it.
            note = f"{rel}: {exc.strerror}: skipped"
            if note not in self.warnings:
                self.warnings.append(note)
            return None
        except OSError as exc:
            self.warnings.append(f"{rel}: cannot read: {exc.strerror or exc}")
            self.unreadable.append(rel)
            return None
        if b"\0" in data[:8192]:
            # What git calls binary: said by name, never left out unseen.
            self.warnings.append(f"{rel}: a NUL byte in its first 8 KB: read as binary, "
                                 "skipped")
            self.unreadable.append(rel)
            return None
        src = self.memo.get((rel, data)) if self.memo is not None else None
        if src is None:
            src = self.cache.scan(rel, data) if self.cache else scan(rel, data)
            if self.memo is not None:
                self.memo[rel, data] = src
        self.warnings.extend(src.warnings)
        self.sources[rel] = src
        return src

    def note_unsearched(self) -> None:
        """Say which parts of a git tree no search reaches: submodules, sparse paths."""
        for path in self.files.gitlinks():
            self.warnings.append(f"{path}: a submodule: not searched")
        sparse = self.files.sparse_skipped()
        if sparse:
            self.warnings.append(f"{plural(len(sparse), 'C file')} outside the sparse checkout "
                                 f"(e.g. {sparse[0]}): not searched")

    def sources_of(self, rels: list[str]) -> list[SourceFile]:
        return [s for s in map(self.source, rels) if s is not None]
