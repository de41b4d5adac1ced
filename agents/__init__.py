"""Policies that act in fbenv envs (``fbenv.agents``).

The core holds only what needs no model: :class:`~fbenv.agents.baselines.OracleAgent` (replies
with the task's reference solution; an upper bound and a test double for the env contract) and
:class:`~fbenv.agents.baselines.FixedAgent`. LLM-backed agents and trainers build on the same
``act(messages)`` interface.
"""

from fbenv.agents.baselines import FixedAgent, OracleAgent

__all__ = ["FixedAgent", "OracleAgent"]
