"""Errors a user can cause, with the exit code the CLI gives them."""


class KfuncfixError(Exception):
    """A problem with input or environment: printed as one line, exit 2."""

    exit_code = 2
