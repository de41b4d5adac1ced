"""The rollout engine: many envs, one agent call per turn for every env waiting on a reply.

Episodes are independent: each runs in its own env (made once per configuration and reused), from
its own reset seed, and ends on its own; a finished episode's slot is refilled from the queue at
once (continuous batching), so the agent always sees as full a batch as the queue allows. Each
finished episode comes back as a JSON-able record (:func:`episode_record`): every message with who
produced it (``agent``, ``env``, ``user`` or ``tool``, what trainers need to mask the loss), and every
step with its reward, ground-truth verdict and the feedback shown.

Envs whose steps wait on other processes (code checks in the sandbox) or on a batching LLM simulator
judge their replies concurrently on threads first (as :class:`fbenv.vector.ThreadedVectorEnv` does);
each env still draws only from its own generator, so results do not depend on batch composition.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

import fbenv
from fbenv.agents.base import Agent, Turn
from fbenv.eval.records import step_record

#: Who produced a message: the agent, the env's task (prompt), a simulated user or critic, a tool.
SOURCES = ("agent", "env", "user", "tool")


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to run.

    Attributes:
        env_id: a registered id, e.g. ``"fbenv/Math-v0"``.
        kwargs: JSON-able ``gym.make`` kwargs (``feedback``, ``max_turns``, task kwargs...).
        seed: the reset seed; it picks the instance and seeds every simulator draw.
        condition: a name for the feedback condition, for tables (e.g. ``"text"``).
        key: unique within a run; result files are resumed by it.
    """

    env_id: str
    kwargs: dict[str, Any]
    seed: int
    condition: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{self.env_id}|{self.condition}|{self.seed}")

    @property
    def config_key(self) -> str:
        """Episodes with equal config keys can share an env."""
        return self.env_id + json.dumps(self.kwargs, sort_keys=True)


@dataclass
class RolloutStats:
    """Where the wall time went: building the agent, env + simulator steps, agent generation."""

    startup_s: float = 0.0  # building the agent(s) before the first episode could start
    env_s: float = 0.0
    agent_s: float = 0.0
    agent_calls: int = 0
    agent_batch_sizes: list[int] = field(default_factory=list)
    episodes: int = 0
    steps: int = 0

    def add(self, other: RolloutStats) -> None:
        """Add another run's step counts and env/agent times (a Ray worker's shard) to these."""
        self.env_s += other.env_s
        self.agent_s += other.agent_s
        self.agent_calls += other.agent_calls
        self.agent_batch_sizes.extend(other.agent_batch_sizes)
        self.episodes += other.episodes
        self.steps += other.steps

    @property
    def env_share(self) -> float:
        """The share of (env + agent) time spent in envs and simulators."""
        total = self.env_s + self.agent_s
        return self.env_s / total if total else 0.0


class _Running:
    """One episode in progress: its env, spec, transcript so far and step records."""

    __slots__ = ("env", "messages", "spec", "started", "steps", "task_id")

    def __init__(self, spec: EpisodeSpec, env: gym.Env, prompt: str, task_id: str) -> None:
        self.spec, self.env, self.task_id = spec, env, task_id
        self.messages: list[dict[str, str]] = [{"role": "user", "content": prompt, "source": "env"}]
        self.steps: list[dict[str, Any]] = []
        self.started = time.perf_counter()


def rollout(
    agent: Agent,
    episodes: Iterable[EpisodeSpec],
    *,
    concurrency: int = 64,
    stats: RolloutStats | None = None,
    make_env: Callable[[EpisodeSpec], gym.Env] | None = None,
) -> Iterator[dict[str, Any]]:
    """Run ``episodes`` with ``agent``, yielding each episode's record as soon as it finishes.

    Args:
        agent: answers a batch of :class:`~fbenv.agents.base.Turn` per call.
        episodes: what to run, in order; at most ``concurrency`` run at once.
        concurrency: envs in flight (the agent's largest batch).
        stats: filled with time spent in envs vs the agent, if given.
        make_env: builds an env for a spec (default: ``gym.make(spec.env_id, **spec.kwargs)``).
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
    stats = stats if stats is not None else RolloutStats()
    make_env = make_env or (lambda spec: gym.make(spec.env_id, **spec.kwargs))
    queue = deque(episodes)
    idle: dict[str, list[gym.Env]] = {}
    running: list[_Running] = []
    pool: ThreadPoolExecutor | None = None
    try:
        while queue or running:
            while queue and len(running) < concurrency:
                spec = queue.popleft()
                envs = idle.get(spec.config_key)
                env = envs.pop() if envs else make_env(spec)
                start = time.perf_counter()
                prompt, info = env.reset(seed=spec.seed)
                stats.env_s += time.perf_counter() - start
                running.append(_Running(spec, env, prompt, info.get("task_id", "")))
            turns = [Turn(tuple({"role": m["role"], "content": m["content"]} for m in episode.messages),
                          episode=episode.spec.key, seed=episode.spec.seed, env=episode.env)
                     for episode in running]
            start = time.perf_counter()
            replies = agent.act(turns)
            stats.agent_s += time.perf_counter() - start
            stats.agent_calls += 1
            stats.agent_batch_sizes.append(len(turns))
            if len(replies) != len(turns):
                raise RuntimeError(f"agent {getattr(agent, 'name', agent)!r} gave {len(replies)} replies "
                                   f"for {len(turns)} turns; act() must return one reply per turn")
            start = time.perf_counter()
            if pool is None and len(running) > 1 and any(_judges_ahead(e.env) for e in running):
                pool = ThreadPoolExecutor(max_workers=min(concurrency, 32))
            if pool is not None:
                list(pool.map(_ahead, [(e.env, r) for e, r in zip(running, replies, strict=True)]))
            still: list[_Running] = []
            finished: list[_Running] = []
            for episode, reply in zip(running, replies, strict=True):
                if not isinstance(reply, str):
                    raise TypeError(f"agent {getattr(agent, 'name', agent)!r} replied with "
                                    f"{type(reply).__name__}; replies must be str")
                done = _step(episode, reply)
                stats.steps += 1
                (finished if done else still).append(episode)
            stats.env_s += time.perf_counter() - start
            running = still
            for episode in finished:
                idle.setdefault(episode.spec.config_key, []).append(episode.env)
                stats.episodes += 1
                yield episode_record(episode, getattr(agent, "name", type(agent).__name__))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        for envs in idle.values():
            for env in envs:
                env.close()
        for episode in running:
            episode.env.close()


def _judges_ahead(env: gym.Env) -> bool:
    inner = env.unwrapped
    return getattr(getattr(inner, "task", None), "family", "") == "code" or bool(
        getattr(getattr(inner, "simulator", None), "batched", False))


def _ahead(pair: tuple[gym.Env, str]) -> None:
    env, reply = pair
    inner = env.unwrapped
    if isinstance(reply, str):
        method = "prerespond" if getattr(getattr(inner, "simulator", None), "batched", False) else "prejudge"
        ahead = getattr(inner, method, None)
        if ahead is not None:
            ahead(reply)


def _step(episode: _Running, reply: str) -> bool:
    """Step one env with the agent's reply; record it; True when the episode ended."""
    observation, reward, terminated, truncated, info = episode.env.step(reply)
    step, source = step_record(reward, terminated, truncated, info, len(episode.steps) + 1)
    episode.messages.append({"role": "assistant", "content": reply, "source": "agent"})
    episode.messages.append({"role": "user", "content": observation, "source": source})
    episode.steps.append(step)
    return bool(terminated or truncated)


def episode_record(episode: _Running, agent_name: str) -> dict[str, Any]:
    """The JSON-able record of a finished episode (one line of a result file)."""
    answers = [step for step in episode.steps if step["kind"] == "answer"]
    solved_turn = next((step["turn"] for step in answers if step["verdict"]["correct"]), None)
    env = episode.env
    spec = env.spec
    return {
        "key": episode.spec.key,
        "env_id": episode.spec.env_id,
        "condition": episode.spec.condition,
        "feedback": getattr(env.unwrapped, "feedback_kind", episode.spec.kwargs.get("feedback")),
        "seed": episode.spec.seed,
        "kwargs": episode.spec.kwargs,
        "env_spec": spec.to_json() if spec is not None else None,
        "fbenv_version": fbenv.__version__,
        "agent": agent_name,
        "task_id": episode.task_id,
        "family": getattr(getattr(env.unwrapped, "task", None), "family", ""),
        "max_turns": getattr(env.unwrapped, "max_turns", None),
        "messages": episode.messages,
        "steps": episode.steps,
        "turns": len(episode.steps),
        # The final answer stands: under terminate_on="feedback" a right answer may be talked out of.
        "solved": bool(answers) and bool(answers[-1]["verdict"]["correct"]),
        "solved_turn": solved_turn,
        "return": sum(step["reward"] for step in episode.steps),
        "elapsed_s": round(time.perf_counter() - episode.started, 4),
    }
