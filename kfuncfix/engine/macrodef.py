"""Whether a tree defines the macro a rule's output uses, and the change adding it.

Older trees (6.1) have no `__bpf_kfunc`; the patch series adds the rule's
definition text to its header in a first patch, after the last line that
matches the rule's `after` pattern (the KF_* flags, say), or else before
the header's closing `#endif`.
"""

from __future__ import annotations

from pathlib import Path

from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.layout import after_eol, eol_of, is_blank_line, line_start
from kfuncfix.engine.plan import FileChange, Plan
from kfuncfix.engine.rule import MacroDefinition, Rule
from kfuncfix.errors import KfuncfixError
from kfuncfix.model import TreeIndex
from kfuncfix.source.scan import SourceFile, scan
from kfuncfix.treefiles import NotRegularFile, TreeFiles


def missing_definition(index: TreeIndex, rule: Rule) -> str | None:
    """The rule's macro if the tree does not define it (None when defined or not needed)."""
    if rule.definition is None:
        return None
    macro = rule.definition.macro
    if any(src.defines(macro) for src in index.sources.values()):
        return None
    header = _header_source(index, rule.definition, must_exist=False)
    return None if header is not None and header.defines(macro) else macro


def definition_change(index: TreeIndex, rule: Rule) -> FileChange | None:
    """The change adding the rule's definition to its header; None if the tree has it."""
    if missing_definition(index, rule) is None:
        return None
    definition = rule.definition
    assert definition is not None
    src = _header_source(index, definition, must_exist=True)
    assert src is not None
    data = src.data
    eol = eol_of(data, 0)
    text = definition.text.replace("\n", eol.decode()).encode()
    edit = _insertion(src, definition, text, eol)
    new = apply_edits(data, [edit], src.path)
    return FileChange(src.path, data, new, [], [edit])


def documentation_change(index: TreeIndex, rule: Rule) -> FileChange | None:
    """The note about the rule's macro appended to its documentation file, if the tree
    has that file, lacks the macro, and does not mention it there yet."""
    spec = rule.definition
    if spec is None or not spec.doc_file or not spec.doc_text:
        return None
    if missing_definition(index, rule) is None:
        return None
    files = TreeFiles(Path(index.root), rev=index.rev)
    try:
        if not files.exists(spec.doc_file):
            return None
        old = files.read(spec.doc_file)
    finally:
        files.close()
    if spec.macro.encode() in old:
        return None
    eol = b"\r\n" if b"\r\n" in old[:4096] else b"\n"
    note = (spec.doc_text.strip("\n") + "\n").encode().replace(b"\n", eol)
    lead = (b"" if old.endswith(eol) else eol) + eol
    edit = Edit(len(old), len(old), lead + note, f"document {spec.macro}")
    return FileChange(spec.doc_file, old, old + edit.text, [], [edit])


def changes_with_definition(index: TreeIndex, plan: Plan) -> list[FileChange]:
    """The plan's changes, with the definition the tree lacks added to its header first
    (and the note about it to the documentation, when the rule has one).

    When the header is one of the planned files, its edits are merged into one change.
    """
    changes = list(plan.files.values())
    added = definition_change(index, plan.rule) if changes else None
    if added is None:
        return changes
    doc = documentation_change(index, plan.rule)
    # The note is written before the definition: when an apply stops between the
    # two, the next run still lacks the macro and adds it, and does not repeat the
    # note (which names the macro).  The other way round the note would be lost.
    first = [doc] if doc is not None and doc.path not in plan.files else []
    same = plan.files.get(added.path)
    if same is None:
        return [*first, added, *changes]
    edits = sorted([*same.edits, *added.edits], key=lambda e: e.start)
    merged = FileChange(same.path, same.old, apply_edits(same.old, edits, same.path),
                        same.kfuncs, edits, same.sets)
    return [*first, merged, *(c for c in changes if c.path != added.path)]


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
                   must_exist: bool) -> SourceFile | None:
    if definition.header in index.sources:
        return index.sources[definition.header]
    # Through the file layer: the tree as planned (the worktree or the revision), and
    # only a regular file of it (a link may lead out of the tree, and at a revision
    # its blob is the link's target text).
    files = TreeFiles(Path(index.root), rev=index.rev)
    try:
        data = files.read(definition.header)
    except OSError as exc:
        if must_exist:
            # A link gets apply's words for it, in every command.
            why = (f" ({definition.header} is a {exc.kind}; not written through)"
                   if isinstance(exc, NotRegularFile) else "")
            raise KfuncfixError(f"{definition.header}: not a file of {index.root}{why}; "
                                f"cannot add the definition of {definition.macro} there") from exc
        return None
    finally:
        files.close()
    return scan(definition.header, data)
