"""The one exception the BTF package raises for bad input."""


class BTFError(Exception):
    """Malformed, truncated or unsupported BTF or ELF input.

    The message is one line naming what was wrong and, where known, the byte offset.
    Every reader entry point converts lower-level failures into this class, so callers
    need to catch only this (and OSError for files that cannot be opened).
    """


class SplitBTFError(BTFError):
    """Split (module) BTF read without the base BTF it extends."""
