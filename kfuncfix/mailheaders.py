"""Validation of everything that ends up in a mail header: addresses, one-line texts, ids.

Values reach the headers of a series from the command line, from a tree's
`.kfuncfix.toml`, from rule files and from get_maintainer.pl; any of them may
come from someone else.  A line break in one of them adds a header (`Bcc:`)
or ends the header block, so each value is checked where it enters and once
more where the mail is written.  Errors are one line naming the source of
the value (`--to`, `.kfuncfix.toml: to`, `rules/x.toml: series.commit_subject`);
the value is shown with repr() so that the message itself stays one line.
"""

from __future__ import annotations

import re

from kfuncfix.errors import KfuncfixError

# CR, LF and NUL, the other C0 controls and DEL, and what Python's
# str.splitlines() (used inside the email package) also takes for a line end.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
# RFC 5322 msg-id without obsolete forms: `<left@right>`, brackets optional
# as `git format-patch --in-reply-to` accepts both; printable ASCII but <, > and @.
_MESSAGE_ID = re.compile(r"(<?)([!-;=?A-~]+)@([!-;=?A-~]+)(>?)\Z")


def line_problem(value: str) -> str | None:
    """Why `value` cannot be one line of a header or subject; None if it can."""
    bad = _FORBIDDEN.search(value)
    if bad is None:
        return None
    char = bad.group()
    kind = "a line break" if char in "\r\n\x85\u2028\u2029" else "a control character"
    return f"{value!r} holds {kind} (U+{ord(char):04X})"


def check_header_value(value: str, source: str) -> str:
    """`value` unchanged if it can be a header value: no CR, LF, NUL or other control."""
    problem = line_problem(value)
    if problem is not None:
        raise KfuncfixError(f"{source}: {problem}; a header value must be one line of text")
    return value


def check_address(value: str, source: str) -> str:
    """`value` stripped if it is exactly one RFC 5322 address (`Name <a@b>` or `a@b`)."""
    import email.policy  # the stdlib's mail parser, for the few commands that mail

    check_header_value(value, source)
    try:
        header = email.policy.default.header_factory("to", value)
        addresses = header.addresses
        defects = header.defects
    except Exception as exc:  # the stdlib parser raises IndexError on some input, too
        raise KfuncfixError(f"{source}: {value!r} is not a mail address") from exc
    # An empty list entry (`a@b,`) leaves no defect behind, but is not one address.
    if len(addresses) != 1 or value.strip().startswith(",") or value.strip().endswith(","):
        raise KfuncfixError(
            f"{source}: {value!r} holds {len(addresses)} addresses; give exactly one per value")
    # `David S. Miller <davem@...>`: an unquoted period in a name is obsolete
    # syntax that every mailer takes (MAINTAINERS is full of it); nothing else is let by.
    defects = [d for d in defects if "period in 'phrase'" not in str(d)]
    if defects:
        raise KfuncfixError(f"{source}: {value!r} is not a mail address ({defects[0]})")
    address = addresses[0]
    if not address.username or not address.domain:
        raise KfuncfixError(f"{source}: {value!r} is not a mail address (no user@domain)")
    return value.strip()


def check_message_id(value: str, source: str) -> str:
    """`value` stripped if it is one Message-Id, `<left@right>` (the brackets optional)."""
    check_header_value(value, source)
    found = _MESSAGE_ID.match(value.strip())
    if found is None or (found[1] == "") != (found[4] == ""):
        raise KfuncfixError(f"{source}: {value!r} is not a Message-Id such as "
                            "<20240101.12345-1-name@example.org>")
    return value.strip()
