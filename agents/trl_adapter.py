"""fbenv envs inside TRL's ``GRPOTrainer``: a prompt dataset, a reward function, an ``environment_factory``.

Two ways to train an fbenv task with TRL (written against trl 1.16):

* **single-turn**, any model: ``train_dataset=make_dataset(env_id, n)`` (one row per reset seed:
  the env's prompt and its ``seed``) and ``reward_funcs=FeedbackReward(env_id)``, which resets an
  env with the row's seed and judges the completion as the first answer; the reward is the env's own
  (``reward_from``, ``turn_discount`` and ``repeat_penalty`` apply as in any fbenv episode).
* **multi-turn**, for models whose chat template can call tools (Qwen, Llama 3.1, ...):
  ``environment_factory=environment_factory(env_id, ...)``. TRL calls ``reset(**row)`` before each
  rollout and exposes the env's public methods as tools: the model submits an attempt with the
  ``answer`` tool and gets the feedback back as the tool's result, until it is right or the turns run
  out; ``FeedbackReward`` then returns the episode's return. A rollout in which the model never
  called the tool is judged like the single-turn case (its final text is the answer), so a model
  that does not (yet) call tools still gets a learning signal.

TRL masks tool results out of the loss itself, as :mod:`fbenv.agents.grpo` masks feedback. trl and
datasets are imported here only (extra ``train``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym

import fbenv  # noqa: F401  (registers the ids)


class FeedbackEnvironment:
    """One fbenv episode as a TRL environment: ``reset`` per rollout, the ``answer`` tool per attempt.

    Args:
        env_id: a registered id, e.g. ``"fbenv/Math-v0"``.
        **env_kwargs: ``gym.make`` kwargs (``feedback``, ``max_turns``, ``turn_discount``...).
    """

    def __init__(self, env_id: str = "fbenv/Math-v0", **env_kwargs: Any) -> None:
        self.env = gym.make(env_id, **env_kwargs)
        self.episode_return = 0.0
        self.attempts = 0
        self.done = False

    def reset(self, seed: int | None = None, **row: Any) -> None:
        """Start the episode of the dataset row (its ``seed``); the row's prompt already holds the problem."""
        self.env.reset(seed=None if seed is None else int(seed))
        self.episode_return = 0.0
        self.attempts = 0
        self.done = False

    def answer(self, answer: str) -> str:
        """Submit an answer to the problem and get feedback on it.

        Args:
            answer: your full reply: the working and the final answer line.

        Returns:
            The feedback on the answer; after a wrong answer you may call this tool again.
        """
        if self.done:
            return "The episode is over; no more answers are judged."
        observation, reward, terminated, truncated, _ = self.env.step(str(answer))
        self.attempts += 1
        self.episode_return += float(reward)
        self.done = bool(terminated or truncated)
        if terminated:
            return f"{observation}\nThe episode is over: your answer was accepted.".strip()
        return observation if not truncated else f"{observation}\nThe episode is over: no turns are left.".strip()

    def _judge_final_text(self, text: str) -> float:
        """For a rollout that never called ``answer``: its final text is the one attempt."""
        self.answer(text)
        return self.episode_return


def environment_factory(env_id: str = "fbenv/Math-v0", **env_kwargs: Any) -> Callable[[], FeedbackEnvironment]:
    """A zero-argument factory for ``GRPOTrainer(environment_factory=...)``."""
    return functools.partial(FeedbackEnvironment, env_id, **env_kwargs)


class FeedbackReward:
    """A TRL reward function: the fbenv return of each completion (or of each environment's episode).

    Args:
        env_id: the env whose reward is used (the one the dataset was made from).
        **env_kwargs: ``gym.make`` kwargs; they must match the dataset's so a seed names the same problem.
    """

    def __init__(self, env_id: str = "fbenv/Math-v0", **env_kwargs: Any) -> None:
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.__name__ = f"fbenv:{env_id.removeprefix('fbenv/')}"  # TRL logs rewards under the function's name
        self._env: FeedbackEnvironment | None = None

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], seed: Sequence[int] | None = None,
                 environments: Sequence[FeedbackEnvironment] | None = None, **kwargs: Any) -> list[float]:
        """One reward per completion, in order."""
        rewards = []
        for index, completion in enumerate(completions):
            environment = environments[index] if environments else None
            if environment is not None and environment.attempts:
                rewards.append(environment.episode_return)
                continue
            if environment is None:
                if seed is None:
                    raise ValueError("the dataset has no 'seed' column; build it with fbenv.agents.trl_adapter."
                                     "make_dataset so each row names its problem")
                environment = self._single_env()
                environment.reset(seed=seed[index])
            rewards.append(environment._judge_final_text(_final_text(completion)))
        return rewards

    def _single_env(self) -> FeedbackEnvironment:
        if self._env is None:
            self._env = FeedbackEnvironment(self.env_id, **self.env_kwargs)
        return self._env


def _final_text(completion: Any) -> str:
    """The text of a completion: a string, or the content of its last assistant message (conversational)."""
    if isinstance(completion, str):
        return completion
    for message in reversed(list(completion)):
        if message.get("role") == "assistant" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


def make_dataset(env_id: str = "fbenv/Math-v0", size: int = 256, *, seed: int = 0, **env_kwargs: Any) -> Any:
    """A ``datasets.Dataset`` of ``size`` problems: a conversational ``prompt`` and the reset ``seed`` of each.

    The env's kwargs must be those the reward function (or environment) gets, so that a seed names
    the same problem for both.
    """
    import datasets

    env = gym.make(env_id, **env_kwargs)
    rows: dict[str, list[Any]] = {"prompt": [], "seed": []}
    for row_seed in range(seed, seed + size):
        prompt, _ = env.reset(seed=row_seed)
        rows["prompt"].append([{"role": "user", "content": prompt}])
        rows["seed"].append(row_seed)
    env.close()
    return datasets.Dataset.from_dict(rows)
