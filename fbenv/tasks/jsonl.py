"""Reading a user's JSONL file of problems as hostile input: bounded, with errors that say where.

Shared by the file-backed tasks (MathFile, CodeFile): the file must exist, be at most
``MAX_FILE_BYTES`` and be UTF-8; each non-blank line must be one JSON object. Every error is a
ValueError naming the file, the line number and what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 512 * 2**20


def read_problem_file(path: str | None, fixture: str, what: str) -> tuple[str, str]:
    """The file's text and a label for errors; ``path=None`` reads ``fbenv/data/<fixture>``."""
    if path is None:
        return resources.files("fbenv").joinpath("data", fixture).read_text(encoding="utf-8"), f"fbenv/data/{fixture}"
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{what} path {path!r} is not a file; give the path of a JSONL file")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{what} path {path!r} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return file.read_text(encoding="utf-8"), str(path)
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} path {path!r} is not UTF-8 text: {error}") from error


def records(text: str, label: str, expected: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, record) for each non-blank line; ``expected`` says what an object should hold."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{label}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg}); each line must be one JSON object") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object with {expected}")
        yield where, record
