"""Test doubles for the leaderboard tests: an agent that uses the Python tool, a critic whose text
cannot be regenerated, and helpers to build boards and to tamper with bundles."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fbenv.agents import OracleAgent, Turn
from fbenv.feedback import Feedback, Verdict
from fbenv.leaderboard.bundle import write_bundle
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance

#: A suite small enough for every test: two envs, three conditions, two turns.
TINY_SUITE = {
    "name": "tiny",
    "version": 1,
    "description": "the leaderboard tests' suite",
    "max_turns": 2,
    "seed": 0,
    "conditions": ["none", "binary", "text"],
    "envs": [{"id": "fbenv/Math-v0", "kwargs": {"difficulty": 1}, "episodes": 4},
             {"id": "fbenv/HumanEval-v0", "episodes": 2}],
}

#: A suite whose conversation env has its own turn budget and conditions (implicit exists only there).
FAMILIES = {**TINY_SUITE, "name": "families", "conditions": ["none", "binary", "implicit"],
            "envs": [{"id": "fbenv/Math-v0", "kwargs": {"difficulty": 1}, "episodes": 2},
                     {"id": "fbenv/Clarify-v0", "episodes": 2, "max_turns": 4, "conditions": ["binary", "implicit"]}]}


class FirstThenOracle:
    """Replies ``first`` on the first turn of every episode, then gives the oracle's reply."""

    name = "first-then-oracle"
    first = ""

    def act(self, turns: Sequence[Turn]) -> list[str]:
        oracle = OracleAgent().act(turns)
        return [self.first if len(turn.messages) == 1 else reply for turn, reply in zip(turns, oracle, strict=True)]


class ToolThenOracle(FirstThenOracle):
    """Runs code with ``<execute>`` first (a tool step in code envs, a wrong answer in math)."""

    name = "tool-then-oracle"
    first = "<execute>print(6 * 7)</execute>"


class WrongThenOracle(FirstThenOracle):
    """A wrong answer first, so feedback follows."""

    name = "wrong-then-oracle"
    first = "1 + 1 = 3\nAnswer: -987654"


class CoinCritic(Simulator):
    """A critic whose words change every run (as a sampled LLM's would); its label is the truth."""

    name = "coin-critic"
    kinds = ("text",)
    nondeterministic = True

    def __init__(self, kind: str | None = None, prefix: str = "Critique") -> None:
        super().__init__(kind)
        self.prefix = prefix

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        return self.make_feedback(f"{self.prefix} {os.urandom(6).hex()}", verdict.correct)


def write_suite(board: Path, suite: dict[str, Any]) -> Path:
    """Write ``suite`` as ``board/suites/NAME.json``."""
    path = board / "suites" / f"{suite['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(suite, indent=2))
    return path


def load(path: Path) -> dict[str, Any]:
    """A bundle's JSON, read without validation (to tamper with it)."""
    return json.loads(gzip.decompress(path.read_bytes()))


def tampered(path: Path, out: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """A copy of the bundle at ``path`` with ``edit`` applied, written to ``out`` (plain JSON)."""
    bundle = load(path)
    edit(bundle)
    out.write_text(json.dumps(bundle))
    return out


#: An agent name that would run a script if a page forgot to escape it (and that Markdown would format).
SCRIPT_NAME = "<script>document.title='pwned'</script> | *bold*"


def renamed(bundles: dict[str, Path], agent: str, name: str, out: Path) -> Path:
    """The bundle of ``agent`` under another display name (its claims renamed too), written to ``out``."""
    bundle = load(bundles[agent])
    bundle["agent"]["name"] = name
    for row in bundle["summary"]:
        row["agent"] = name
    return write_bundle(bundle, out)


def episode(bundle: dict[str, Any], condition: str, env: str = "fbenv/Math-v0", steps: int = 2) -> dict[str, Any]:
    """The first episode of ``env`` under ``condition`` with at least ``steps`` steps."""
    return next(e for e in bundle["episodes"]
                if e["env_id"] == env and e["condition"] == condition and len(e["steps"]) >= steps)
