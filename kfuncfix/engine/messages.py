"""Commit and cover-letter texts from a rule's templates.

Templates are `str.format` strings with the placeholders of
`rule.TEMPLATE_FIELDS`; bodies are reflowed to 72 columns after filling
in, paragraph by paragraph, so a long list of kfunc names still reads well.
Indented lines and list items are kept as written.
"""

from __future__ import annotations

import os
import posixpath
import textwrap
from collections.abc import Sequence

from kfuncfix.engine.plan import FileChange, Plan
from kfuncfix.engine.rule import Rule
from kfuncfix.pathquote import quote_path

BODY_WIDTH = 72


def natural_join(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def where(paths: Sequence[str]) -> str:
    """A short name for the place of these files: the file, or their common directory."""
    if len(paths) == 1:
        return posixpath.basename(paths[0])  # subjects stay short; the diffstat has the path
    common = posixpath.commonpath(paths) if paths else ""
    return common + "/" if common else "the tree"


def display_path(path: str) -> str:
    """A tree path as message text: mails are UTF-8, so undecodable bytes show as \\xNN.

    A name with a control character (a newline would end the subject) is
    quoted as git quotes it: `"a\\nb.c"`.
    """
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        return quote_path(path)
    return text


def template_values(changes: Sequence[FileChange], patches: int = 0) -> dict[str, str]:
    kfuncs = list(dict.fromkeys(n for c in changes for n in c.kfuncs))
    sets = list(dict.fromkeys(n for c in changes for n in c.sets))
    paths = [display_path(c.path) for c in changes]
    return {
        "kfuncs": natural_join([f"{n}()" for n in kfuncs]),
        "count": str(len(kfuncs)),
        "files": natural_join(paths),
        "file_count": str(len(paths)),
        "where": where(paths),
        "sets": natural_join(sets),
        "set_count": str(len(sets)),
        "patches": str(patches),
    }


def reflow(text: str, width: int = BODY_WIDTH) -> str:
    """Rewrap each plain paragraph; keep indented lines and list items as they are."""
    out = []
    for para in text.strip("\n").split("\n\n"):
        lines = para.split("\n")
        if any(line[:1] in (" ", "\t", "-", "*") for line in lines):
            out.append(para)
        else:
            out.append(textwrap.fill(" ".join(lines), width, break_long_words=False,
                                     break_on_hyphens=False))
    return "\n\n".join(out) + "\n"


def commit_message(rule: Rule, changes: Sequence[FileChange],
                   prefix: str | None = None) -> tuple[str, str]:
    """(subject, body) of the commit holding these changes; `prefix` overrides `bpf:`."""
    values = template_values(changes)
    lead = rule.series.commit_prefix if prefix is None else prefix
    subject = rule.series.commit_subject.format(**values)
    return f"{lead} {subject}".strip(), reflow(rule.series.commit_body.format(**values))


def cover_letter(rule: Rule, plan: Plan, patches: int) -> tuple[str, str]:
    """(subject, body) of the cover letter of a series of `patches` patches."""
    values = template_values(list(plan.files.values()), patches)
    return (rule.series.cover_subject.format(**values),
            reflow(rule.series.cover_body.format(**values)))


def definition_message(rule: Rule, prefix: str | None = None) -> tuple[str, str] | None:
    """(subject, body) of the patch adding the rule's macro definition."""
    series = rule.series
    if series.definition_subject is None or series.definition_body is None:
        return None
    values = template_values([])
    lead = series.commit_prefix if prefix is None else prefix
    return (f"{lead} {series.definition_subject.format(**values)}".strip(),
            reflow(series.definition_body.format(**values)))
