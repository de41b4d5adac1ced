"""How often a model solves held-out Math-v0 episodes, first try and within a few turns, per feedback kind.

Episodes are the ones a user gets from ``gym.make("fbenv/Math-v0", difficulty=d)`` and
``reset(seed=seed + i)``: the default problem set (task seed 0), which the tiny model's demonstrations
never draw from. The model acts greedily; every turn of every live episode under every kind goes to the
backend as one batch, and identical requests (the first turn is the same under every kind) are generated
once. Success is the env's ground-truth verdict, whatever the feedback said.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

import fbenv  # noqa: F401  (registers the env ids)
from fbenv.backends import Backend, CachedBackend, GenerationRequest

#: The feedback kinds compared by default (``process`` is left to the caller).
KINDS = ("none", "unary", "binary", "text")


def measure(
    backend: Backend,
    *,
    episodes: int = 100,
    difficulty: int = 1,
    kinds: Sequence[str] = KINDS,
    max_turns: int = 3,
    seed: int = 0,
    max_tokens: int = 96,
    temperature: float = 0.0,
    hint_level: int | None = None,
) -> dict[str, Any]:
    """Rollouts of ``backend`` on ``episodes`` Math-v0 episodes under each feedback kind.

    Episode ``i`` is ``reset(seed=seed + i)``. Greedy by default; with ``temperature > 0`` every
    request is sampled with the sampling seed ``seed`` (the same first reply under every kind, so the
    kinds are compared on the same first attempts). ``hint_level`` sets the text critic's level (the
    env's default, 2, when None).

    Returns a dict with ``first_try`` (share solved by the first reply), ``within`` (kind → share
    solved within 1, 2, ..., ``max_turns`` replies), the settings, and ``prompts`` (the problems, so a
    caller can check them against its training data).
    """
    cached = CachedBackend(backend)
    runs = [(kind, i) for kind in kinds for i in range(episodes)]
    envs = {run: gym.make("fbenv/Math-v0", feedback=run[0], difficulty=difficulty, max_turns=max_turns,
                          hint_level=hint_level if run[0] == "text" else None)
            for run in runs}
    messages: dict[tuple[str, int], list[dict[str, str]]] = {}
    for run, env in envs.items():
        _, info = env.reset(seed=seed + run[1])
        messages[run] = info["messages"]
    solved_at: dict[tuple[str, int], int] = {}
    live = list(runs)
    for turn in range(1, max_turns + 1):
        requests = [GenerationRequest(tuple(messages[run]), max_tokens=max_tokens, temperature=temperature, seed=seed)
                    for run in live]
        replies = cached.generate(requests)
        still = []
        for run, reply in zip(live, replies, strict=True):
            _, _, terminated, truncated, info = envs[run].step(reply.text)
            messages[run] = info["messages"]
            if info["verdict"].correct:
                solved_at[run] = turn
            elif not (terminated or truncated):
                still.append(run)
        live = still
    for env in envs.values():
        env.close()
    within = {kind: [round(sum(solved_at.get((kind, i), max_turns + 1) <= t for i in range(episodes)) / episodes, 3)
                     for t in range(1, max_turns + 1)] for kind in kinds}
    return {
        "episodes": episodes,
        "difficulty": difficulty,
        "max_turns": max_turns,
        "seed": seed,
        "temperature": temperature,
        "hint_level": 2 if hint_level is None else hint_level,
        "first_try": within[kinds[0]][0],
        "within": within,
        "prompts": [messages[(kinds[0], i)][0]["content"] for i in range(episodes)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fbenv.agents.tiny_eval PATH [options]``: measure a model directory, print JSON."""
    import argparse
    import json

    from fbenv.backends import make_backend

    parser = argparse.ArgumentParser(prog="python -m fbenv.agents.tiny_eval", description=main.__doc__)
    parser.add_argument("path", help="a model directory (loaded as hf:PATH)")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="episode i is reset(seed=seed + i)")
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--max-turns", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated feedback kinds")
    parser.add_argument("--hint-level", type=int, default=None, help="text critic's level (the env's default: 2)")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    result = measure(make_backend(f"hf:{args.path}"), episodes=args.episodes, difficulty=args.difficulty,
                     kinds=args.kinds.split(","), max_turns=args.max_turns, seed=args.seed,
                     temperature=args.temperature, hint_level=args.hint_level)
    result.pop("prompts")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
