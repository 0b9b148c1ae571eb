"""`set_entry_flags`: remove, rename or add flags of the entries of kfunc sets.

The kfunc waves upstream did by hand (every `KF_TRUSTED_ARGS` dropped when
trusted arguments became the default) as data:

    [[actions]]
    type = "set_entry_flags"
    remove = ["KF_TRUSTED_ARGS"]      # and/or add = [...], rename = { OLD = "NEW" }
    kfuncs = ["bpf_a"]                # optional: only these kfuncs' entries
    kinds = ["kfunc"]                 # registrations whose sets change (default)
    reason = "trusted arguments are the default"   # optional, in each finding

An entry is changed where its text is written (`engine.entrysites`): in the
set, or once in the `#define` that writes it for an X-macro list.  Its layout
is kept (`engine.entryflags`).  A flag in a comment is not an entry's: it
stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from kfuncfix.engine.actions.base import Action, AllowedSpan
from kfuncfix.engine.edits import CannotRewrite, Edit
from kfuncfix.engine.entryflags import (
    FlagChange,
    mask,
    parse_call,
    rewritten,
    same_call,
    too_long,
)
from kfuncfix.engine.entrysites import MacroSites, Site, entry_site
from kfuncfix.engine.plan import ActionInputs, Recorder
from kfuncfix.engine.retired import is_retired
from kfuncfix.engine.schema import IDENT_RE, Table
from kfuncfix.model import DTOR, FMODRET, KFUNC, IdSet, SetEntry, TreeIndex

SET_KINDS = (KFUNC, DTOR, FMODRET)


@dataclass
class _Group:
    """One place to edit and the entries whose text it holds."""

    site: Site
    entries: list[tuple[IdSet, SetEntry]] = field(default_factory=list)
    # Entries the same macro makes that the rule does not select, but would change.
    others: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SetEntryFlags(Action):
    """Change the flags of set entries: `A | B | C` minus `B` is `A | C`."""

    kind: ClassVar[str] = "set_entry_flags"
    change: FlagChange
    kfuncs: tuple[str, ...] = ()
    set_kinds: tuple[str, ...] = (KFUNC,)
    reason: str = ""

    @classmethod
    def parse(cls, table: Table) -> SetEntryFlags:
        remove = table.identifiers("remove", required=False)
        add = table.identifiers("add", required=False)
        rename: dict[str, str] = {}
        renames = table.optional_table("rename")
        if renames is not None:
            for old in list(renames.data):
                if not IDENT_RE.match(old):
                    raise renames.fail(old, "not a C identifier")
                rename[old] = renames.string(old, IDENT_RE, "a C identifier")
            renames.done()
        if not (remove or add or rename):
            raise table.fail("remove", "give at least one of remove, add or rename")
        both = set(remove) & (set(add) | set(rename.values()))
        if both:
            raise table.fail("remove", f"{', '.join(sorted(both))} both removed and added")
        kinds = table.identifiers("kinds", required=False) or (KFUNC,)
        for name in kinds:
            if name not in SET_KINDS:
                raise table.fail("kinds", f"unknown kind {name!r} (one of {', '.join(SET_KINDS)})")
        reason = table.optional("reason")
        if reason is not None:
            table.one_line("reason", reason)
        kfuncs = table.identifiers("kfuncs", required=False)
        return cls(FlagChange(remove, add, tuple(rename.items())), kfuncs, kinds,
                   reason or "")

    def selects(self, kind: str, name: str) -> bool:
        """The rule is about this entry (its set's kind, and its name if named)."""
        return kind in self.set_kinds and (not self.kfuncs or name in self.kfuncs)

    def plan(self, inputs: ActionInputs, rec: Recorder) -> None:
        groups = self._groups(inputs.index)
        retired = inputs.rule.retired
        gone = is_retired(inputs.index, retired, inputs.read)
        for group in groups:
            if inputs.in_scope(group.site.path) and group.entries:
                self._one(inputs, rec, group, gone)
        if self.kfuncs:
            listed = {e.name for s in inputs.index.sets if s.kind in self.set_kinds
                      for e in s.entries}
            for name in self.kfuncs:
                if name not in listed:
                    rec.note(name, inputs.rule.source, 0,
                             f"named by the rule, listed in no {'/'.join(self.set_kinds)} set")

    def _groups(self, index: TreeIndex) -> list[_Group]:
        """Every site holding the text of an entry the rule changes, in file order.

        The entries are those of the index's kfuncs (one per entry of a registered
        set), so that a plan restricted to some kfuncs (`apply -i`) changes only
        theirs; any other entry a macro site also makes is noted with it."""
        macros = MacroSites(index)
        groups: dict[tuple[str, int], _Group] = {}
        chosen: set[int] = set()
        for k in index.kfuncs:
            if not self.selects(k.kind, k.name):
                continue
            chosen.add(id(k.entry))
            sites = macros.of(k.set, k.entry) if k.entry.via_macro else [entry_site(k.set,
                                                                                   k.entry)]
            for site in sites:
                groups.setdefault((site.path, site.start), _Group(site)).entries.append(
                    (k.set, k.entry))
        for idset in index.sets:
            for entry in idset.entries:
                if (not entry.via_macro or id(entry) in chosen
                        or self.change.apply(entry.flags) == entry.flags):
                    continue
                for site in macros.of(idset, entry):
                    group = groups.get((site.path, site.start))
                    if group is not None:
                        group.others.append(entry.name)
        return [groups[k] for k in sorted(groups)]

    def _one(self, inputs: ActionInputs, rec: Recorder, group: _Group, gone: bool) -> None:
        site = group.site
        src = inputs.index.sources[site.path]
        data = src.data
        names = list(dict.fromkeys(e.name for _, e in group.entries))
        sets = list(dict.fromkeys(s.name for s, _ in group.entries))
        flags = next((e.flags for _, e in group.entries
                      if self.change.apply(e.flags) != e.flags), None)
        label = site.macro or names[0]
        # What a skip is about: the kfuncs, and the macro that writes their entries
        # (the macro alone would read as a kfunc's name in `check`).
        who = f"{', '.join(names)} (written by macro {site.macro})" if site.macro else label
        if flags is None:
            if self.kfuncs:
                for name in names:
                    rec.done(name, site.path, site.line)
            return
        if group.others:
            rec.skip(who, site.path, site.line,
                     f"the macro also makes the entries of {', '.join(group.others)}, which "
                     "the rule does not select; change it by hand", kfunc=names[0])
            return
        edits = []
        too_wide = False
        try:
            for start, end in (site.calls(data) if site.macro else [(site.start, site.end)]):
                chunk = src.masked[start:end] if site.macro is None else mask(data[start:end])
                call = parse_call(data, chunk, start, end)
                text = rewritten(data, call, self.change, inputs.rule.line_limit)
                if text is None:
                    continue
                limit = inputs.rule.line_limit
                too_wide |= (too_long(data, start, end, text, limit)
                             and not too_long(data, start, end, data[start:end], limit))
                edits.append(Edit(start, end, text, f"flags of {label}"))
        except CannotRewrite as exc:
            rec.skip(who, site.path, site.line, str(exc), kfunc=names[0])
            return
        if not edits:
            rec.skip(who, site.path, site.line, f"its flags come from the arguments of "
                     f"{group.entries[0][1].via_macro}(); change them by hand", kfunc=names[0])
            return
        rec.edit(site.path, edits, kfuncs=names, sets=sets, name=label, line=site.line,
                 finding=self._finding(names, site, flags, inputs, gone),
                 severity="error" if gone else "warning")
        if too_wide:
            rec.note(label, site.path, site.line,
                     f"a line stays past {inputs.rule.line_limit} columns")

    def _finding(self, names: list[str], site: Site, flags: tuple[str, ...],
                 inputs: ActionInputs, gone: bool) -> str:
        if site.macro is None:
            what = f"set entry of kfunc {names[0]}"
        else:
            listed = ", ".join(names)
            what = f"set entries of kfuncs {listed} (written by macro {site.macro})"
        text = f"{what} {self.change.describe(flags, plural=site.macro is not None)}"
        if self.reason:
            text += f": {self.reason}"
        retired = inputs.rule.retired
        if gone and retired is not None:
            text += (f"; {retired.header} no longer defines {retired.macro}, so this does "
                     "not compile")
        return text

    def spans(self, index: TreeIndex, path: str) -> list[AllowedSpan]:
        change = self.change

        def check(before: bytes, after: bytes) -> str | None:
            return same_call(before, after, change)

        src = index.sources.get(path)
        if src is None:
            return []
        out = []
        for group in self._groups(index):
            site = group.site
            if site.path != path:
                continue
            calls = site.calls(src.data) if site.macro else [(site.start, site.end)]
            out += [AllowedSpan("entry", s, e, site.macro or group.entries[0][1].name, check)
                    for s, e in calls]
        return out
