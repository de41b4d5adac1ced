"""Policies that act in fbenv envs (``fbenv.agents``).

Every agent answers a *batch* of episodes at once (:class:`~fbenv.agents.base.Turn` in, one reply
out each), so the rollout engine can serve many envs with one model call. Baselines need no model;
:mod:`fbenv.agents.llm` wraps any backend; :func:`make_agent` builds one from a CLI spec. Model code
(torch, transformers) is imported only when a model agent is built.
"""

from fbenv.agents.base import Agent, Turn, make_agent
from fbenv.agents.baselines import FixedAgent, OracleAgent, RandomAgent

__all__ = ["Agent", "FixedAgent", "OracleAgent", "RandomAgent", "Turn", "make_agent"]
