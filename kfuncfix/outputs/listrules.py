"""The rules of the mailing lists a series must respect.

* Documentation/process/submitting-patches.rst: "do not send more than 15
  patches at once to the vger mailing lists"; netdev's patchwork checks
  enforce it.  A larger series is refused unless the sender raises the
  limit, and the refusal names the splits that stay under it.
* Grouping by list: files whose MAINTAINERS sections share a mailing list
  (`L:`) go to the same people, so one patch per list is the coarsest split
  that still lets each list review its own part.
* Trailers (`Link:` to the discussion, `Cc:` for b4) go after the body, where
  git's sign-off lands after them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.gitseries import PlannedPatch
from kfuncfix.outputs.maintainers import Maintainers

MAX_PATCHES = 15
RULE_SOURCE = "Documentation/process/submitting-patches.rst"
_TRAILER = re.compile(r"^[A-Za-z][\w-]*: \S")
_URL = re.compile(r"https?://[^\s<>\"]+\Z")


def list_of(maintainers: Maintainers, path: str) -> str:
    """The mailing list reviewing `path`: that of its most specific section with one.

    THE REST's list (linux-kernel) only when no section names another: it is on
    everything, so it would put every file in one group.
    """
    fallback = ""
    for section in maintainers.sections_for(path):
        if section.lists:
            if not section.catch_all:
                return section.lists[0]
            fallback = fallback or section.lists[0]
    return fallback


def split_by_list(maintainers: Maintainers, paths: Iterable[str]) -> dict[str, list[str]]:
    """Paths grouped by their list, in first-seen order ("" for files with none)."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(list_of(maintainers, path), []).append(path)
    return groups


def patch_counts(maintainers: Maintainers | None, paths: Sequence[str],
                 extra: int) -> dict[str, int]:
    """How many patches each split gives for these files (`extra`: the definition patch)."""
    counts = {"none": 1 + extra, "file": len(paths) + extra}
    if maintainers is not None:
        counts["subsystem"] = len(maintainers.split(paths)) + extra
        counts["list"] = len(split_by_list(maintainers, paths)) + extra
    return counts


def check_patch_count(count: int, limit: int, counts: Mapping[str, int]) -> None:
    """Refuse a series longer than `limit`, naming the splits that fit."""
    if count <= limit:
        return
    fitting = [f"--split {name} ({n} patch{'es' if n != 1 else ''})"
               for name, n in sorted(counts.items(), key=lambda c: (-c[1], c[0])) if n <= limit]
    offer = f"use {' or '.join(fitting)}, or " if fitting else ""
    raise KfuncfixError(
        f"the series has {count} patches, more than the lists take at once ({limit}, "
        f"{RULE_SOURCE}): {offer}allow it with --max-patches {count}")


def with_trailers(patch: PlannedPatch, trailers: Sequence[str]) -> PlannedPatch:
    """The patch with `Key: value` trailers after its body (the sign-off comes after)."""
    if not trailers:
        return patch
    for line in trailers:
        if "\n" in line or not _TRAILER.match(line):
            raise KfuncfixError(f"{line!r} is not a one-line trailer 'Key: value'")
    body = patch.body.strip("\n")
    return replace(patch, body=(body + "\n\n" if body.strip() else "") + "\n".join(trailers))


def link_trailer(url: str) -> str:
    """`Link: URL` for a discussion on lore (or any http(s) address)."""
    if not _URL.match(url):
        raise KfuncfixError(f"--link {url!r} is not an http(s) URL")
    # The trailer reaches every commit, mail and terminal that shows them: no control
    # or format character (ESC, BEL, a bidi override) and no separator may ride in it.
    odd = next((c for c in url if unicodedata.category(c)[0] in "CZ"), None)
    if odd is not None:
        raise KfuncfixError(f"--link {url!r} holds U+{ord(odd):04X} "
                            f"({unicodedata.name(odd, 'a control character')})")
    return f"Link: {url}"
