"""Evaluation: batched multi-turn rollouts, append-only result files, feedback-aware metrics.

``fbenv eval`` (:mod:`fbenv.eval.runner`) ties them together; each piece is usable on its own:
:func:`~fbenv.eval.rollout.rollout` runs episodes for any agent, :mod:`fbenv.eval.results` writes and
resumes result files, :mod:`fbenv.eval.metrics` recomputes every metric from those files.
Nothing here imports torch, transformers or Ray until an agent or ``--ray`` asks for it.
"""

from fbenv.eval.rollout import EpisodeSpec, RolloutStats, rollout

__all__ = ["EpisodeSpec", "RolloutStats", "rollout"]
