"""One home per setting: a dataclass field that carries its help text and its check.

A configuration class declares each setting once, with `setting`; everything else is derived
from the fields:

- `check_settings(config)` runs every field's check and raises `SettingError` naming the first
  bad setting (by its field name: the command line translates it into its flag);
- `add_arguments(parser, cls)` adds one command-line flag per field (``local_steps`` becomes
  ``--local-steps``), with the field's type, choices, default and help;
- `settings_table(cls)` writes the Markdown table of the settings for the documentation.

>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     radius: float = setting(0.04, "patch radius", positive, group="patches")
...     stop: str = setting("fixed", "stopping rule", choices=("fixed", "discrepancy"))
>>> check_settings(Demo(radius=0.1)).radius
0.1
>>> try:
...     check_settings(Demo(radius=-1))
... except SettingError as exc:
...     print(exc.setting, "|", exc)
radius | radius must be positive, got -1
>>> import argparse
>>> ap = argparse.ArgumentParser()
>>> add_arguments(ap, Demo)
>>> vars(ap.parse_args(["--radius", "0.1"]))
{'radius': 0.1, 'stop': 'fixed'}
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from dgp.errors import InputError

#: the value of a setting chosen from the data
AUTO = "auto"

#: a check is a predicate on the value and the phrase that completes "<name> ..." when it fails
Check = tuple[Callable[[object], bool], str]

positive: Check = (lambda v: v > 0, "must be positive")
non_negative: Check = (lambda v: v >= 0, "must be non-negative")


def at_least(lo) -> Check:
    """The check ``value >= lo``."""
    return (lambda v: v >= lo, f"must be at least {lo}")


def in_range(lo, hi, closed_low: bool = True, closed_high: bool = True) -> Check:
    """The check ``lo <= value <= hi`` (each end open or closed)."""
    lo_ok = (lambda v: v >= lo) if closed_low else (lambda v: v > lo)
    hi_ok = (lambda v: v <= hi) if closed_high else (lambda v: v < hi)
    text = f"{'[' if closed_low else '('}{lo}, {hi}{']' if closed_high else ')'}"
    return (lambda v: lo_ok(v) and hi_ok(v), f"must be in {text}")


class SettingError(InputError):
    """A setting has a bad value. ``setting`` is the field name, ``reason`` the rest of the message."""

    def __init__(self, setting: str, reason: str):
        self.setting, self.reason = setting, reason
        super().__init__(f"{setting} {reason}")

    def as_flag(self) -> str:
        """The message with the setting named by its command-line flag."""
        return f"{flag_name(self.setting)} {self.reason}"


def setting(
    default,
    help: str,
    check: Check | None = None,
    *,
    choices: tuple | None = None,
    group: str | None = None,
    parse: Callable[[str], object] | None = None,
    cli: bool = True,
):
    """A dataclass field with its documentation and validation beside it.

    Parameters
    ----------
    default : the documented default (a tuple for sequences, so the class stays hashable)
    help : one sentence for ``--help`` and the documentation
    check : ``(predicate, phrase)``, e.g. `positive` or ``in_range(0, 1)``
    choices : the allowed values (checked, and offered as the flag's choices)
    group : the ``--help`` section the flag appears under
    parse : turns the flag's text into the value (default: the type of ``default``)
    cli : False for settings the command line sets some other way (no flag is derived)
    """
    meta = {"help": help, "check": check, "choices": choices, "group": group, "parse": parse, "cli": cli}
    return dataclasses.field(default=default, metadata=meta)


def redefault(cls, name: str, default):
    """The field ``name`` of ``cls`` (made by `setting`) with another default, for a subclass that
    changes only the default."""
    return dataclasses.field(default=default, metadata=cls.__dataclass_fields__[name].metadata)


def flag_name(name: str) -> str:
    """The command-line flag of a setting: ``local_steps`` -> ``--local-steps``."""
    return "--" + name.replace("_", "-")


def _choices_text(choices) -> str:
    words = [str(c) for c in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def check_settings(config):
    """Run the check of every field of ``config`` (a dataclass instance); return it unchanged.

    Raises `SettingError` naming the first bad setting.
    """
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        choices = f.metadata.get("choices")
        if choices is not None and value not in choices:
            raise SettingError(f.name, f"must be {_choices_text(choices)}, got {value!r}")
        check = f.metadata.get("check")
        if check is not None:
            ok, phrase = check
            try:
                good = bool(ok(value))
            except TypeError:
                good = False
            if not good:
                raise SettingError(f.name, f"{phrase}, got {value!r}")
    return config


def auto_or(kind: Callable[[str], object], auto=AUTO) -> Callable[[str], object]:
    """A flag parser for a number that may also be ``auto`` (returned as ``auto``); a bad value
    reads "invalid int or auto value" on the command line.

    >>> auto_or(int)("AUTO"), auto_or(int)("7"), auto_or(float, 0.0)("auto")
    ('auto', 7, 0.0)
    """

    def parse(text: str):
        return auto if text.strip().lower() == AUTO else kind(text)

    parse.__name__ = f"{kind.__name__} or {AUTO}"
    return parse


def _parser_for(f: dataclasses.Field) -> Callable[[str], object]:
    parse = f.metadata.get("parse")
    if parse is not None:
        return parse
    return type(f.default) if f.default is not None else str


def add_arguments(parser, cls, names=None, defaults: bool = True, values: dict | None = None) -> None:
    """Add one flag per setting of ``cls`` to ``parser``, in the field's ``group``.

    Parameters
    ----------
    parser : an `argparse.ArgumentParser`
    cls : a dataclass whose fields were made by `setting`
    names : only these fields (default: every field with ``cli=True``)
    defaults : False gives every flag the default None ("leave the setting as it is")
    values : defaults to show and use instead of the fields' own (a per-task preset)
    """
    groups: dict = {}
    values = values or {}
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "help" not in meta or not meta["cli"] or (names is not None and f.name not in names):
            continue
        group = meta["group"]
        if group is not None and group not in groups:
            groups[group] = parser.add_argument_group(group)
        target = groups.get(group, parser)
        default = values.get(f.name, f.default)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        # argparse expands %-formats in help: a literal "%" of the text (or of the default) must be doubled
        text = f"{meta['help']} ({shown})".replace("%", "%%")
        kw = {"default": default if defaults else None, "help": text}
        if isinstance(f.default, bool):
            target.add_argument(flag_name(f.name), action="store_true" if not f.default else "store_false", **kw)
            continue
        if meta["choices"] is not None:
            kw["choices"] = meta["choices"]
        target.add_argument(flag_name(f.name), type=_parser_for(f), **kw)


def settings_table(cls, names=None) -> str:
    """A Markdown table of the settings of ``cls``: flag, default, meaning."""
    rows = ["| setting | flag | default | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata or (names is not None and f.name not in names):
            continue
        d = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
        flag = f"`{flag_name(f.name)}`" if f.metadata["cli"] else ""
        rows.append(f"| `{f.name}` | {flag} | {d} | {f.metadata['help']} |")
    return "\n".join(rows)


def widths(text: str) -> tuple:
    """Parse network widths written like ``2,128,128,3``."""
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise SettingError("widths", f"must be comma-separated integers like 2,128,128,3, got {text!r}") from None
