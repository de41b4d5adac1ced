"""Simulated users and critics (``fbenv.simulators``), registered by name.

``gym.make(..., simulator=NAME)`` picks one; without it the env uses the rule-based default for the
chosen feedback kind (:data:`DEFAULTS`). A ``"package.module:Class"`` string loads your own.
"""

from __future__ import annotations

from fbenv.registry import Registry
from fbenv.simulators.base import Message, Simulator

SIMULATORS: Registry[type[Simulator]] = Registry("simulator")
SIMULATORS.register("silent", "fbenv.simulators.silent:Silent")
SIMULATORS.register("try-again", "fbenv.simulators.try_again:TryAgain")
SIMULATORS.register("outcome", "fbenv.simulators.outcome:Outcome")
SIMULATORS.register("critic", "fbenv.simulators.critic:Critic")
SIMULATORS.register("oracle-critic", "fbenv.simulators.critic:OracleCritic")
SIMULATORS.register("step-labels", "fbenv.simulators.step_labels:StepLabels")

#: The rule-based simulator each feedback kind uses unless ``simulator=`` names another.
DEFAULTS: dict[str, str] = {
    "none": "silent",
    "unary": "try-again",
    "binary": "outcome",
    "text": "critic",
    "process": "step-labels",
}


def get_simulator(name: str) -> type[Simulator]:
    """The simulator class for a registered name or a ``"package.module:Class"`` path."""
    return SIMULATORS.get(name)


__all__ = ["DEFAULTS", "SIMULATORS", "Message", "Simulator", "get_simulator"]
