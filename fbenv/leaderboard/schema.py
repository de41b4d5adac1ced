"""A small, strict validator for JSON data from outside: every error names the field's path.

Leaderboard bundles and suites are JSON written by someone else, so they are checked field by field
before anything reads them: types exactly (a bool is not an int, an int is not a str), sizes
bounded, unknown fields refused, and free-form parts (tool details) bounded in depth and size. An
error reads ``episodes[3].steps[1].feedback.label: expected bool or null, got str``.

Validators are plain callables ``(value, path) -> None`` that raise :class:`SchemaError`; build
them with the functions below. Names that may become file names have their own check,
:func:`file_name`, which refuses path traversal outright rather than cleaning it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

Validator = Callable[[Any, str], None]

#: What a name used in a file name may hold (letters, digits, ``-``, ``_``, ``.``; not starting with ``.``).
_FILE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


class SchemaError(ValueError):
    """Data that does not fit its schema; the message starts with the field's path."""


def type_name(value: Any) -> str:
    """The JSON name of a Python value's type, for error messages."""
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "number", str: "str", list: "array", dict: "object"}.get(
        type(value), type(value).__name__)


def _fail(path: str, message: str) -> SchemaError:
    return SchemaError(f"{path}: {message}" if path else message)


def has_control(text: str) -> bool:
    """Whether ``text`` holds NUL or another control character (newlines and tabs included)."""
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def string(max_length: int, *, pattern: str | None = None, single_line: bool = False,
           choices: tuple[str, ...] | None = None) -> Validator:
    """A str of at most ``max_length`` characters; optionally matching ``pattern`` in full, on one
    line without control characters, or one of ``choices``."""
    regex = re.compile(pattern) if pattern else None

    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise _fail(path, f"expected str, got {type_name(value)}")
        if len(value) > max_length:
            raise _fail(path, f"longer than {max_length} characters ({len(value)})")
        if choices is not None and value not in choices:
            raise _fail(path, f"expected one of {', '.join(map(repr, choices))}, got {value[:80]!r}")
        if single_line and has_control(value):
            raise _fail(path, "holds a control character (NUL, newline, ...); use plain one-line text")
        if regex is not None and not regex.fullmatch(value):
            raise _fail(path, f"{value[:80]!r} does not match {pattern}")
    return check


def integer(minimum: int | None = None, maximum: int | None = None) -> Validator:
    """An int (not a bool) within the bounds."""
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, f"expected int, got {type_name(value)}")
        if minimum is not None and value < minimum:
            raise _fail(path, f"expected an int >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise _fail(path, f"expected an int <= {maximum}, got {value}")
    return check


def number(value: Any, path: str) -> None:
    """A finite int or float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, f"expected number, got {type_name(value)}")
    if not math.isfinite(value):
        raise _fail(path, f"expected a finite number, got {value}")


def boolean(value: Any, path: str) -> None:
    """A bool."""
    if not isinstance(value, bool):
        raise _fail(path, f"expected bool, got {type_name(value)}")


def constant(expected: Any) -> Validator:
    """Exactly ``expected`` (a format marker or version)."""
    def check(value: Any, path: str) -> None:
        if type(value) is not type(expected) or value != expected:
            raise _fail(path, f"expected {expected!r}, got {value!r}"[:200])
    return check


def nullable(inner: Validator) -> Validator:
    """None or what ``inner`` accepts; a type error says both."""
    def check(value: Any, path: str) -> None:
        if value is None:
            return
        try:
            inner(value, path)
        except SchemaError as error:
            message = str(error)
            prefix = f"{path}: expected "
            if message.startswith(prefix) and ", got " in message:
                wanted, got = message[len(prefix):].split(", got ", 1)
                raise _fail(path, f"expected {wanted} or null, got {got}") from None
            raise
    return check


def array(item: Validator, max_items: int) -> Validator:
    """A list of at most ``max_items`` items, each checked by ``item`` (paths ``name[i]``)."""
    def check(value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise _fail(path, f"expected array, got {type_name(value)}")
        if len(value) > max_items:
            raise _fail(path, f"more than {max_items} items ({len(value)})")
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]")
    return check


def obj(required: Mapping[str, Validator], optional: Mapping[str, Validator] | None = None, *,
        extra: tuple[str, Validator] | None = None) -> Validator:
    """An object with exactly the ``required`` fields, any of the ``optional`` ones, and (with
    ``extra=(pattern, validator)``) further fields whose names match ``pattern``; nothing else."""
    optional = optional or {}
    extra_name = re.compile(extra[0]) if extra else None

    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(path, f"expected object, got {type_name(value)}")
        for name, validator in required.items():
            if name not in value:
                raise _fail(_join(path, name), "missing")
            validator(value[name], _join(path, name))
        for name, field_value in value.items():
            if name in required:
                continue
            if name in optional:
                optional[name](field_value, _join(path, name))
            elif extra and extra_name is not None and extra_name.fullmatch(name):
                extra[1](field_value, _join(path, name))
            else:
                known = ", ".join([*required, *optional]) or "none"
                raise _fail(_join(path, str(name)[:60]), f"unknown field (known: {known})")
    return check


def mapping(value_validator: Validator, max_items: int, key_pattern: str = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
            ) -> Validator:
    """An object with free keys matching ``key_pattern``, each value checked by ``value_validator``."""
    key = re.compile(key_pattern)

    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(path, f"expected object, got {type_name(value)}")
        if len(value) > max_items:
            raise _fail(path, f"more than {max_items} fields ({len(value)})")
        for name, field_value in value.items():
            if not key.fullmatch(name):
                raise _fail(path, f"field name {name[:60]!r} does not match {key_pattern}")
            value_validator(field_value, _join(path, name))
    return check


def json_value(max_depth: int, max_items: int, max_length: int) -> Validator:
    """Any JSON value nested at most ``max_depth`` deep, with at most ``max_items`` items per
    array/object and ``max_length`` characters per string (free-form details)."""
    def check(value: Any, path: str, depth: int = 0) -> None:
        if depth > max_depth:
            raise _fail(path, f"nested deeper than {max_depth} levels")
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            number(value, path)
        elif isinstance(value, str):
            if len(value) > max_length:
                raise _fail(path, f"longer than {max_length} characters ({len(value)})")
        elif isinstance(value, (list, dict)):
            if len(value) > max_items:
                raise _fail(path, f"more than {max_items} items ({len(value)})")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for name, element in items:
                if isinstance(name, str) and len(name) > 200:
                    raise _fail(path, "a field name is longer than 200 characters")
                check(element, f"{path}[{name}]" if isinstance(name, int) else _join(path, name), depth + 1)
        else:
            raise _fail(path, f"expected a JSON value, got {type_name(value)}")
    return check


def file_name(value: Any, path: str) -> None:
    """A name that may become part of a file name: refuses path traversal rather than cleaning it.

    ``..``, ``/``, ``\\``, NUL and other control characters each get their own message; otherwise the
    name must be 1-64 of letters, digits, ``-``, ``_`` and ``.``, not starting with ``.``.
    """
    if not isinstance(value, str):
        raise _fail(path, f"expected str, got {type_name(value)}")
    for bad, what in (("\x00", "a NUL byte"), ("/", "'/' (a path separator)"), ("\\", "'\\' (a path separator)"),
                      ("..", "'..' (path traversal)")):
        if bad in value:
            raise _fail(path, f"{value[:80]!r} holds {what}; a name is letters, digits, '-', '_' and '.'")
    if has_control(value):
        raise _fail(path, f"{value[:80]!r} holds a control character; a name is letters, digits, '-', '_' and '.'")
    if not _FILE_NAME.fullmatch(value):
        raise _fail(path, f"{value[:80]!r} is not a name: use 1-64 letters, digits, '-', '_' and '.', "
                    "not starting with '.'")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
