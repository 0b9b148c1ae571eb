"""The rewrite engine: rules as data, plans as per-file old and new bytes.

    rule = load_rule("bpf_kfunc_tag")          # or a path to a .toml file
    result = plan(discover(tree), rule)        # nothing is written
    for change in result.files.values(): ...   # FileChange(path, old, new, kfuncs, edits)
"""

from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.macrodef import (
    changes_with_definition,
    definition_change,
    documentation_change,
    missing_definition,
)
from kfuncfix.engine.messages import commit_message, cover_letter, definition_message
from kfuncfix.engine.plan import FileChange, Plan, Skip
from kfuncfix.engine.planner import plan
from kfuncfix.engine.rule import (
    DEFAULT_RULE,
    MacroDefinition,
    Rule,
    SeriesText,
    list_rules,
    load_rule,
    parse_rule,
)
from kfuncfix.engine.schema import RuleError

__all__ = [
    "DEFAULT_RULE",
    "Edit",
    "FileChange",
    "MacroDefinition",
    "Plan",
    "Rule",
    "RuleError",
    "SeriesText",
    "Skip",
    "apply_edits",
    "changes_with_definition",
    "commit_message",
    "cover_letter",
    "definition_change",
    "documentation_change",
    "definition_message",
    "list_rules",
    "load_rule",
    "missing_definition",
    "parse_rule",
    "plan",
]
