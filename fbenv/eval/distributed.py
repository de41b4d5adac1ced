"""``fbenv eval --ray``: the same rollouts across a Ray cluster, with the same results as a local run.

Episodes are cut into small shards and handed to a pool of Ray actors; each actor builds the agent
once from its spec (a string, so nothing unpicklable crosses the wire) and runs shards with the
ordinary rollout engine. Every episode's result depends only on its spec (its env, kwargs and
seed) and the agent, never on which worker ran it, so the records equal a local run's. Records
come back shard by shard as they finish and the driver writes them at once, so a killed run keeps
every finished shard. Ray is imported only here (extra ``ray``).

Each actor has :data:`QUEUED_SHARDS` shards submitted at a time, so it starts its next shard the
moment one ends instead of waiting for the driver to collect the results and send more. Shards are
all about the same size and their number is a multiple of the worker count (:func:`shard_sizes`), so
equal workers run out of work together. They are not shrunk as the queue drains: a batched agent
takes about as long for a shard of 2 as for one of 16 (a generation call costs nearly the same for a
batch of 1 and of 16), so small closing shards only added calls (800 episodes of the tiny model on
2 workers: 177 agent calls, against 150 with equal shards; see benchmarks/README.md).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from fbenv.eval.rollout import EpisodeSpec, RolloutStats, rollout

#: Most episodes per shard: small enough that results stream back, large enough to batch the agent.
SHARD_SIZE = 16
#: Shards submitted to each actor at once (Ray runs an actor's calls one after another).
QUEUED_SHARDS = 2


def shard_sizes(episodes: int, workers: int) -> list[int]:
    """Sizes of the shards for ``episodes`` on ``workers``: as few as allows at most :data:`SHARD_SIZE`
    each, rounded up to a multiple of ``workers``, sizes differing by at most one."""
    if episodes <= 0:
        return []
    count = -(-episodes // SHARD_SIZE)
    count = min(episodes, -(-count // workers) * workers)
    base, extra = divmod(episodes, count)
    return [base + 1] * extra + [base] * (count - extra)


def split_shards(specs: list[EpisodeSpec], workers: int) -> list[list[EpisodeSpec]]:
    """``specs`` cut, in order, into shards of the sizes :func:`shard_sizes` gives."""
    shards, start = [], 0
    for size in shard_sizes(len(specs), workers):
        shards.append(specs[start : start + size])
        start += size
    return shards


class RolloutWorker:
    """A Ray actor: one agent, many shards."""

    def __init__(self, agent_spec: str, concurrency: int) -> None:
        from fbenv.agents import make_agent

        self.agent = make_agent(agent_spec)
        self.concurrency = concurrency

    def run(self, shard: list[EpisodeSpec]) -> tuple[list[dict[str, Any]], RolloutStats]:
        """Every episode of ``shard``, as records, and where the shard's time went."""
        stats = RolloutStats()
        return list(rollout(self.agent, shard, concurrency=self.concurrency, stats=stats)), stats


def ray_rollout(agent_spec: str, specs: list[EpisodeSpec], *, workers: int = 2, concurrency: int = 32,
                stats: RolloutStats | None = None) -> Iterator[dict[str, Any]]:
    """Run ``specs`` on ``workers`` Ray actors; yield records shard by shard as shards finish.

    ``stats`` gets the time until every actor had built its agent (``startup_s``) and the actors'
    summed env and agent times.
    """
    try:
        import ray
    except ImportError as error:
        raise ImportError("--ray needs Ray: pip install 'fbenv[ray]'") from error
    if workers < 1:
        raise ValueError(f"--ray-workers must be >= 1, got {workers}")
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    shards = deque(split_shards(specs, workers))
    start = time.perf_counter()
    remote_worker = ray.remote(num_cpus=1)(RolloutWorker)
    actors = [remote_worker.remote(agent_spec, concurrency) for _ in range(workers)]
    running: dict[Any, Any] = {}  # a shard's result ref -> the actor running it

    def submit(actor: Any) -> None:
        if shards:
            running[actor.run.remote(shards.popleft())] = actor

    try:
        ray.get([actor.__ray_ready__.remote() for actor in actors])  # an agent that fails to build fails here
        if stats is not None:
            stats.startup_s += time.perf_counter() - start
        for actor in actors:
            for _ in range(QUEUED_SHARDS):
                submit(actor)
        while running:
            (ready,), _ = ray.wait(list(running), num_returns=1)
            actor = running.pop(ready)
            records, shard_stats = ray.get(ready)
            submit(actor)  # before handing records on, so the actor's queue never runs dry
            if stats is not None:
                stats.add(shard_stats)
            yield from records
    finally:
        for actor in actors:
            ray.kill(actor)
