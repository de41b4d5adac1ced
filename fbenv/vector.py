"""A vector env whose sub-envs judge their replies concurrently: code checks run in parallel.

``gym.make_vec("fbenv/HumanEval-v0", num_envs=8)`` builds this (every fbenv id registers it as its
``vector_entry_point``; ``vectorization_mode="sync"`` or ``"async"`` still give Gymnasium's own).
For code tasks, each step first judges every sub-env's reply on a thread pool (a sandboxed check
spends its time waiting on a worker process, so threads overlap them on the shared sandbox pool);
with a batching simulator (LLM-backed) it also gets every sub-env's feedback concurrently, so the
backend serves all their prompts in one call. Then it runs Gymnasium's ordinary
``SyncVectorEnv.step``, which finds the verdicts (and feedback) ready. For other envs it is plain
``SyncVectorEnv``. Autoreset, batching and
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
        first = self.envs[0].unwrapped
        # Batching simulators (LLM-backed) answer all envs in one backend call when asked together;
        # otherwise only the checks run ahead, and only where they wait on other processes (code).
        self._respond_ahead = bool(getattr(first.simulator, "batched", False))
        self._judge_ahead = self._respond_ahead or first.task.family == "code"
        default = num_envs if self._respond_ahead else min(num_envs, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max_workers=workers or default)

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Judge (and, for batching simulators, answer) all replies concurrently, then step."""
        actions = tuple(iterate(self.action_space, actions))
        if self._judge_ahead:
            pending = [(env.unwrapped, action)
                       for env, action, resets in zip(self.envs, actions, self._autoreset_envs, strict=True)
                       if not resets and isinstance(action, str)]
            ahead = "prerespond" if self._respond_ahead else "prejudge"
            list(self._pool.map(lambda pair: getattr(pair[0], ahead)(pair[1]), pending))
        return super().step(actions)

    def close_extras(self, **kwargs: Any) -> None:
        """Stop the judging threads, then close the sub-envs."""
        self._pool.shutdown(wait=True)
        super().close_extras(**kwargs)
