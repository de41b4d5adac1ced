"""Baseline policies that need no model: upper bounds and test doubles for the env contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym


class OracleAgent:
    """Replies with the task's reference solution: an upper bound, and what contract tests use.

    It reads the current instance from the env it is bound to, so it is for evaluation only.
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.env = env

    def act(self, messages: Sequence[dict[str, str]]) -> str:
        """The instance's oracle action, whatever was said so far."""
        instance = self.env.unwrapped.instance  # type: ignore[attr-defined]
        if instance is None:
            raise RuntimeError("reset the env before asking the oracle to act")
        return instance.oracle_action


class FixedAgent:
    """Always gives the same reply (a floor, and a probe of how feedback treats repetition)."""

    def __init__(self, reply: str = "Answer: 0") -> None:
        self.reply = reply

    def act(self, messages: Sequence[dict[str, str]]) -> str:
        """The fixed reply."""
        return self.reply
