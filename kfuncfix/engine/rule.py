r"""Rules as data: one TOML file each, built in under `rules/` or given by path.

A rule names its actions with their parameters, the macro definition its
output needs (and where a tree lacks it, the text to add), and the texts of
the patch series.  Rules hold data only: the one path a rule names is a
header inside the tree, and no value is ever run.  The keys:

    name, description            a-z0-9_ name; one line for `kfuncfix rules`
    line_limit                   optional, default 100 (checkpatch's)
    lint                         optional: always | when-defined | when-retired |
                                 never (default): whether `check` lints the rule
                                 without --rule (when-defined: where the tree
                                 defines its macro; when-retired: where the
                                 tree's header no longer defines [retired]'s)
    [[actions]] type = ...       drop_specifiers {words}, insert_prefix {text,
                                 already?, kinds?}, wrap_prototype {macro, already?,
                                 kinds?} (kinds: registrations rewritten, default
                                 ["kfunc", "dtor"]; add "fmodret" for those),
                                 add_include {header}, diag_block {warnings,
                                 start?, end?}, rename_set_macro {from, to},
                                 set_entry_flags {remove?, add?, rename?,
                                 kfuncs?, kinds?, reason?}
    [definition]                 optional: macro, header (tree-relative .h),
                                 text, after? (pattern of the line to follow),
                                 doc_file?, doc_text?, doc_section? (regex of the
                                 title of the section doc_text goes in),
                                 doc_example? (the `...::` line before the example)
    [retired]                    optional: macro, header (tree-relative .h),
                                 family? (a prefix such as KF_): a macro the
                                 rule's change retires; where the header no
                                 longer defines it (but still a macro of its
                                 family), what is left of it does not compile
                                 (lint = "when-retired")
    [series]                     subject_prefix?, commit_prefix?, list? (the target
                                 tree's mailing list), commit_subject,
                                 commit_body, cover_subject, cover_body, and with
                                 [definition]: definition_subject, definition_body;
                                 dropped_body? (added when a commit dropped
                                 words: {dropped}), diag_body? (when it removed
                                 a __diag_push() block), docs_subject?, docs_body?
                                 (the documentation's own patch, --split-docs)

Templates take the placeholders in TEMPLATE_FIELDS (`{kfuncs}`, `{files}`, ...);
`{summary}` names a commit's kfuncs when they are few and counts them otherwise,
`{counted}` is `68 kfuncs in 11 files` (`1 kfunc in 1 file`).
The one-line texts (description, subjects, prefixes) may hold no CR, LF, NUL or
other control character: they end up in mail headers.

`after` is a regular expression of a restricted form, so that a rule from
someone else cannot make matching a crafted header take exponential (or
quadratic) time: it starts with `^`, may end with `$`, and in between holds
only literal characters, escaped punctuation (`\*`), `\t`, `.`, the classes
`\w \d \s \W \D \S` and `[...]` sets, each followed by at most one of
`* + ?`.  No groups, alternation, `{m,n}`, backreferences or lookarounds; no
item may match a line break; and an item with `* + ?` must be the last one
(before `$`) or be followed by a required item that cannot match the same
character (`[ \t]+KF_` is fine, `\w*\w` is not).  Each match then costs time
linear in the line; `^#define[ \t]+KF_\w+` is an example.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfuncfix.engine.actions import Action, parse_action
from kfuncfix.engine.actions.definition import definition_style
from kfuncfix.engine.definitions import DefinitionStyle
from kfuncfix.engine.schema import IDENT_RE, RuleError, Table
from kfuncfix.errors import KfuncfixError
from kfuncfix.safematch import PatternError, SafePattern, safe_pattern
from kfuncfix.userfiles import read_small_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DEFAULT_RULE = "bpf_kfunc_tag"
RULES_PACKAGE = "kfuncfix.rules"
RULE_NAME_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
LINT_RE = re.compile(r"(?:always|when-defined|when-retired|never)\Z")
# The conventions `--rule all` names: a rule retiring a macro is a change of
# meaning that goes with a kernel change, never applied in bulk.
ALL_LINTS = ("always", "when-defined")
# A header inside the tree: relative, no `..`, no backslash, ends in .h.
TREE_HEADER_RE = re.compile(r"(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[\w.+-]+(?:/[\w.+-]+)*\.h\Z")
TREE_DOC_RE = re.compile(r"(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[\w.+-]+(?:/[\w.+-]+)*\.(?:rst|txt)\Z")
FAMILY_RE = re.compile(r"(?:[A-Za-z_]\w*)?\Z")
LIST_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+\Z")
TEMPLATE_FIELDS = frozenset(
    {"kfuncs", "count", "files", "file_count", "where", "sets", "set_count", "patches",
     "summary", "dropped", "counted", "files_counted", "sets_counted"}
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
    doc_section: SafePattern | None = None  # the title of the section they go in
    doc_example: str | None = None  # the line introducing the example (ends in `::`)


@dataclass(frozen=True)
class RetiredMacro:
    """A macro the rule's change retires (`KF_TRUSTED_ARGS`), and the header that
    defined it: a tree whose header no longer does cannot compile what is left."""

    macro: str
    header: str  # tree-relative path, e.g. include/linux/btf.h
    # A prefix (`KF_`) the header must still define a macro of: a tree from
    # before the family existed never had the macro, it did not retire it.
    family: str = ""


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
    # A paragraph added to a commit only when it dropped words ({dropped}): a
    # message says what its own patch did.
    dropped_body: str | None = None
    # Added only to a commit that removed a __diag_push() block.
    diag_body: str | None = None
    # The documentation's own patch (`series --split-docs`).
    docs_subject: str | None = None
    docs_body: str | None = None


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
    # When `check` lints this convention without --rule: on every tree with
    # kfunc sets, only where the tree defines the rule's macro, or never (an
    # alternative form, chosen by name), or where the tree's header no longer
    # defines the `retired` macro.  `--rule all` takes the first two.
    lint: str = "never"
    retired: RetiredMacro | None = None


def list_rules() -> list[Rule]:
    """The built-in rules, default first, then by name."""
    found = [_load_builtin(entry) for entry in _builtin_files()]
    return sorted(found, key=lambda r: (r.name != DEFAULT_RULE, r.name))


def load_rule(name_or_path: str) -> Rule:
    """A built-in rule by name, or a rule file by path (anything with `/` or `.toml`)."""
    if "/" in name_or_path or name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        try:
            data = read_small_file(path, "rule file")
        except KfuncfixError as exc:
            raise RuleError(str(exc)) from exc
        return parse_rule(data, str(path))
    for entry in _builtin_files():
        if entry.name == f"{name_or_path}.toml":
            return _load_builtin(entry)
    known = ", ".join(r.name for r in list_rules())
    raise RuleError(f"no rule named {name_or_path!r} (built-in rules: {known}; "
                    "or give the path of a .toml file)")


ALL = "all"


def load_rules(names: Sequence[str]) -> tuple[Rule, ...]:
    """Rules by name or path, each item possibly comma-separated; `all` is every
    built-in convention (the rules whose `lint` is always or when-defined), in
    name order."""
    rules: list[Rule] = []
    for item in names:
        for name in (n.strip() for n in item.split(",")):
            if not name:
                raise RuleError(f"empty rule name in --rule {item!r}")
            found = ([r for r in list_rules() if r.lint in ALL_LINTS] if name == ALL
                     else [load_rule(name)])
            rules.extend(r for r in found if r.name not in {x.name for x in rules})
    if not rules:
        raise RuleError("no rule given")
    return tuple(rules)


def _builtin_files() -> list[Traversable]:
    try:
        folder: Traversable = files(RULES_PACKAGE)
    except ModuleNotFoundError:
        # Running from a source checkout (pytest in the repository after a plain
        # `pip install .`): the package is this directory, the rules its sibling.
        folder = Path(__file__).resolve().parents[2] / "rules"
    return sorted((e for e in folder.iterdir() if e.name.endswith(".toml")),
                  key=lambda e: e.name)


# Built-in rules parsed once per process (`check --git` plans a tree per commit);
# keyed by their bytes, so an edited file is parsed again.
_BUILTIN: dict[tuple[str, bytes], Rule] = {}


def _load_builtin(entry: Traversable) -> Rule:
    data = entry.read_bytes()
    if (entry.name, data) not in _BUILTIN:
        _BUILTIN[entry.name, data] = parse_rule(data, f"rules/{entry.name}")
    return _BUILTIN[entry.name, data]


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
    description = top.one_line("description", top.string("description"))
    line_limit = top.integer("line_limit", default=100, low=40, high=200)
    actions, style = definition_style(tuple(parse_action(t) for t in top.tables("actions")),
                                      line_limit, top)
    lint = top.string("lint", LINT_RE, "one of always, when-defined, never", default="never")
    definition = _definition(top.optional_table("definition"))
    retired = _retired(top.optional_table("retired"))
    series = _series(top.table("series"), definition is not None)
    top.done()
    if lint == "when-defined" and definition is None:
        raise top.fail("lint", "when-defined needs a [definition] table (its macro)")
    if lint == "when-retired" and retired is None:
        raise top.fail("lint", "when-retired needs a [retired] table (the macro and header)")
    return Rule(name, description, source, line_limit, actions, style, definition, series, lint,
                retired)


def _retired(table: Table | None) -> RetiredMacro | None:
    if table is None:
        return None
    macro = table.string("macro", IDENT_RE, "a C identifier")
    header = table.string("header", TREE_HEADER_RE, "a relative path to a header inside the tree")
    family = table.string("family", FAMILY_RE, "the start of a C identifier", default="")
    table.done()
    return RetiredMacro(macro, header, family)


def _definition(table: Table | None) -> MacroDefinition | None:
    if table is None:
        return None
    macro = table.string("macro", IDENT_RE, "a C identifier")
    header = table.string("header", TREE_HEADER_RE, "a relative path to a header inside the tree")
    text = table.string("text")
    if not text.strip():
        raise table.fail("text", "must not be empty")
    after_text = table.optional("after")
    after = None if after_text is None else _after_pattern(table, after_text)
    doc_file = table.optional("doc_file", TREE_DOC_RE, "a relative .rst or .txt path in the tree")
    doc_text = table.optional("doc_text")
    doc_section = None
    section_text = table.optional("doc_section")
    if section_text is not None:
        try:  # the rule's author wrote it: the linear-time engine, as MAINTAINERS' patterns
            doc_section = safe_pattern(section_text, ignore_case=True)
        except PatternError as exc:
            raise table.fail("doc_section", f"not a regular expression RE2 can match "
                                            f"(no backreferences or lookarounds): {exc}") from exc
    doc_example = table.optional("doc_example")
    if doc_example is not None and not doc_example.rstrip().endswith("::"):
        raise table.fail("doc_example", "must end with '::' (it introduces a literal block)")
    if (doc_file is None) != (doc_text is None):
        raise table.fail("doc_file" if doc_file is None else "doc_text",
                         "doc_file and doc_text go together")
    table.done()
    return MacroDefinition(macro, header, text if text.endswith("\n") else text + "\n", after,
                           doc_file, doc_text, doc_section, doc_example)


# One item of an `after` pattern: an atom and at most one quantifier.
_AFTER_ITEM = re.compile(
    r"(?P<atom>\\[wdsWDSt]|\\[^\w\s]|\.|\[\^?\]?(?:\\.|[^\]\\\[])*\]|[^\\.\[\](){}|*+?^$])"
    r"(?P<quant>[*+?])?")
_BYTES = [bytes([b]) for b in range(256)]


def _after_pattern(table: Table, text: str) -> re.Pattern[bytes]:
    """`after` compiled, if it is of the restricted form the module docstring describes."""
    def fail(problem: str) -> RuleError:
        return table.fail("after", f"not a regular expression of the accepted form: "
                                   f"{text!r}: {problem}")

    if not text.startswith("^"):
        raise fail("must start with ^ (the pattern is matched at the start of a line)")
    body = text[1:-1] if text.endswith("$") and not text.endswith("\\$") else text[1:]
    items: list[tuple[frozenset[bytes], str | None]] = []
    pos = 0
    while pos < len(body):
        found = _AFTER_ITEM.match(body, pos)
        if found is None:
            raise fail(f"{body[pos]!r} at offset {pos + 1} is not accepted: only literals, "
                       "\\t, ., \\w-style classes and [...] sets, each with at most one "
                       "of * + ? (no groups, |, {}, backreferences or lookarounds)")
        try:
            atom = re.compile(found["atom"].encode())
        except re.error as exc:
            raise fail(f"{found['atom']!r}: {exc}") from exc
        matched = frozenset(b for b in _BYTES if atom.fullmatch(b))
        if b"\n" in matched:
            raise fail(f"{found['atom']!r} can match a line break (write [^x\\n], not [^x])")
        items.append((matched, found["quant"]))
        pos = found.end()
    for (chars, quant), nxt in zip(items, [*items[1:], None], strict=True):
        if quant is None or nxt is None:
            continue
        next_chars, next_quant = nxt
        if next_quant in ("*", "?") or chars & next_chars:
            raise fail("an item with * + ? must end the pattern or be followed by a "
                       "required item that cannot match the same character")
    try:
        return re.compile(text.encode(), re.M)
    except re.error as exc:
        raise fail(str(exc)) from exc


def _series(table: Table, has_definition: bool) -> SeriesText:
    def template(name: str) -> str:
        return table.template(name, TEMPLATE_FIELDS)

    def optional(name: str) -> str | None:
        return template(name) if name in table.data else None

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
        dropped_body=optional("dropped_body"),
        diag_body=optional("diag_body"),
        docs_subject=optional("docs_subject") if has_definition else None,
        docs_body=optional("docs_body") if has_definition else None,
    )
    if (series.docs_subject is None) != (series.docs_body is None):
        raise table.fail("docs_body" if series.docs_subject else "docs_subject",
                         "give both docs_subject and docs_body (or neither)")
    # These become (parts of) mail subjects: a CR alone ends a header line as well as LF.
    for name in (*one_line, "docs_subject"):
        value = getattr(series, name)
        if value is not None:
            table.one_line(name, value)
    table.done()
    return series
