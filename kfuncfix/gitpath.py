"""Path names as git writes them in patches, and the check that one stays inside a tree.

git C-quotes a name that holds control bytes, a quote, a backslash or
(with core.quotePath, the default) non-ASCII bytes: `"a/kernel/caf\\303\\251.c"`.
A patch from elsewhere may name anything at all, so every name is checked
before it is used to read or write a file: relative, no `.` or `..`
component, no `.git`, and no component that is a symbolic link in the tree.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kfuncfix.errors import KfuncfixError

_C_ESCAPE = re.compile(r'\\([0-7]{3}|.)')
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
# Lines of a patch that name the files it touches: `diff --git a/x b/y`, where git
# C-quotes a name with non-ASCII or control bytes and leaves spaces as they are.
_DIFF_GIT = "diff --git "
_NAME = r'"(?:[^"\\]|\\.)*"|\S+'
_DIFF_GIT_NAMES = re.compile(rf"({_NAME}) ({_NAME})")


def unquote(name: str) -> str:
    """A name as git C-quotes it ("caf\\303\\251.c"), back to the path it stands for.

    Bytes that are not UTF-8 come back as surrogates (os.fsdecode), so that
    os.fsencode gives the exact bytes of the name again.  An unquoted name is
    returned as it is.
    """
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    raw = bytearray()
    pos = 1
    for escape in _C_ESCAPE.finditer(name, 1, len(name) - 1):
        raw += os.fsencode(name[pos:escape.start()])
        code = escape.group(1)
        raw.append(int(code, 8) & 0xFF if len(code) == 3 else _C_ESCAPES.get(code, ord(code)))
        pos = escape.end()
    raw += os.fsencode(name[pos:len(name) - 1])
    return os.fsdecode(bytes(raw))


def diff_git_names(line: str) -> list[str]:
    """The two paths of a `diff --git` line (without a/ and b/), or [] for other lines."""
    if not line.startswith(_DIFF_GIT):
        return []
    rest = line[len(_DIFF_GIT):].rstrip("\r\n")
    # Unquoted, a name may hold spaces: git writes the same name twice unless renamed.
    half = (len(rest) - 1) // 2
    if (rest[:2], rest[half:half + 3]) == ("a/", " b/") and rest[2:half] == rest[half + 3:]:
        return [rest[2:half]] * 2
    pair = _DIFF_GIT_NAMES.fullmatch(rest)
    if pair is None:
        return []
    names = [unquote(n) for n in pair.groups()]
    if not (names[0].startswith("a/") and names[1].startswith("b/")):
        return []
    return [names[0][2:], names[1][2:]]


def check_tree_path(path: str, root: Path, what: str = "the patch") -> str:
    """`path` if it names a place inside the tree at root without passing a symbolic link.

    Raises a one-line KfuncfixError otherwise; nothing is created or read.
    """
    if path.startswith("/"):
        raise KfuncfixError(f"{what} names the absolute path {path!r}; only paths "
                            "relative to the tree are accepted (as git diff writes them)")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\0" in path:
        raise KfuncfixError(f"{what} names {path!r}, which is not a plain path inside the "
                            "tree (empty, '.' or '..' component)")
    if any(part.lower() == ".git" for part in parts):
        raise KfuncfixError(f"{what} names {path!r}, inside the repository's .git")
    here = root
    for part in parts:
        here = here / part
        if here.is_symlink():
            raise KfuncfixError(f"{what} names {path!r}, which goes through the symbolic "
                                f"link {here.relative_to(root).as_posix()} in the tree")
        if not here.exists():
            break  # what does not exist yet cannot be a link
    return path
