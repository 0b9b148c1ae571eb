"""Checked reading of one TOML table: every error names the rule file and the key.

Rule files are written by users; a typo must never turn into a silent
default or a Python traceback.  `Table` hands out values by key, checks
their type and form, and at the end refuses any key nobody asked for.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Any

from kfuncfix.errors import KfuncfixError
from kfuncfix.mailheaders import line_problem

IDENT_RE = re.compile(r"[A-Za-z_]\w*\Z")


class RuleError(KfuncfixError):
    """A rule file that cannot be used: `FILE: KEY: what is wrong`."""


class Table:
    """Typed access to one TOML table, remembering which keys were read."""

    def __init__(self, data: dict[str, Any], source: str, where: str = "") -> None:
        self.data = data
        self.source = source
        self.where = where
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, problem: str) -> RuleError:
        return RuleError(f"{self.source}: {self.key(name)}: {problem}")

    def _get(self, name: str, kind: type, kind_name: str, required: bool) -> Any:
        self.read.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, "missing")
            return None
        value = self.data[name]
        # bool is an int in Python; TOML keeps them apart and so do we.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(name, f"must be {kind_name}, not {type(value).__name__}")
        return value

    def _check(self, name: str, value: str, pattern: re.Pattern[str] | None, form: str) -> str:
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, f"{value!r} is not {form}")
        return value

    def string(self, name: str, pattern: re.Pattern[str] | None = None, form: str = "",
               default: str | None = None) -> str:
        """A string the rule must give (unless there is a default), of the given form."""
        value = self._get(name, str, "a string", default is None)
        if value is None:
            assert default is not None  # _get raised for a missing required key
            return default
        return self._check(name, value, pattern, form)

    def optional(self, name: str, pattern: re.Pattern[str] | None = None,
                 form: str = "") -> str | None:
        value = self._get(name, str, "a string", False)
        return None if value is None else self._check(name, value, pattern, form)

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        value = self._get(name, int, "an integer", False)
        if value is None:
            return default
        if not low <= value <= high:
            raise self.fail(name, f"must be between {low} and {high}")
        return int(value)

    def identifiers(self, name: str, *, required: bool = True) -> tuple[str, ...]:
        value = self._get(name, list, "a list of identifiers", required)
        if value is None:
            return ()
        for item in value:
            if not isinstance(item, str) or not IDENT_RE.match(item):
                raise self.fail(name, f"{item!r} is not a C identifier")
        return tuple(value)

    def strings(self, name: str, *, pattern: re.Pattern[str], form: str) -> tuple[str, ...]:
        value = self._get(name, list, "a list of strings", True)
        if not value:
            raise self.fail(name, "must not be empty")
        for item in value:
            if not isinstance(item, str) or not pattern.match(item):
                raise self.fail(name, f"{item!r} is not {form}")
        return tuple(value)

    def table(self, name: str) -> Table:
        return Table(self._get(name, dict, "a table", True), self.source, self.key(name))

    def optional_table(self, name: str) -> Table | None:
        value = self._get(name, dict, "a table", False)
        return None if value is None else Table(value, self.source, self.key(name))

    def tables(self, name: str) -> list[Table]:
        value = self._get(name, list, "an array of tables ([[...]])", True)
        if not value:
            raise self.fail(name, "must hold at least one entry")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{name}[{i}]", "must be a table")
            out.append(Table(item, self.source, f"{self.key(name)}[{i}]"))
        return out

    def one_line(self, name: str, value: str) -> str:
        """value, if it can be one line of a subject or header: no CR, LF, NUL or control."""
        problem = line_problem(value)
        if problem is not None or not value.strip():
            detail = f": {problem}" if problem else ""
            raise self.fail(name, f"must be one non-empty line{detail}")
        return value

    def template(self, name: str, allowed: frozenset[str], *, default: str | None = None) -> str:
        """A str.format template using only the placeholders in `allowed`."""
        value = self.string(name, default=default)
        try:
            parts = [(f, spec, conv) for _, f, spec, conv in Formatter().parse(value)
                     if f is not None]
        except ValueError as exc:
            raise self.fail(name, f"bad template: {exc}") from exc
        for field, spec, conversion in parts:
            if spec or conversion:
                raise self.fail(name, f"placeholder {{{field}}} takes no conversion or format")
            if field not in allowed:
                known = ", ".join("{" + a + "}" for a in sorted(allowed))
                raise self.fail(name, f"unknown placeholder {{{field}}} (known: {known})")
        return value

    def done(self) -> None:
        """Refuse keys that no reader asked for: they are typos or unsupported."""
        for name in self.data:
            if name not in self.read:
                raise self.fail(name, "unknown key")
