"""Bundles are hostile input: size limits, no pickle, strict JSON, field-naming schema errors, safe names."""

from __future__ import annotations

import dataclasses
import gzip
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from lb_helpers import load

from fbenv.eval.results import EPISODES
from fbenv.feedback import Feedback, StepCheck, Verdict
from fbenv.leaderboard.bundle import (
    BundleError,
    Limits,
    encode_bundle,
    make_bundle,
    parse_bundle,
    read_bundle,
    write_bundle,
)


@pytest.fixture
def good(bundles: dict[str, Path]) -> dict[str, Any]:
    """A valid bundle of a real run, fresh for each test."""
    return load(bundles["random"])


def error_of(data: bytes | dict[str, Any], limits: Limits | None = None) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    with pytest.raises(BundleError) as caught:
        parse_bundle(raw, limits or Limits(), "b")
    return str(caught.value)


def changed(bundle: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``bundle`` with the field at dotted ``path`` (``[i]`` for items) set to ``value``."""
    copy = json.loads(json.dumps(bundle))
    parts = path.replace("[", ".").replace("]", "").split(".")
    target = copy
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value
    return copy


def test_a_written_bundle_reads_back_and_is_reproducible(board: Path, runs: dict[str, Path], good: dict[str, Any],
                                                         tmp_path: Path) -> None:
    path = write_bundle(good, tmp_path / "a.json.gz")
    assert read_bundle(path) == good
    assert encode_bundle(good) == path.read_bytes()  # no time or file name in the gzip header
    assert make_bundle(runs["random"], board) == good
    plain = tmp_path / "b.json"
    plain.write_text(json.dumps(good))
    assert read_bundle(plain) == good


@pytest.mark.parametrize(("path", "value", "message"), [
    ("episodes[3].steps[1].feedback.label", "no", "episodes[3].steps[1].feedback.label: expected bool or null, "
     "got str"),
    ("episodes[0].seed", 1.5, "episodes[0].seed: expected int, got number"),
    ("episodes[0].steps[0].verdict.correct", 1, "episodes[0].steps[0].verdict.correct: expected bool, got int"),
    ("episodes[0].steps[0].reward", "1.0", "episodes[0].steps[0].reward: expected number, got str"),
    ("episodes[0].messages[0].source", "oracle", "episodes[0].messages[0].source: expected one of 'agent', 'env', "
     "'user', 'tool', got 'oracle'"),
    ("episodes[0].steps[0].kind", "pickle", "episodes[0].steps[0].kind: expected one of"),
    ("summary[0].first_try.value", [1], "summary[0].first_try.value: expected number or null, got array"),
    ("envs[0].seeds[1]", -1, "envs[0].seeds[1]: expected an int >= 0, got -1"),
    ("format_version", 2, "format_version: expected 1, got 2"),
    ("agent", "oracle", "agent: expected object, got str"),
    ("episodes[0].steps[0].surprise", 1, "episodes[0].steps[0].surprise: unknown field (known: turn, kind"),
    ("summary[0].accuracy", {"value": 1}, "summary[0].accuracy: unknown field"),
])
def test_wrong_types_and_unknown_fields_are_named(good: dict[str, Any], path: str, value: Any, message: str) -> None:
    assert message in error_of(changed(good, path, value))


def test_missing_fields_are_named(good: dict[str, Any]) -> None:
    del good["episodes"][2]["steps"][0]["verdict"]["reference"]
    assert error_of(good).endswith("episodes[2].steps[0].verdict.reference: missing")


@pytest.mark.parametrize(("name", "what"), [
    ("../../etc/passwd", "'/' (a path separator)"),
    ("..", "'..' (path traversal)"),
    ("a\\b", "'\\' (a path separator)"),
    ("small\x00", "a NUL byte"),
    ("small\n", "a control character"),
    (".hidden", "is not a name"),
    ("", "is not a name"),
])
def test_path_traversal_in_names_is_rejected(good: dict[str, Any], name: str, what: str) -> None:
    message = error_of(changed(good, "suite.name", name))
    assert "b: suite.name:" in message and what in message


def test_display_names_may_hold_markup_but_not_control_characters(good: dict[str, Any]) -> None:
    parse_bundle(json.dumps(changed(good, "agent.name", "Qwen/Qwen2.5 <script>x</script>")).encode())
    for bad in ("a\x00b", "two\nlines", "\x1b[31mred", "   "):
        assert error_of(changed(good, "agent.name", bad)).startswith("b: agent.name:")


def test_size_limits(good: dict[str, Any]) -> None:
    raw = json.dumps(good).encode()
    assert "more than the limit of 1000" in error_of(raw, Limits(file_bytes=1000))
    bomb = gzip.compress(b" " * 5_000_000 + raw)
    assert len(bomb) < 100_000
    assert "decompresses to more than 1000000 bytes" in error_of(bomb, Limits(json_bytes=1_000_000))
    assert error_of(good, Limits(episodes=5)).endswith("episodes: more than 5 items (18)")
    assert "episodes[0].messages[0].content: longer than 50 characters" in error_of(good, Limits(text_length=50))
    assert "episodes[0].messages: more than 3 items (5)" in error_of(good, Limits(steps=1))


def test_file_limits_are_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"{" + b" " * 5000 + b"}")
    with pytest.raises(BundleError, match=r"big.json: 5002 bytes, more than the limit of 100"):
        read_bundle(big, Limits(file_bytes=100))
    with pytest.raises(BundleError, match="no such bundle file"):
        read_bundle(tmp_path)
    with pytest.raises(BundleError, match="no such bundle file"):
        read_bundle(tmp_path / "missing.json")


def test_pickle_and_other_non_json_bytes_are_refused(good: dict[str, Any]) -> None:
    assert "looks like a Python pickle" in error_of(pickle.dumps(good))
    assert "looks like a Python pickle" in error_of(gzip.compress(pickle.dumps(good)))
    assert "not UTF-8 text" in error_of(b"\xff\xfe{}")
    assert "not valid JSON" in error_of(b"import os; os.system('x')")
    assert "damaged gzip data" in error_of(b"\x1f\x8b" + b"\x00" * 30)
    assert error_of(b"[1, 2]") == "b: expected object, got array"


def test_json_that_python_would_accept_but_json_does_not_is_refused(good: dict[str, Any]) -> None:
    text = json.dumps(changed(good, "episodes[0].steps[0].reward", 0.5))
    assert "NaN is not JSON" in error_of(text.replace('"reward": 0.5', '"reward": NaN').encode())
    assert "Infinity is not JSON" in error_of(text.replace('"reward": 0.5', '"reward": Infinity').encode())
    assert "duplicate field 'format'" in error_of(text.replace('{"format": ', '{"format": 1, "format": ', 1).encode())


def test_deeply_nested_json_is_refused(good: dict[str, Any]) -> None:
    assert "nested too deeply to parse" in error_of(b"[" * 200_000 + b"]" * 200_000)
    nested: Any = "x"
    for _ in range(10):
        nested = {"a": nested}
    tool_step = changed(good, "episodes[0].steps[0].tool", nested)
    assert "episodes[0].steps[0].tool.a.a.a.a.a.a.a: nested deeper than 6 levels" in error_of(tool_step)


def test_schema_follows_the_verdict_and_feedback_dataclasses(good: dict[str, Any]) -> None:
    step = good["episodes"][0]["steps"][0]
    names = lambda cls: {f.name for f in dataclasses.fields(cls)}  # noqa: E731  (fields, not ClassVars)
    assert set(step["verdict"]) == names(Verdict)
    assert set(step["feedback"]) == names(Feedback) - {"usage"}
    verdict = next(s["verdict"] for e in good["episodes"] for s in e["steps"] if s["verdict"]["steps"])
    assert set(verdict["steps"][0]) == names(StepCheck)


def test_make_bundle_refuses_runs_that_are_not_whole_suite_runs(board: Path, runs: dict[str, Path],
                                                                tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"cannot read .*run.json .*bundle a directory written by"):
        make_bundle(tmp_path, board)
    (tmp_path / "run.json").write_text(json.dumps({"agent": "x"}))
    with pytest.raises(BundleError, match="was not run with --suite"):
        make_bundle(tmp_path, board)
    partial = tmp_path / "partial"
    partial.mkdir()
    source = runs["oracle"]
    (partial / "run.json").write_text((source / "run.json").read_text())
    lines = (source / EPISODES).read_text().splitlines(keepends=True)
    (partial / EPISODES).write_text("".join(lines[:-1]))
    with pytest.raises(BundleError, match=r"misses 1 of 18 episodes .* rerun the same `fbenv eval --suite tiny"):
        make_bundle(partial, board)
    assert make_bundle(source, board, name="Mine", description="d")["agent"] == {
        "name": "Mine", "spec": "oracle", "description": "d"}
