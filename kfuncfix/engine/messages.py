"""Commit and cover-letter texts from a rule's templates.

Templates are `str.format` strings with the placeholders of
`rule.TEMPLATE_FIELDS`; bodies are reflowed to 72 columns after filling
in, paragraph by paragraph, so a long list of kfunc names still reads well.
Indented lines and list items are kept as written.
"""

from __future__ import annotations

import os
import posixpath
import re
import textwrap
from collections.abc import Iterable, Sequence

from kfuncfix.engine.plan import FileChange, Plan
from kfuncfix.engine.rule import Rule
from kfuncfix.pathquote import quote_path
from kfuncfix.words import plural

BODY_WIDTH = 72
SUMMARY_NAMES = 4  # more kfuncs than this: a commit body counts them
WHERE_NAMES_WIDTH = 50  # file names longer than this joined: a subject does not list them


def natural_join(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def where(paths: Sequence[str], whole: bool = True) -> str:
    """A short name for the place of these files: the file, or their common directory.

    Files with no common directory are `the tree` when they are all the plan
    changes; a group of a split names its files when the names are short, and
    is `the remaining files` otherwise, never `the tree`.
    """
    if len(paths) == 1:
        return posixpath.basename(paths[0])  # subjects stay short; the diffstat has the path
    common = posixpath.commonpath(paths) if paths else ""
    if common:
        return common + "/"
    if whole:
        return "the tree"
    names = natural_join([posixpath.basename(p) for p in paths])
    return names if len(names) <= WHERE_NAMES_WIDTH else "the remaining files"


def display_path(path: str) -> str:
    """A tree path as message text: mails are UTF-8, so undecodable bytes show as \\xNN.

    A name with a control character (a newline would end the subject) is
    quoted as git quotes it: `"a\\nb.c"`.
    """
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        return quote_path(path)
    return text


def summary(kfuncs: Sequence[str], paths: Sequence[str]) -> str:
    """The kfuncs a commit changes, as its body names them: by name when they are
    few, else counted (`68 kfuncs in 11 files`); the cover letter lists them all."""
    if len(kfuncs) <= SUMMARY_NAMES:
        return natural_join([f"{n}()" for n in kfuncs])
    place = posixpath.basename(paths[0]) if len(paths) == 1 else plural(len(paths), "file")
    return f"{plural(len(kfuncs), 'kfunc')} in {place}"


def dropped_words(drop: Iterable[str], changes: Sequence[FileChange]) -> list[str]:
    """The words of `drop` that these changes took out of at least one file."""
    found = []
    for word in sorted(drop):
        pattern = re.compile(rb"(?<![\w$])" + re.escape(word.encode()) + rb"(?![\w$])")
        if any(len(pattern.findall(c.old)) > len(pattern.findall(c.new)) for c in changes):
            found.append(word)
    return found


def template_values(changes: Sequence[FileChange], patches: int = 0,
                    whole: bool = True, dropped: Sequence[str] = ()) -> dict[str, str]:
    """The placeholders' values; `whole`: these changes are all the plan has (a
    group of a split that is not gets a `where` that says so)."""
    kfuncs = list(dict.fromkeys(n for c in changes for n in c.kfuncs))
    sets = list(dict.fromkeys(n for c in changes for n in c.sets))
    paths = [display_path(c.path) for c in changes]
    return {
        "kfuncs": natural_join([f"{n}()" for n in kfuncs]),
        "count": str(len(kfuncs)),
        "files": natural_join(paths),
        "file_count": str(len(paths)),
        "where": where(paths, whole),
        "sets": natural_join(sets),
        "set_count": str(len(sets)),
        "patches": str(patches),
        "summary": summary(kfuncs, paths),
        "counted": f"{plural(len(kfuncs), 'kfunc')} in {plural(len(paths), 'file')}",
        "files_counted": plural(len(paths), "file"),
        "sets_counted": plural(len(sets), "kfunc set"),
        "dropped": natural_join(list(dropped)),
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
                   prefix: str | None = None, whole: bool = True) -> tuple[str, str]:
    """(subject, body) of the commit holding these changes; `prefix` overrides `bpf:`.

    The rule's dropped_body joins the body only when these changes dropped a word,
    its diag_body only when they removed a `__diag_push()` block.
    """
    dropped = dropped_words(rule.style.drop if rule.style else (), changes)
    values = template_values(changes, whole=whole, dropped=dropped)
    lead = rule.series.commit_prefix if prefix is None else prefix
    subject = rule.series.commit_subject.format(**values)
    body = rule.series.commit_body.format(**values)
    if dropped and rule.series.dropped_body:
        body = body.rstrip("\n") + "\n\n" + rule.series.dropped_body.format(**values)
    removed = any(c.old.count(b"__diag_push") > c.new.count(b"__diag_push") for c in changes)
    if removed and rule.series.diag_body:
        body = body.rstrip("\n") + "\n\n" + rule.series.diag_body.format(**values)
    return f"{lead} {subject}".strip(), reflow(body)


def cover_letter(rule: Rule, plan: Plan, patches: int) -> tuple[str, str]:
    """(subject, body) of the cover letter of a series of `patches` patches."""
    values = template_values(list(plan.files.values()), patches)
    return (rule.series.cover_subject.format(**values),
            reflow(rule.series.cover_body.format(**values)))


def docs_message(rule: Rule, prefix: str | None = None) -> tuple[str, str] | None:
    """(subject, body) of the patch documenting the rule's macro, when it has its own."""
    series = rule.series
    if series.docs_subject is None or series.docs_body is None:
        return None
    values = template_values([])
    lead = series.commit_prefix if prefix is None else prefix
    return (f"{lead} {series.docs_subject.format(**values)}".strip(),
            reflow(series.docs_body.format(**values)))


def definition_message(rule: Rule, prefix: str | None = None) -> tuple[str, str] | None:
    """(subject, body) of the patch adding the rule's macro definition."""
    series = rule.series
    if series.definition_subject is None or series.definition_body is None:
        return None
    values = template_values([])
    lead = series.commit_prefix if prefix is None else prefix
    return (f"{lead} {series.definition_subject.format(**values)}".strip(),
            reflow(series.definition_body.format(**values)))
