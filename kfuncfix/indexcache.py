"""The index cache: what discovery learned from a file, kept under the file's git blob id.

A second `list` or `check` of a tree, or of a tree with a few files changed,
scans and searches only what changed.  Three kinds of entries:

- `scan/`: the scan of one file (`source.scan.freeze`) under its path and the
  blob id of the bytes read (`git hash-object`: sha1 of `blob SIZE\\0` + bytes).
  The bytes are read and hashed on every run: no stat information is trusted
  for what is scanned.
- `grep/` and `listing/`: the files one search matched in one state of the tree
  (see `kfuncfix.grepcache`).
- `prototypes`: what pycparser made of each prototype text.

Every entry holds its whole key (the format key: kfuncfix's version, the scan
format, the code that produced it; plus the entry's own key) and a CRC of its
bytes.  An entry whose key differs is not used; one that does not decode is
reported in one line, ignored and written again.  Entries are written to a
temporary file and renamed, so a reader sees a whole entry or none, and two runs
at once cannot corrupt each other's.  The directory is capped in size (least
recently used entries go first) and may be deleted at any time; it is not used
when another user could write into it (its entries are pickles).

Where: `$KFUNCFIX_CACHE_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/kfuncfix/index`
(beside the trees of scripts/fetch-linux-source.sh and `--build`'s results).
`KFUNCFIX_NO_CACHE=1` (or `--no-cache`) turns it off.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import stat
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kfuncfix import __version__
from kfuncfix.source.header import FunctionDef
from kfuncfix.source.prototype import Prototype, PrototypeError, prototype_key, prototype_of
from kfuncfix.source.scan import SCAN_FORMAT, SourceFile, freeze, scan, thaw

FORMAT = 1  # bump when an entry's layout changes
MAGIC = b"kfuncfix index cache\n"
HEADER = struct.Struct(">IQ")  # CRC-32 and length of the payload
MAX_BYTES = 512 * 2**20
MAX_PROTOTYPES = 50_000
STALE_TEMP = 3600.0  # seconds after which a temporary file is another run's leftover
# The modules whose code decides what an entry holds: a change to them is a new format.
_PRODUCERS = ("source/scan.py", "source/header.py", "source/prototype.py", "source/ctokens.py",
              "indexcache.py", "grepcache.py")

Warn = Callable[[str], None]


def blob_id(data: bytes) -> str:
    """The id git gives these bytes as a blob (`git hash-object`)."""
    digest = hashlib.sha1(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def default_dir() -> Path:
    explicit = os.environ.get("KFUNCFIX_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kfuncfix" / "index"


def disabled_by_env() -> bool:
    return os.environ.get("KFUNCFIX_NO_CACHE", "") not in ("", "0")


def format_key() -> str:
    """What every entry's key starts with: a new kfuncfix or scanner means new entries."""
    digest = hashlib.sha1(f"{FORMAT} {SCAN_FORMAT} {__version__} {sys.version_info[:2]} "
                          f"{pickle.HIGHEST_PROTOCOL}".encode())
    here = Path(__file__).parent
    for rel in _PRODUCERS:
        try:
            digest.update((here / rel).read_bytes())
        except OSError:
            digest.update(rel.encode())  # a build without sources: the version decides
    try:
        from importlib.metadata import version
        digest.update(version("pycparser").encode())
    except Exception:  # noqa: BLE001 - any failure: the key simply leaves it out
        pass
    return digest.hexdigest()


class Store:
    """Entries as files under one directory: load by key, save atomically, keep a cap."""

    def __init__(self, root: Path, warn: Warn, max_bytes: int = MAX_BYTES) -> None:
        self.root = root
        self.warn = warn
        self.max_bytes = max_bytes
        self.format = format_key()
        self.enabled = self._usable()
        self.written = 0

    def _usable(self) -> bool:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.stat(self.root)
        except OSError as exc:
            self.warn(f"index cache {self.root}: {exc.strerror or exc}: not used")
            return False
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            self.warn(f"index cache {self.root}: writable by another user: not used")
            return False
        return True

    def path(self, kind: str, name: str) -> Path:
        return self.root / kind / name[:2] / name

    def name(self, *key: object) -> str:
        return hashlib.sha1(repr((self.format, *key)).encode()).hexdigest()

    def load(self, kind: str, key: tuple[object, ...]) -> Any:
        """The value saved under `key`, or None (absent, another key, or unreadable)."""
        if not self.enabled:
            return None
        path = self.path(kind, self.name(*key))
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            return None
        try:
            stored_key, value = self._decode(raw)
        except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises
            self.warn(f"index cache: {path}: {exc}: ignored, written again")
            self._remove(path)
            return None
        if stored_key != (self.format, *key):
            return None  # another file, another blob or another kfuncfix: never used
        self._touch(path)
        return value

    def save(self, kind: str, key: tuple[object, ...], value: object) -> None:
        if not self.enabled:
            return
        payload = pickle.dumps(((self.format, *key), value), protocol=pickle.HIGHEST_PROTOCOL)
        path = self.path(kind, self.name(*key))
        data = MAGIC + HEADER.pack(zlib.crc32(payload), len(payload)) + payload
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            return  # a full disk or a deleted directory: the cache is only a cache
        self.written += len(data)

    def exists(self, kind: str, key: tuple[object, ...]) -> bool:
        return self.enabled and self.path(kind, self.name(*key)).exists()

    @staticmethod
    def _decode(raw: bytes) -> tuple[Any, Any]:
        if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + HEADER.size:
            raise ValueError("not an index cache entry (truncated?)")
        crc, size = HEADER.unpack_from(raw, len(MAGIC))
        payload = raw[len(MAGIC) + HEADER.size:]
        if len(payload) != size or zlib.crc32(payload) != crc:
            raise ValueError("damaged (size or checksum differs)")
        # The many small objects of a scan: no cycles, so the collector's passes
        # would only cost time (see source.scan.scan).
        enabled = gc.isenabled()
        gc.disable()
        try:
            stored_key, value = pickle.loads(payload)
        finally:
            if enabled:
                gc.enable()
        return stored_key, value

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass

    @staticmethod
    def _touch(path: Path) -> None:
        """Mark an entry used (the cap removes the least recently used first)."""
        try:
            if time.time() - path.stat().st_mtime > 3600:
                os.utime(path)
        except OSError:
            pass

    def trim(self) -> None:
        """Keep the directory under its cap: the oldest entries go first."""
        if not self.enabled or not self.written:
            return
        entries: list[tuple[float, int, str]] = []
        now = time.time()
        for dirpath, _, names in os.walk(self.root):
            for name in names:
                full = os.path.join(dirpath, name)
                try:
                    info = os.stat(full)
                except OSError:
                    continue
                if name.startswith(".tmp-") and now - info.st_mtime > STALE_TEMP:
                    self._remove(Path(full))  # a run that died before renaming
                    continue
                entries.append((info.st_mtime, info.st_size, full))
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return
        for _, size, full in sorted(entries):
            if total <= self.max_bytes * 3 // 4:
                break
            self._remove(Path(full))
            total -= size


class IndexCache:
    """One discovery run's view of the store: scans by blob id, prototypes by text."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._prototypes: dict[tuple[str, str], Prototype | str] | None = None
        self._new_prototypes = 0
        self._scans: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def scan(self, rel: str, data: bytes) -> SourceFile:
        """The scan of these bytes of `rel`: from the store when it has it."""
        key = ("scan", rel, blob_id(data))
        state = self.store.load("scan", key)
        if state is not None:
            try:
                return thaw(state, rel, data)
            except Exception as exc:  # noqa: BLE001 - a pickle of another shape
                self.store.warn(f"index cache: scan of {rel}: {exc}: ignored, written again")
        src = scan(rel, data)
        self._scans.append((key, freeze(src)))
        return src

    def prototype(self, src: SourceFile, func: FunctionDef) -> Prototype:
        """`prototype_of`, remembered by the prototype's text (not by file)."""
        if self._prototypes is None:
            loaded = self.store.load("prototypes", ("prototypes",))
            self._prototypes = loaded if isinstance(loaded, dict) else {}
        key = prototype_key(src, func)
        found = self._prototypes.get(key)
        if found is None:
            try:
                found = prototype_of(src, func)
            except PrototypeError as exc:
                found = str(exc)
            self._prototypes[key] = found
            self._new_prototypes += 1
        if isinstance(found, str):
            raise PrototypeError(found)
        return found

    def flush(self) -> None:
        """Write what this run learned, then keep the store under its cap."""
        for key, state in self._scans:
            self.store.save("scan", key, state)
        self._scans = []
        if self._new_prototypes and self._prototypes is not None:
            # Another run may have added some meanwhile: keep both (newest last).
            merged = self.store.load("prototypes", ("prototypes",))
            table = dict(merged) if isinstance(merged, dict) else {}
            table.update(self._prototypes)
            if len(table) > MAX_PROTOTYPES:
                table = dict(list(table.items())[-MAX_PROTOTYPES:])
            self.store.save("prototypes", ("prototypes",), table)
            self._new_prototypes = 0
        self.store.trim()
