"""Whether a tree defines the macro a rule's output uses, and the change adding it.

Older trees (6.1) have no `__bpf_kfunc`; the plan carries the change that
adds the rule's definition text to its header (the series' first patch), after the last line that
matches the rule's `after` pattern (the KF_* flags, say), or else before
the header's closing `#endif`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kfuncfix.engine.docpatch import ExampleKfunc, documentation_changes
from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.layout import after_eol, eol_of, is_blank_line, line_start
from kfuncfix.engine.plan import DEFINITION, DOCUMENTATION, FileChange
from kfuncfix.engine.rule import MacroDefinition, Rule
from kfuncfix.engine.sentences import respace, sentence_spacing
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex
from kfuncfix.source.scan import SourceFile, scan

# Reads a tree file at the plan's revision: its bytes, or None when it is not
# a regular file of the tree (missing, a symlink, outside).
Reader = Callable[[str], "bytes | None"]


def missing_definition(index: TreeIndex, rule: Rule, read: Reader) -> str | None:
    """The rule's macro if the tree does not define it (None when defined or not needed)."""
    if rule.definition is None:
        return None
    macro = rule.definition.macro
    if any(src.defines(macro) for src in index.sources.values()):
        return None
    header = _header_source(index, rule.definition, read)
    return None if header is not None and header.defines(macro) else macro


def definition_changes(index: TreeIndex, rule: Rule, read: Reader,
                       example: ExampleKfunc | None = None) -> list[FileChange]:
    """The documentation changes and the header change that add the rule's macro, when
    the tree lacks it; [] when it has it.  Raises when the header is not in the tree.
    `example` is the kfunc the documentation shows (one the plan rewrites)."""
    if missing_definition(index, rule, read) is None:
        return []
    definition = rule.definition
    assert definition is not None
    src = _header_source(index, definition, read)
    if src is None:
        raise KfuncfixError(f"{definition.header}: not a file of {index.root}; cannot add "
                            f"the definition of {definition.macro} there")
    data = src.data
    eol = eol_of(data, 0)
    text = respace(definition.text.replace("\n", eol.decode()).encode(), sentence_spacing(data))
    edit = _insertion(src, definition, text, eol)
    header = FileChange(src.path, data, apply_edits(data, [edit], src.path), [], [edit],
                        role=DEFINITION)
    docs = [replace(c, role=DOCUMENTATION) for c in documentation_changes(read, rule, example)]
    return [*docs, header]


def _insertion(src: SourceFile, definition: MacroDefinition, text: bytes, eol: bytes) -> Edit:
    data = src.data
    why = f"define {definition.macro}"
    anchors = list(definition.after.finditer(data)) if definition.after else []
    if anchors:
        last = anchors[-1].start()
        # A matching #define may continue over several lines: add after all of them.
        end = next((d.end for d in src.directives if d.start <= last < d.end), last)
        pos = after_eol(data, end)
        tail = b"" if is_blank_line(data, pos) else eol
        lead = b"" if data[:pos].endswith(b"\n") else eol
        return Edit(pos, pos, lead + eol + text + tail, why)
    endifs = [d for d in src.directives if d.kind == "endif"]
    if endifs:
        pos = endifs[-1].start
        before = line_start(data, pos - 1) if pos else 0
        lead = b"" if pos == 0 or is_blank_line(data, before) else eol
        return Edit(pos, pos, lead + text + eol, why)
    lead = eol if data and not data.endswith(b"\n") else b""
    return Edit(len(data), len(data), lead + eol + text, why)


def _header_source(index: TreeIndex, definition: MacroDefinition,
                   read: Reader) -> SourceFile | None:
    if definition.header in index.sources:
        return index.sources[definition.header]
    data = read(definition.header)
    return None if data is None else scan(definition.header, data)
