"""Rules as data: one TOML file each, built in under `rules/` or given by path.

A rule names its actions with their parameters, the macro definition its
output needs (and where a tree lacks it, the text to add), and the texts of
the patch series.  Rules hold data only: the one path a rule names is a
header inside the tree, and no value is ever run.  The keys:

    name, description            a-z0-9_ name; one line for `kfuncfix rules`
    line_limit                   optional, default 100 (checkpatch's)
    [[actions]] type = ...       drop_specifiers {words}, insert_prefix {text,
                                 already?}, wrap_prototype {macro, already?},
                                 add_include {header}, diag_block {warnings,
                                 start?, end?}, rename_set_macro {from, to}
    [definition]                 optional: macro, header (tree-relative .h),
                                 text, after? (regex of the line to follow),
                                 doc_file?, doc_text?, doc_section? (regex of the
                                 title of the section doc_text goes in),
                                 doc_example? (the `...::` line before the example)
    [series]                     subject_prefix?, commit_prefix?, list? (the target
                                 tree's mailing list), commit_subject,
                                 commit_body, cover_subject, cover_body, and with
                                 [definition]: definition_subject, definition_body

Templates take the placeholders in TEMPLATE_FIELDS (`{kfuncs}`, `{files}`, ...).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfuncfix.engine.actions import Action, definition_style, parse_action
from kfuncfix.engine.definitions import DefinitionStyle
from kfuncfix.engine.schema import IDENT_RE, RuleError, Table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DEFAULT_RULE = "bpf_kfunc_tag"
RULES_PACKAGE = "kfuncfix.rules"
RULE_NAME_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
# A header inside the tree: relative, no `..`, no backslash, ends in .h.
TREE_HEADER_RE = re.compile(r"(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[\w.+-]+(?:/[\w.+-]+)*\.h\Z")
TREE_DOC_RE = re.compile(r"(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[\w.+-]+(?:/[\w.+-]+)*\.(?:rst|txt)\Z")
LIST_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+\Z")
TEMPLATE_FIELDS = frozenset(
    {"kfuncs", "count", "files", "file_count", "where", "sets", "set_count", "patches"}
)


@dataclass(frozen=True)
class MacroDefinition:
    """The macro a rule's output uses, and how to add it to a tree without it."""

    macro: str
    header: str  # tree-relative path, e.g. include/linux/btf.h
    text: str  # the lines to add, ending with a newline
    after: re.Pattern[bytes] | None  # add after the last line matching this
    doc_file: str | None = None  # documentation to note the macro in (e.g. kfuncs.rst)
    doc_text: str | None = None  # the paragraphs about the macro, for doc_file
    doc_section: re.Pattern[str] | None = None  # the title of the section they go in
    doc_example: str | None = None  # the line introducing the example (ends in `::`)


@dataclass(frozen=True)
class SeriesText:
    """Texts for the patch series; templates use the placeholders in TEMPLATE_FIELDS."""

    subject_prefix: str  # `PATCH bpf-next`, inside the brackets
    commit_prefix: str  # `bpf:`, before each commit subject
    commit_subject: str
    commit_body: str
    cover_subject: str
    cover_body: str
    definition_subject: str | None  # the first patch, adding the macro definition
    definition_body: str | None
    mailing_list: str | None = None  # the target tree's list, on every patch (TOML `list`)


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    source: str  # where it was read from, for messages
    line_limit: int
    actions: tuple[Action, ...]
    style: DefinitionStyle | None  # what the definition actions do, if any
    definition: MacroDefinition | None
    series: SeriesText


def list_rules() -> list[Rule]:
    """The built-in rules, default first, then by name."""
    found = [_load_builtin(entry) for entry in _builtin_files()]
    return sorted(found, key=lambda r: (r.name != DEFAULT_RULE, r.name))


def load_rule(name_or_path: str) -> Rule:
    """A built-in rule by name, or a rule file by path (anything with `/` or `.toml`)."""
    if "/" in name_or_path or name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RuleError(f"{path}: cannot read rule file: {exc.strerror or exc}") from exc
        return parse_rule(data, str(path))
    for entry in _builtin_files():
        if entry.name == f"{name_or_path}.toml":
            return _load_builtin(entry)
    known = ", ".join(r.name for r in list_rules())
    raise RuleError(f"no rule named {name_or_path!r} (built-in rules: {known}; "
                    "or give the path of a .toml file)")


def builtin_rule_text(name: str) -> str:
    """The TOML text of a built-in rule (to start a rule of one's own from)."""
    for entry in _builtin_files():
        if entry.name == f"{name}.toml":
            return entry.read_text(encoding="utf-8")
    raise RuleError(f"no built-in rule named {name!r}")


def _builtin_files() -> list[Traversable]:
    try:
        folder: Traversable = files(RULES_PACKAGE)
    except ModuleNotFoundError:
        # Running from a source checkout (pytest in the repository after a plain
        # `pip install .`): the package is this directory, the rules its sibling.
        folder = Path(__file__).resolve().parents[2] / "rules"
    return sorted((e for e in folder.iterdir() if e.name.endswith(".toml")),
                  key=lambda e: e.name)


def _load_builtin(entry: Traversable) -> Rule:
    return parse_rule(entry.read_bytes(), f"rules/{entry.name}")


def parse_rule(data: bytes, source: str) -> Rule:
    """Check and build a rule from the bytes of a TOML file; errors name source and key."""
    try:
        raw: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RuleError(f"{source}: not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: not valid TOML: {exc}") from exc
    top = Table(raw, source)
    name = top.string("name", RULE_NAME_RE, "a rule name (a-z, 0-9, _)")
    description = top.string("description")
    if "\n" in description:
        raise top.fail("description", "must be one line")
    line_limit = top.integer("line_limit", default=100, low=40, high=200)
    actions = tuple(parse_action(t) for t in top.tables("actions"))
    style = definition_style(actions, line_limit, top)
    definition = _definition(top.optional_table("definition"))
    series = _series(top.table("series"), definition is not None)
    top.done()
    return Rule(name, description, source, line_limit, actions, style, definition, series)


def _definition(table: Table | None) -> MacroDefinition | None:
    if table is None:
        return None
    macro = table.string("macro", IDENT_RE, "a C identifier")
    header = table.string("header", TREE_HEADER_RE, "a relative path to a header inside the tree")
    text = table.string("text")
    if not text.strip():
        raise table.fail("text", "must not be empty")
    after_text = table.optional("after")
    after = None
    if after_text is not None:
        try:
            after = re.compile(after_text.encode(), re.M)
        except re.error as exc:
            raise table.fail("after", f"not a regular expression: {exc}") from exc
    doc_file = table.optional("doc_file", TREE_DOC_RE, "a relative .rst or .txt path in the tree")
    doc_text = table.optional("doc_text")
    doc_section = None
    section_text = table.optional("doc_section")
    if section_text is not None:
        try:
            doc_section = re.compile(section_text, re.I)
        except re.error as exc:
            raise table.fail("doc_section", f"not a regular expression: {exc}") from exc
    doc_example = table.optional("doc_example")
    if doc_example is not None and not doc_example.rstrip().endswith("::"):
        raise table.fail("doc_example", "must end with '::' (it introduces a literal block)")
    if (doc_file is None) != (doc_text is None):
        raise table.fail("doc_file" if doc_file is None else "doc_text",
                         "doc_file and doc_text go together")
    table.done()
    return MacroDefinition(macro, header, text if text.endswith("\n") else text + "\n", after,
                           doc_file, doc_text, doc_section, doc_example)


def _series(table: Table, has_definition: bool) -> SeriesText:
    def template(name: str) -> str:
        return table.template(name, TEMPLATE_FIELDS)

    one_line = ("subject_prefix", "commit_prefix", "commit_subject", "cover_subject",
                "definition_subject")
    series = SeriesText(
        subject_prefix=table.string("subject_prefix", default="PATCH bpf-next"),
        commit_prefix=table.string("commit_prefix", default="bpf:"),
        commit_subject=template("commit_subject"),
        commit_body=template("commit_body"),
        cover_subject=template("cover_subject"),
        cover_body=template("cover_body"),
        definition_subject=template("definition_subject") if has_definition else None,
        definition_body=template("definition_body") if has_definition else None,
        mailing_list=table.optional("list", LIST_RE, "a mailing list address"),
    )
    for name in one_line:
        value = getattr(series, name)
        if value is not None and ("\n" in value or not value.strip()):
            raise table.fail(name, "must be one non-empty line")
    table.done()
    return series
