"""A vector env whose sub-envs judge their replies concurrently: code checks run in parallel.

``gym.make_vec("fbenv/HumanEval-v0", num_envs=8)`` builds this (the code ids register it as their
``vector_entry_point``; ``vectorization_mode="sync"`` or ``"async"`` still give Gymnasium's own).
Each step first judges every sub-env's reply on a thread pool (a sandboxed check spends its time
waiting on a worker process, so threads overlap them on the shared sandbox pool), then runs
Gymnasium's ordinary ``SyncVectorEnv.step``, which finds the verdicts ready. Autoreset, batching and
the mapping of results back to envs are SyncVectorEnv's, unchanged; everything random still comes
from each sub-env's own generator, so episodes equal those of separate envs with the same seeds.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gymnasium.vector import SyncVectorEnv
from gymnasium.vector.utils import iterate

from fbenv.env import FeedbackEnv


class ThreadedVectorEnv(SyncVectorEnv):
    """SyncVectorEnv of FeedbackEnvs that pre-judge their actions on a thread pool.

    Args:
        num_envs: how many sub-envs.
        workers: threads judging at once (default: the machine's CPU count, at most ``num_envs``).
        **kwargs: FeedbackEnv kwargs, as given to ``gym.make_vec``.
    """

    def __init__(self, num_envs: int, workers: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("max_episode_steps", None)  # FeedbackEnv truncates at max_turns itself
        super().__init__([lambda: FeedbackEnv(**kwargs) for _ in range(num_envs)])
        self._pool = ThreadPoolExecutor(max_workers=workers or min(num_envs, os.cpu_count() or 1))

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Judge all replies concurrently, then step as SyncVectorEnv does."""
        actions = tuple(iterate(self.action_space, actions))
        pending = [(env, action) for env, action, resets in zip(self.envs, actions, self._autoreset_envs, strict=True)
                   if not resets and isinstance(action, str)]
        list(self._pool.map(lambda pair: pair[0].unwrapped.prejudge(pair[1]), pending))
        return super().step(actions)

    def close_extras(self, **kwargs: Any) -> None:
        """Stop the judging threads, then close the sub-envs."""
        self._pool.shutdown(wait=True)
        super().close_extras(**kwargs)
