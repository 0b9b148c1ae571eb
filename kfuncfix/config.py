"""`.kfuncfix.toml`: the defaults a subsystem always uses, kept at the tree root.

    rule = "bpf_kfunc_tag"
    subject_prefix = "PATCH bpf-next"
    split = "subsystem"
    to = ["bpf@vger.kernel.org"]
    cc = ["maintainer@example.org"]

A value given on the command line always wins over the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from kfuncfix.errors import KfuncfixError
from kfuncfix.mailheaders import check_address, check_header_value
from kfuncfix.userfiles import read_small_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILENAME = ".kfuncfix.toml"
# key -> (type check, description for errors)
KEYS: dict[str, tuple[type, str]] = {
    "rule": (str, "a rule name or path"),
    "subject_prefix": (str, "a string such as 'PATCH bpf-next'"),
    "split": (str, "one of none, subsystem, list, file"),
    "to": (list, "a list of addresses"),
    "cc": (list, "a list of addresses"),
}
SPLITS = ("none", "subsystem", "list", "file")


def read_config_file(path: Path) -> dict[str, Any]:
    """The validated settings of one file."""
    try:
        raw = read_small_file(path, "the settings file")
    except OSError as exc:
        raise KfuncfixError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_config(raw, str(path))


def parse_config(raw: bytes, path: str) -> dict[str, Any]:
    """The validated settings in `raw`, the bytes of a config file (`path` names it)."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KfuncfixError(f"{path}: not valid TOML: {exc}") from exc
    for key, value in data.items():
        if key not in KEYS:
            raise KfuncfixError(f"{path}: unknown key '{key}' (known: {', '.join(KEYS)})")
        kind, what = KEYS[key]
        if not isinstance(value, kind) or (isinstance(value, list) and not all(
                isinstance(v, str) for v in value)):
            raise KfuncfixError(f"{path}: key '{key}' must be {what}")
    if data.get("split", "none") not in SPLITS:
        raise KfuncfixError(f"{path}: key 'split' must be one of {', '.join(SPLITS)}")
    # The file comes with the tree, perhaps from someone else: what reaches a
    # mail header is checked here, naming the file and key.
    for key in ("to", "cc"):
        if key in data:
            data[key] = [check_address(v, f"{path}: {key}") for v in data[key]]
    if "subject_prefix" in data:
        check_header_value(data["subject_prefix"], f"{path}: subject_prefix")
    return dict(data)


def fill_defaults(ctx: click.Context, params: dict[str, Any], config: dict[str, Any],
                  names: dict[str, str]) -> dict[str, Any]:
    """params with config values for options the user left at their defaults.

    names maps config keys to click parameter names.
    """
    out = dict(params)
    for key, param in names.items():
        if key in config and ctx.get_parameter_source(param) in (
                ParameterSource.DEFAULT, None):
            value = config[key]
            out[param] = tuple(value) if isinstance(value, list) else value
    return out
