"""``fbenv eval --ray``: the same rollouts across a Ray cluster, with the same results as a local run.

Episodes are cut into small shards and handed to a pool of Ray actors; each actor builds the agent
once from its spec (a string, so nothing unpicklable crosses the wire) and runs shards with the
ordinary rollout engine. Every episode's result depends only on its spec (its env, kwargs and
seed) and the agent, never on which worker ran it, so the records equal a local run's. Records
come back shard by shard as they finish and the driver writes them at once, so a killed run keeps
every finished shard. Ray is imported only here (extra ``ray``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from fbenv.eval.rollout import EpisodeSpec, rollout

#: Episodes per shard: small enough that results stream back, large enough to batch the agent.
SHARD_SIZE = 16


class RolloutWorker:
    """A Ray actor: one agent, many shards."""

    def __init__(self, agent_spec: str, concurrency: int) -> None:
        from fbenv.agents import make_agent

        self.agent = make_agent(agent_spec)
        self.concurrency = concurrency

    def run(self, shard: list[EpisodeSpec]) -> list[dict[str, Any]]:
        """Every episode of ``shard``, as records."""
        return list(rollout(self.agent, shard, concurrency=self.concurrency))


def ray_rollout(agent_spec: str, specs: list[EpisodeSpec], *, workers: int = 2, concurrency: int = 32
                ) -> Iterator[dict[str, Any]]:
    """Run ``specs`` on ``workers`` Ray actors; yield records shard by shard as shards finish."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as error:
        raise ImportError("--ray needs Ray: pip install 'fbenv[ray]'") from error
    if workers < 1:
        raise ValueError(f"--ray-workers must be >= 1, got {workers}")
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    size = max(1, min(SHARD_SIZE, -(-len(specs) // workers)))
    shards = [specs[i:i + size] for i in range(0, len(specs), size)]
    actor = ray.remote(num_cpus=1)(RolloutWorker)
    pool = ActorPool([actor.remote(agent_spec, concurrency) for _ in range(workers)])
    try:
        for records in pool.map_unordered(lambda a, shard: a.run.remote(shard), shards):
            yield from records
    finally:
        for handle in list(pool._idle_actors) + [a for a, _ in pool._future_to_actor.values()]:
            ray.kill(handle)
