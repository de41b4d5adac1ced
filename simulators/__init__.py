"""Simulated users and critics (``fbenv.simulators``), registered by name.

``gym.make(..., simulator=NAME)`` picks one; without it the env uses the rule-based default for the
chosen feedback kind (:data:`DEFAULTS`). A ``"package.module:Class"`` string loads your own, and a
package that declares ``[project.entry-points."fbenv.simulators"]`` adds its simulators by name
(they show in ``fbenv list``). See ``docs/simulators.md``.
"""

from __future__ import annotations

from fbenv.registry import Registry
from fbenv.simulators.base import Message, Simulator

#: Every simulator by name; installed packages add theirs through the ``fbenv.simulators`` entry points.
SIMULATORS: Registry[type[Simulator]] = Registry("simulator", entry_point_group="fbenv.simulators")
SIMULATORS.register("silent", "fbenv.simulators.silent:Silent")
SIMULATORS.register("try-again", "fbenv.simulators.try_again:TryAgain")
SIMULATORS.register("outcome", "fbenv.simulators.outcome:Outcome")
SIMULATORS.register("critic", "fbenv.simulators.critic:Critic")
SIMULATORS.register("oracle-critic", "fbenv.simulators.critic:OracleCritic")
SIMULATORS.register("step-labels", "fbenv.simulators.step_labels:StepLabels")
SIMULATORS.register("judge", "fbenv.simulators.judge:Judge")
SIMULATORS.register("misleading-critic", "fbenv.simulators.judge:MisleadingCritic")
SIMULATORS.register("malicious-critic", "fbenv.simulators.judge:MaliciousCritic")
SIMULATORS.register("llm-critic", "fbenv.simulators.llm_critic:LLMCritic")
SIMULATORS.register("llm-user", "fbenv.simulators.llm_critic:LLMUser")
SIMULATORS.register("persona-user", "fbenv.simulators.user:PersonaUser")
SIMULATORS.register("llm-persona-user", "fbenv.simulators.llm_user:LLMPersonaUser")

#: The rule-based simulator each feedback kind uses unless ``simulator=`` names another (a task's own
#: ``default_simulator`` comes first: conversation tasks use their persona user for every kind).
DEFAULTS: dict[str, str] = {
    "none": "silent",
    "unary": "try-again",
    "binary": "outcome",
    "text": "critic",
    "process": "step-labels",
    "implicit": "persona-user",
}


def get_simulator(name: str) -> type[Simulator]:
    """The simulator class for a registered name or a ``"package.module:Class"`` path."""
    return SIMULATORS.get(name)


__all__ = ["DEFAULTS", "SIMULATORS", "Message", "Simulator", "get_simulator"]
