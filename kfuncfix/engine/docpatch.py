"""The documentation half of the definition patch, as upstream wrote it.

Upstream's `__bpf_kfunc` series did not append a note to
Documentation/bpf/kfuncs.rst: it tagged the document's own example
definitions, explained the tag in the section about defining kfuncs, and
taught Sphinx the new attribute in Documentation/conf.py (`c_id_attributes`),
so that tagged prototypes in the documentation still parse.  This module
makes those changes for any rule with a [definition] and a doc_file:

* every C definition in a literal block of the document is rewritten by the
  engine that rewrites the code (`definitions.rewrite_header`, on a scan of
  the block's text), so the examples follow the rule byte for byte;
* the rule's text (doc_text, then an example made from a kfunc of the tree
  itself) goes at the end of the section the rule names (doc_section), or
  else of the section holding the document's first example definition;
* the macro goes into conf.py's `c_id_attributes` when the list exists and
  the macro is an attribute (a prefix), not a wrapper.

Pure: `read` gives a file's committed bytes; nothing is written.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kfuncfix.engine.definitions import DefinitionStyle, rewrite_header
from kfuncfix.engine.edits import CannotRewrite, Edit, apply_edits
from kfuncfix.engine.plan import FileChange
from kfuncfix.engine.rule import Rule
from kfuncfix.engine.sentences import respace, sentence_spacing
from kfuncfix.safematch import SafePattern
from kfuncfix.source.scan import scan

CONF_PY = "Documentation/conf.py"
# A section title's underline (or overline): one punctuation character repeated.
_ADORNMENT = re.compile(rb"^([=\-~^\"'`#*+.:_])\1+[ \t]*$")
# `.. code-block:: c` and its kin; a paragraph ending in `::` starts a literal block too.
_CODE_DIRECTIVE = re.compile(rb"^[ \t]*\.\.[ \t]+(?:code-block|code|sourcecode)::[ \t]*c?[ \t]*$")
_TARGET = re.compile(rb"^\.\.[ \t]+_[^:]*:[ \t]*$")
# Functions an example registers as an initcall are module code, not kfuncs.
_INITCALL = re.compile(rb"\b(?:\w*initcall|module_init|module_exit)\s*\(\s*(\w+)\s*\)")
_NOT_KFUNC_WORDS = frozenset({"__init", "__exit"})
_C_ID_ATTRIBUTES = re.compile(rb"^([ \t]*)c_id_attributes[ \t]*=[ \t]*\[", re.M)
EXAMPLE_WIDTH = 72  # longest example header worth showing in a document


@dataclass(frozen=True)
class ExampleKfunc:
    """A kfunc of the tree, for the document's example: its header on one line."""

    name: str
    file: str
    header: str  # `noinline void bpf_ct_release(struct nf_conn *nfct)`


@dataclass(frozen=True)
class _Line:
    start: int
    end: int  # past the line's end of line
    text: bytes  # without the end of line

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    @property
    def indent(self) -> int:
        return len(self.text) - len(self.text.lstrip(b" \t"))


@dataclass(frozen=True)
class _Section:
    title: str
    start: int  # first byte of its title (overline included)
    body_end: int  # where the next title begins, or the end of the document


def documentation_changes(read: Callable[[str], bytes | None], rule: Rule,
                          example_kfunc: ExampleKfunc | None) -> list[FileChange]:
    """The rule's documentation changes: its doc_file, and conf.py when it can take the
    macro.  Empty when the rule documents nothing or the tree's documents name the
    macro already."""
    spec = rule.definition
    if spec is None or spec.doc_file is None or spec.doc_text is None:
        return []
    changes = []
    doc = read(spec.doc_file)
    if doc is not None and spec.macro.encode() not in doc:
        changes.append(_document_change(spec.doc_file, doc, rule, example_kfunc))
    if rule.style is not None and rule.style.prefix == spec.macro:
        conf = read(CONF_PY)
        added = _conf_change(conf, spec.macro, spec.header) if conf is not None else None
        if added is not None:
            changes.append(added)
    return changes


def example_kfunc(changes: Iterable[FileChange]) -> ExampleKfunc | None:
    """The kfunc to show in the documentation: one the plan rewrites, with a short
    one-line header; `bpf_` names and global functions first, test code last."""
    found = []
    for change in changes:
        if not change.path.endswith(".c") or not change.kfuncs:
            continue
        src = scan(change.path, change.old)
        for func in src.functions:
            if func.name not in change.kfuncs or func.macro or func.is_inline:
                continue
            header = b" ".join(change.old[func.start:func.params_end].split()).decode(
                "utf-8", "replace")
            if len(header) > EXAMPLE_WIDTH:
                continue
            rank = ("test" in change.path, not func.name.startswith("bpf_"), func.is_static,
                    len(header), func.name)
            found.append((rank, ExampleKfunc(func.name, change.path, header)))
    return min(found, key=lambda f: f[0])[1] if found else None


def _document_change(path: str, old: bytes, rule: Rule,
                     example: ExampleKfunc | None) -> FileChange:
    spec = rule.definition
    assert spec is not None and spec.doc_text is not None
    eol = b"\r\n" if b"\r\n" in old[:4096] else b"\n"
    lines = _lines(old)
    blocks = _literal_blocks(lines)
    edits: list[Edit] = []
    examples: list[str] = []
    tagged_blocks: list[int] = []
    if rule.style is not None:
        not_kfuncs = {m.group(1).decode() for m in _INITCALL.finditer(old)}
        for start, end in blocks:
            block_edits, names = _tag_block(path, old, start, end, rule, not_kfuncs)
            edits += block_edits
            examples += names
            if names:
                tagged_blocks.append(start)
    indent = _block_indent(lines, blocks)
    text = respace(_note(spec.doc_text, spec.doc_example, example, rule.style, indent),
                   sentence_spacing(old))
    at, lead = _placement(lines, old, spec.doc_section, tagged_blocks)
    edits.append(Edit(at, at, (lead + text).replace(b"\n", eol), f"document {spec.macro}"))
    edits.sort(key=lambda e: e.start)
    new = apply_edits(old, edits, path)
    return FileChange(path, old, new, examples, edits)


def _lines(data: bytes) -> list[_Line]:
    out = []
    pos = 0
    for raw in data.splitlines(keepends=True):
        out.append(_Line(pos, pos + len(raw), raw.rstrip(b"\r\n")))
        pos += len(raw)
    return out


def _literal_blocks(lines: list[_Line]) -> list[tuple[int, int]]:
    """Byte spans of the literal blocks: after `::` or a C code-block directive, the
    lines indented deeper than the line that introduced them."""
    blocks = []
    i = 0
    while i < len(lines):
        line = lines[i]
        opens = _CODE_DIRECTIVE.match(line.text) or (
            line.text.rstrip().endswith(b"::") and not line.text.lstrip().startswith(b".."))
        i += 1
        if not opens:
            continue
        # A directive's options (`:linenos:`) come right after it.
        while i < len(lines) and not lines[i].blank and lines[i].text.lstrip().startswith(b":"):
            i += 1
        first = i
        while i < len(lines) and (lines[i].blank or lines[i].indent > line.indent):
            i += 1
        body = [ln for ln in lines[first:i] if not ln.blank]
        if body:
            blocks.append((body[0].start, body[-1].end))
    return blocks


def _tag_block(path: str, doc: bytes, start: int, end: int, rule: Rule,
               not_kfuncs: set[str]) -> tuple[list[Edit], list[str]]:
    """Edits (in document offsets) giving the block's kfunc definitions the rule's form."""
    style = rule.style
    assert style is not None
    src = scan(path, doc[start:end])
    edits: list[Edit] = []
    names: list[str] = []
    tagged: list[int] = []
    for func in src.functions:
        if (func.name in not_kfuncs or func.words & _NOT_KFUNC_WORDS or style.is_done(func)
                or src.is_dead(func.name_start)):
            continue
        try:
            rewrite = rewrite_header(src, func, style, f"example {func.name}")
        except CannotRewrite:
            continue
        edits.append(rewrite.edit)
        names.append(func.name)
        tagged.append(func.start)
    for action in rule.actions:
        edits += action.example_edits(src, tagged, rule)
    return [Edit(e.start + start, e.end + start, e.text, e.why) for e in edits], names


def _block_indent(lines: list[_Line], blocks: list[tuple[int, int]]) -> bytes:
    """The indentation the document's own literal blocks use (a tab, or 8 spaces)."""
    for start, _ in blocks:
        line = next(ln for ln in lines if ln.start == start)
        return line.text[:line.indent]
    return b" " * 8


def _note(text: str, intro: str | None, example: ExampleKfunc | None,
          style: DefinitionStyle | None, indent: bytes) -> bytes:
    """The rule's paragraphs, then its example block when there is a kfunc to show."""
    out = text.strip("\n") + "\n"
    code = _example_code(example, style) if example is not None and intro else None
    if code is not None and intro:
        out += "\n" + intro.strip() + "\n\n"
        out += "".join(indent.decode() + ln + "\n" if ln else "\n" for ln in code.split("\n"))
    return (out + "\n").encode()


def _example_code(example: ExampleKfunc, style: DefinitionStyle | None) -> str | None:
    """The kfunc's definition in the rule's form, its body elided as the document's are."""
    snippet = f"{example.header}\n{{\n...\n}}".encode()
    if style is None:
        return snippet.decode()
    src = scan(example.file, snippet)
    func = next((f for f in src.functions if f.name == example.name), None)
    if func is None or style.is_done(func):
        return snippet.decode() if func is not None else None
    try:
        rewrite = rewrite_header(src, func, style, "example")
    except CannotRewrite:
        return None
    return apply_edits(snippet, [rewrite.edit], example.file).decode()


def _sections(lines: list[_Line], size: int) -> list[_Section]:
    titles = []  # (title text, first byte of the title)
    i = 0
    while i + 1 < len(lines):
        over = _ADORNMENT.match(lines[i].text)
        if over and i + 2 < len(lines) and _ADORNMENT.match(lines[i + 2].text) \
                and not lines[i + 1].blank:
            titles.append((lines[i + 1].text.strip(), lines[i].start))
            i += 3
            continue
        if (not lines[i].blank and lines[i].indent == 0 and _ADORNMENT.match(lines[i + 1].text)
                and len(lines[i + 1].text.strip()) >= len(lines[i].text.strip())):
            titles.append((lines[i].text.strip(), lines[i].start))
            i += 2
            continue
        i += 1
    out = []
    for n, (title, start) in enumerate(titles):
        end = titles[n + 1][1] if n + 1 < len(titles) else size
        out.append(_Section(title.decode("utf-8", "replace"), start, end))
    return out


def _placement(lines: list[_Line], doc: bytes, wanted: SafePattern | None,
               tagged_blocks: list[int]) -> tuple[int, bytes]:
    """Where the note goes: the end of the named section's own text, else of the
    section showing the first example definition, else the end of the document."""
    sections = _sections(lines, len(doc))
    chosen = None
    if wanted is not None:
        chosen = next((s for s in sections if wanted.search(s.title)), None)
    if chosen is None and tagged_blocks:
        chosen = next((s for s in reversed(sections) if s.start <= tagged_blocks[0]), None)
    if chosen is None or chosen.body_end >= len(doc):
        # At the end: after one blank line, whatever the document ends with.
        ending = doc[len(doc.rstrip(b"\r\n")):]
        return len(doc), b"\n" * max(0, 2 - ending.count(b"\n"))
    at = chosen.body_end
    # A label (`.. _name:`) and the blank lines before the next title belong to it.
    before = [ln for ln in lines if ln.end <= at]
    while before and (before[-1].blank or _TARGET.match(before[-1].text)):
        at = before.pop().start
    following = next((ln for ln in lines if ln.start >= at), None)
    # Insert after one blank line: the note is then followed by its own blank line.
    if following is not None and following.blank:
        return following.end, b""
    return at, b"\n"


def _conf_change(old: bytes, macro: str, header: str) -> FileChange | None:
    """`"__bpf_kfunc",` as the last entry of conf.py's c_id_attributes, under a comment
    naming its header as the list's other groups do."""
    found = _C_ID_ATTRIBUTES.search(old)
    if found is None:
        return None
    close = _list_end(old, found.end() - 1)
    if close < 0 or f'"{macro}"'.encode() in old[found.end():close]:
        return None
    eol = b"\r\n" if b"\r\n" in old[:4096] else b"\n"
    entries = re.findall(rb'^([ \t]+)"', old[found.end():close], re.M)
    pad = entries[-1] if entries else found.group(1) + b"    "
    line_at = old.rfind(b"\n", 0, close) + 1
    # The closing bracket on a line of its own: add the group right above it.
    if old[line_at:close].strip():
        return None
    group = eol + pad + f"# {header}:".encode() + eol + pad + f'"{macro}",'.encode() + eol
    edit = Edit(line_at, line_at, group, f"teach Sphinx {macro}")
    return FileChange(CONF_PY, old, apply_edits(old, [edit], CONF_PY), [], [edit])


def _list_end(data: bytes, open_at: int) -> int:
    """The `]` closing the list whose `[` is at `open_at`, as Python reads conf.py
    (-1 when it does not parse): Python's own parser, not a bracket count."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # conf.py's own escapes are not our business
            tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return -1
    starts = [0]  # byte offset of each line: ast's columns count UTF-8 bytes
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    for node in ast.walk(tree):
        if isinstance(node, ast.List) and node.end_lineno is not None \
                and node.end_col_offset is not None \
                and starts[node.lineno - 1] + node.col_offset == open_at:
            return starts[node.end_lineno - 1] + node.end_col_offset - 1
    return -1
