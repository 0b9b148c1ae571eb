"""The rewrite engine: rules as data, one plan as the only product.

    rules = load_rules(["bpf_kfunc_tag"])      # names, paths, or "all"
    result = plan(discover(tree), rules)       # nothing is written
    for change in result.changes(with_definition=True): ...
    for finding in result.findings: ...        # what `check` prints

`kfuncfix.pipeline.run_plan` does the whole way from a command's options.
"""

from kfuncfix.engine.edits import Edit, apply_edits
from kfuncfix.engine.messages import commit_message, cover_letter, definition_message
from kfuncfix.engine.plan import FileChange, Plan, Result, Skip, Status
from kfuncfix.engine.planner import plan
from kfuncfix.engine.rule import (
    DEFAULT_RULE,
    MacroDefinition,
    Rule,
    SeriesText,
    list_rules,
    load_rule,
    load_rules,
    parse_rule,
)
from kfuncfix.engine.schema import RuleError

__all__ = [
    "DEFAULT_RULE",
    "Edit",
    "FileChange",
    "MacroDefinition",
    "Plan",
    "Result",
    "Rule",
    "RuleError",
    "SeriesText",
    "Skip",
    "Status",
    "apply_edits",
    "commit_message",
    "cover_letter",
    "definition_message",
    "list_rules",
    "load_rule",
    "load_rules",
    "parse_rule",
    "plan",
]
