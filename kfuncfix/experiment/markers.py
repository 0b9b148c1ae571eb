"""Markers: the attribute words put in front of every kfunc definition under test."""

from __future__ import annotations

from dataclasses import dataclass

from kfuncfix.errors import KfuncfixError

# Default markers, in the order of the 2023 thread's candidates.
DEFAULT_MARKERS = (
    ("none", ""),
    ("__used", "__used"),
    ("noinline", "noinline"),
    ("__used noinline", "__used noinline"),
    ("__used __weak noinline", "__used __weak noinline"),
    ('visibility("hidden")', 'visibility("hidden")'),
    ('optimize("O0")', 'optimize("O0")'),
)


@dataclass(frozen=True)
class Marker:
    name: str
    attrs: str  # as the user wrote it: kernel words and bare attributes

    def c_text(self) -> str:
        """The marker as C: kernel words kept, `word(args)` wrapped in __attribute__."""
        return " ".join(_c_word(w) for w in _words(self.attrs))


def parse_marker(spec: str) -> Marker:
    """`NAME=ATTRS` (ATTRS may be empty) from --marker."""
    name, sep, attrs = spec.partition("=")
    if not sep or not name.strip():
        raise KfuncfixError(f"--marker {spec!r}: expected NAME=ATTRS, e.g. 'used=__used noinline'")
    _words(attrs)  # unbalanced parentheses are the user's typo: say so now
    return Marker(name.strip(), attrs.strip())


def default_markers() -> list[Marker]:
    return [Marker(n, a) for n, a in DEFAULT_MARKERS]


def _words(attrs: str) -> list[str]:
    """Split on blanks outside parentheses: `__used optimize("O0")` is two words."""
    words, depth, current = [], 0, ""
    for ch in attrs:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            raise KfuncfixError(f"marker {attrs!r}: unbalanced ')'")
        if ch.isspace() and depth == 0:
            if current:
                words.append(current)
            current = ""
        else:
            current += ch
    if depth:
        raise KfuncfixError(f"marker {attrs!r}: unbalanced '('")
    if current:
        words.append(current)
    return words


def _c_word(word: str) -> str:
    if "(" in word and not word.startswith("__attribute__"):
        return f"__attribute__(({word}))"
    return word
