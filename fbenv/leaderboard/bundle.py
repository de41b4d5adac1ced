"""Submission bundles: one JSON file (gzipped or not) with everything needed to re-score a run.

A bundle holds the fbenv version, the suite it ran (name, version, hash), the agent's description,
each (env, condition)'s ``spec.to_json()`` and seeds, every episode's transcript with each step's
reward, verdict and feedback, and the metrics it claims. ``docs/leaderboard.md`` describes every
field. :func:`make_bundle` builds one from an ``fbenv eval --suite`` results directory.

Bundles are hostile input. :func:`read_bundle` checks the file size before reading, the
decompressed size while inflating, refuses pickle and anything that is not UTF-8 JSON (NaN,
duplicate keys and nesting deeper than the parser allows included), then validates every field
(:data:`bundle_schema`), with errors that name the field's path. Nothing in a bundle is imported,
evaluated or unpickled, and no bundle field becomes a path without :func:`~fbenv.leaderboard.schema.file_name`.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fbenv
from fbenv.eval.metrics import summarize
from fbenv.eval.results import RUN, read_records
from fbenv.eval.rollout import SOURCES
from fbenv.feedback import Feedback, StepCheck, Verdict
from fbenv.leaderboard.schema import (
    SchemaError,
    Validator,
    array,
    boolean,
    constant,
    file_name,
    integer,
    json_value,
    nullable,
    number,
    obj,
    string,
)
from fbenv.leaderboard.suites import Suite, load_suite

FORMAT = "fbenv-leaderboard-bundle"
FORMAT_VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
METRIC_NAME = r"first_try|success@\d{1,3}|succ_given_fail@\d{1,3}|turns_to_solve|incorporation|repetition|" \
              r"gain_per_turn|flip_rate"


class BundleError(ValueError):
    """A bundle that cannot be read, is malformed or exceeds a limit; the message names the field."""


@dataclass(frozen=True)
class Limits:
    """How large a bundle may be. The defaults fit the full suite with room to spare.

    Attributes:
        file_bytes: the file on disk (compressed or not).
        json_bytes: the JSON text after decompression (a gzip bomb stops here).
        episodes: episodes in one bundle.
        text_length: characters in one message, verdict or feedback text (fbenv's default
            ``max_action_length``; a longer reply is judged wrong unread anyway).
        steps: steps (turns) per episode.
    """

    file_bytes: int = 64 << 20
    json_bytes: int = 256 << 20
    episodes: int = 50_000
    text_length: int = 100_000
    steps: int = 100


DEFAULT_LIMITS = Limits()


def bundle_schema(limits: Limits = DEFAULT_LIMITS) -> Validator:
    """The validator of a whole bundle under ``limits`` (strict: unknown fields are errors)."""
    text = string(limits.text_length)
    short = string(200, single_line=True)
    details = json_value(max_depth=6, max_items=1000, max_length=limits.text_length)
    step_check = dataclass_object(StepCheck, {"index": integer(0), "text": text, "correct": boolean,
                                              "expected": nullable(text), "message": text}, details)
    verdict = dataclass_object(Verdict, {
        "correct": boolean, "score": number, "answer": nullable(text), "reference": text,
        "steps": array(step_check, 1000), "form_error": nullable(text), "expected_steps": array(text, 1000),
        "solution": nullable(text), "diagnostics": array(text, 100), "unit": short,
    }, details)
    feedback = dataclass_object(Feedback, {
        "kind": string(16, choices=fbenv.KINDS), "text": text, "label": nullable(boolean),
        "step_labels": array(boolean, 1000), "score": nullable(number), "end_episode": boolean, "source": short,
    }, details, leave_out=("usage",))
    step = obj(
        {"turn": integer(1), "kind": string(8, choices=("answer", "tool", "move")), "reward": number,
         "terminated": boolean, "truncated": boolean, "repeated": boolean, "verdict": nullable(verdict),
         "feedback": nullable(feedback)},
        {"tool": details, "move": details},
    )
    message = obj({"role": string(16, choices=("user", "assistant")), "content": text,
                   "source": string(8, choices=SOURCES)})
    episode = obj({
        "key": string(300, single_line=True), "env_id": short, "condition": short, "seed": integer(0),
        "task_id": short, "messages": array(message, 2 * limits.steps + 1), "steps": array(step, limits.steps),
        "turns": integer(0), "solved": boolean, "solved_turn": nullable(integer(1)), "return": number,
    })
    estimate = obj({"value": nullable(number), "low": nullable(number), "high": nullable(number), "n": integer(0)})
    summary_row = obj({"agent": string(100, single_line=True), "env_id": short, "condition": short,
                       "episodes": integer(0)}, extra=(METRIC_NAME, estimate))
    return obj({
        "format": constant(FORMAT),
        "format_version": constant(FORMAT_VERSION),
        "fbenv_version": string(40, single_line=True),
        "suite": obj({"name": file_name, "version": integer(1), "sha256": string(71, pattern=r"sha256:[0-9a-f]{64}")}),
        "agent": obj({"name": string(100, pattern=r".*\S.*", single_line=True), "spec": string(500, single_line=True),
                      "description": string(2000)}),
        "envs": array(obj({"env_id": short, "condition": short, "spec": string(20_000),
                           "seeds": array(integer(0), limits.episodes)}), 1000),
        "episodes": array(episode, limits.episodes),
        "summary": array(summary_row, 1000),
    })


def dataclass_object(cls: type, validators: dict[str, Validator], generic: Validator,
                     leave_out: tuple[str, ...] = ()) -> Validator:
    """The validator of ``cls.to_dict()``: its fields without a default are required, the others
    optional (a bundle written before fbenv added a field lacks it; replay then expects the default);
    each is checked by ``validators[name]``, or by ``generic`` (bounded JSON) for a field added since."""
    required: dict[str, Validator] = {}
    optional: dict[str, Validator] = {}
    for item in dataclasses.fields(cls):
        if item.name in leave_out:
            continue
        has_default = item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING
        (optional if has_default else required)[item.name] = validators.get(item.name, generic)
    return obj(required, optional)


def parse_bundle(data: bytes, limits: Limits = DEFAULT_LIMITS, source: str = "bundle") -> dict[str, Any]:
    """Decode and validate bundle bytes (gzip or plain JSON); raise :class:`BundleError` naming the field."""
    if len(data) > limits.file_bytes:
        raise BundleError(f"{source}: {len(data)} bytes, more than the limit of {limits.file_bytes}")
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data, limits.json_bytes, source)
    elif len(data) > limits.json_bytes:
        raise BundleError(f"{source}: more than {limits.json_bytes} bytes of JSON")
    if data[:1] == b"\x80":
        raise BundleError(f"{source}: looks like a Python pickle; bundles are JSON only (pickles are never loaded)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BundleError(f"{source}: not UTF-8 text ({error.reason} at byte {error.start}); "
                          "bundles are JSON") from None
    try:
        bundle = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise BundleError(f"{source}: JSON nested too deeply to parse; a bundle is a few levels deep") from None
    except ValueError as error:
        raise BundleError(f"{source}: not valid JSON ({error})") from None
    try:
        bundle_schema(limits)(bundle, "")
    except SchemaError as error:
        raise BundleError(f"{source}: {error}") from None
    except RecursionError:
        raise BundleError(f"{source}: nested too deeply") from None
    return bundle


def read_bundle(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Read and validate a bundle file; its size is checked before it is read."""
    return parse_bundle(read_bytes(path, limits), limits, str(path))


def read_bytes(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A bundle file's bytes, refusing anything but a regular file within ``limits.file_bytes``."""
    path = Path(path)
    try:
        if not path.is_file():
            raise BundleError(f"{path}: no such bundle file (or not a regular file)")
        size = path.stat().st_size
        if size > limits.file_bytes:
            raise BundleError(f"{path}: {size} bytes, more than the limit of {limits.file_bytes}")
        with open(path, "rb") as handle:
            return handle.read(limits.file_bytes + 1)
    except OSError as error:
        raise BundleError(f"cannot read bundle {path}: {error.strerror or error}") from None


def _gunzip(data: bytes, limit: int, source: str) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise BundleError(f"{source}: damaged gzip data ({error})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BundleError(f"{source}: decompresses to more than {limit} bytes of JSON")
    return out


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate field {key[:60]!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def encode_bundle(bundle: dict[str, Any]) -> bytes:
    """The bundle as gzipped JSON, byte-for-byte reproducible (no file name or time in the header)."""
    text = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as handle:
        handle.write(text)
    return buffer.getvalue()


def write_bundle(bundle: dict[str, Any], path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Path:
    """Validate ``bundle`` and write it gzipped to ``path`` (atomically); return the path."""
    try:
        bundle_schema(limits)(bundle, "")
    except SchemaError as error:
        raise BundleError(f"the bundle would be invalid: {error}") from None
    path = Path(path)
    data = encode_bundle(bundle)
    if len(data) > limits.file_bytes:
        raise BundleError(f"the bundle is {len(data)} bytes, more than the limit of {limits.file_bytes}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


# --- from a results directory ------------------------------------------------------------------
#: The fields of a result record that a bundle keeps for each episode (timings and per-episode copies
#: of what the bundle states once, such as the env spec, are left out).
EPISODE_FIELDS = ("key", "env_id", "condition", "seed", "task_id", "messages", "steps", "turns", "solved",
                  "solved_turn", "return")


def make_bundle(directory: str | Path, board: str | Path | None = None, *, name: str | None = None,
                description: str = "") -> dict[str, Any]:
    """The bundle of a finished ``fbenv eval --suite NAME --out DIR`` run.

    Args:
        directory: the results directory.
        board: the leaderboards directory holding the suite (default: :func:`~fbenv.leaderboard.suites.default_board`).
        name: the agent's name on the board (default: the name in the results).
        description: a few words about the agent (model, size, prompting), shown on the board.

    Raises:
        BundleError: the directory is not a suite run, the suite changed since, or episodes are missing.
    """
    directory = Path(directory)
    try:
        run = json.loads((directory / RUN).read_text())
    except (OSError, ValueError) as error:
        raise BundleError(f"cannot read {directory / RUN} ({error}); bundle a directory written by "
                          "`fbenv eval --suite NAME --out DIR`") from None
    ref = run.get("suite")
    if not isinstance(ref, dict):
        raise BundleError(f"{directory} was not run with --suite; run `fbenv eval --suite NAME --agent SPEC "
                          "--out DIR` to make a leaderboard run")
    suite = load_suite(ref["name"], board)
    if suite.ref() != ref:
        raise BundleError(f"{directory} ran suite {ref['name']} v{ref['version']} ({ref['sha256'][:19]}...), but the "
                          f"suite is now v{suite.version} ({suite.sha256[:19]}...); run it again into a new --out")
    records = {record["key"]: record for record in read_records(directory)}
    planned = suite.plan()
    missing = [spec.key for spec in planned if spec.key not in records]
    if missing:
        raise BundleError(f"{directory} misses {len(missing)} of {len(planned)} episodes (e.g. {missing[0]}); "
                          f"rerun the same `fbenv eval --suite {suite.name} ... --out {directory}` to finish it")
    ordered = [records[spec.key] for spec in planned]
    agents = sorted({record["agent"] for record in ordered})
    if len(agents) != 1:
        raise BundleError(f"{directory} holds episodes of several agents ({', '.join(agents)})")
    agent = name if name is not None else agents[0]
    envs = []
    for env_id, condition in suite.runs():
        first = records[f"{env_id}|{condition}|{suite.seeds(env_id)[0]}"]
        envs.append({"env_id": env_id, "condition": condition, "spec": first["env_spec"],
                     "seeds": suite.seeds(env_id)})
    episodes = [{field: record[field] for field in EPISODE_FIELDS} for record in ordered]
    bundle = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fbenv_version": fbenv.__version__,
        "suite": suite.ref(),
        "agent": {"name": agent, "spec": str(run.get("agent", "")), "description": description},
        "envs": envs,
        "episodes": episodes,
        "summary": [],
    }
    bundle["summary"] = claimed_summary(bundle, suite)
    return bundle


def episode_records(bundle: dict[str, Any], max_turns: Mapping[str, int]) -> list[dict[str, Any]]:
    """The bundle's episodes as result records, for :mod:`fbenv.eval.metrics`: the agent's name and
    each env's turn budget (``max_turns[env_id]``) added."""
    agent = bundle["agent"]["name"]
    return [{**episode, "agent": agent, "max_turns": max_turns[episode["env_id"]]} for episode in bundle["episodes"]]


def claimed_summary(bundle: dict[str, Any], suite: Suite) -> list[dict[str, Any]]:
    """The metrics of the bundle's episodes, in the bundle's episode order (the one verification uses)."""
    return summarize(episode_records(bundle, suite.turn_budgets()))
