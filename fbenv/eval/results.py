"""Result files: append-only JSONL, one finished episode per line, safe to kill and resume.

Each record is written with a single ``write`` on a file opened for appending, then flushed and
fsynced, so a finished episode is on disk before the next one is reported; a ``kill -9`` can at
worst leave one partial last line. On resume that partial line (an episode that had not finished
being written) is moved aside to ``episodes.jsonl.partial`` — nothing is deleted — and its episode
runs again; any *earlier* line that does not parse is corruption and stops the run with the line
number, since silently skipping it would lose data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EPISODES = "episodes.jsonl"
RUN = "run.json"


class ResultsError(ValueError):
    """A result directory that cannot be read or resumed as asked; the message names the fix."""


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record in a results directory (or a JSONL file), in file order.

    A partial last line is ignored (it is what a killed run leaves); a bad line before it raises.
    """
    return list(_iter_records(_episodes_path(path))[0])


def _episodes_path(path: str | Path) -> Path:
    path = Path(path)
    return path / EPISODES if path.is_dir() else path


def _iter_records(file: Path) -> tuple[Iterator[dict[str, Any]], int | None]:
    """(records, byte offset of a partial last line or None)."""
    if not file.exists():
        raise ResultsError(f"no result file at {file}; run `fbenv eval ... --out DIR` first")
    data = file.read_bytes()
    records: list[dict[str, Any]] = []
    partial_at: int | None = None
    offset = 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        if line.strip():
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "key" not in record:
                    raise ValueError("not an episode record")
                if last:  # no newline after it: the write did not finish
                    raise ValueError("unterminated line")
                records.append(record)
            except ValueError as error:
                if last:
                    partial_at = offset
                else:
                    raise ResultsError(f"{file}:{number} is not a valid episode record ({error}); the file is "
                                       "damaged: move it away (or fix that line) and run again") from error
        offset += len(line) + 1
    return iter(records), partial_at


class ResultsWriter:
    """Appends episode records to ``DIR/episodes.jsonl`` and knows which keys are done (for resume).

    Args:
        directory: the results directory (created if missing).
        run: the run's identity (agent, max turns, env kwargs, fbenv version...). A directory that
            holds a different run is refused, so results of two configurations never mix.
    """

    def __init__(self, directory: str | Path, run: dict[str, Any]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.file = self.directory / EPISODES
        run_file = self.directory / RUN
        if run_file.exists():
            try:
                existing = json.loads(run_file.read_text())
            except ValueError as error:
                raise ResultsError(f"{run_file} is not valid JSON ({error}); move it away to start afresh") from error
            if existing != run:
                changed = sorted(k for k in set(existing) | set(run) if existing.get(k) != run.get(k))
                raise ResultsError(
                    f"{self.directory} holds results of a different run (differs in: {', '.join(changed)}); "
                    "use another --out directory, or rerun with the same settings to resume")
        else:
            tmp = run_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, run_file)
        self.records: list[dict[str, Any]] = []
        if self.file.exists():
            records, partial_at = _iter_records(self.file)
            self.records = list(records)
            if partial_at is not None:
                self._set_aside(partial_at)
        self.done = {record["key"] for record in self.records}
        self._fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _set_aside(self, offset: int) -> None:
        """Move a partial last line to ``episodes.jsonl.partial`` and cut it from the file."""
        with open(self.file, "rb+") as handle:
            handle.seek(offset)
            tail = handle.read()
            with open(self.file.with_name(EPISODES + ".partial"), "ab") as aside:
                aside.write(tail + b"\n")
                aside.flush()
                os.fsync(aside.fileno())
            handle.truncate(offset)
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished episode durably (one write, then fsync)."""
        if record["key"] in self.done:
            raise ResultsError(f"episode {record['key']!r} is already in {self.file}")
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        written = os.write(self._fd, line)
        if written != len(line):  # a short write on a full disk: say so rather than leave a silent gap
            raise OSError(f"only {written} of {len(line)} bytes of an episode reached {self.file}")
        os.fsync(self._fd)
        self.done.add(record["key"])
        self.records.append(record)

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
