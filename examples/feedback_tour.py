"""A tour of the feedback kinds: the same Math-v0 problem, the same agent, every kind of feedback.

Runs on a fresh CPU machine with no download. The scripted agent makes an arithmetic slip, then
forgets the final answer, then gives the right solution, so each turn shows what that kind of
feedback tells it. Run it with ``python examples/feedback_tour.py [--seed S] [--hint-level L]``.
"""

from __future__ import annotations

import argparse

import gymnasium as gym

import fbenv  # noqa: F401  (registers the ids)
from fbenv.tasks.answers import parse_step


def scripted_replies(oracle: str) -> list[str]:
    """A slip in the first step, then the steps without an answer, then the oracle's reply."""
    lines = oracle.splitlines()
    *_, c = parse_step(lines[0])
    slip = f"{lines[0].rsplit('=', 1)[0]}= {c + 1}"
    return ["\n".join([slip, *lines[1:-1], "Answer: 0"]), "\n".join(lines[:-1]), oracle]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hint-level", type=int, default=2)
    args = parser.parse_args()
    for kind in gym.make("fbenv/Math-v0").metadata["feedback_kinds"]:
        extra = {"hint_level": args.hint_level} if kind == "text" else {}
        env = gym.make("fbenv/Math-v0", feedback=kind, max_turns=5, **extra)
        prompt, info = env.reset(seed=args.seed)
        print(f"\n===== feedback={kind!r} ({env.unwrapped.simulator.name}) on {info['task_id']} =====")
        print(prompt.split("\n\n")[0])
        for reply in scripted_replies(env.unwrapped.instance.oracle_action):
            obs, reward, terminated, truncated, info = env.step(reply)
            print(f"\n-- turn {info['turn']}: agent --\n{reply}")
            print(f"-- feedback (reward {reward:.2f}, truly correct: {info['verdict'].correct}) --")
            print(obs if obs else "(nothing)")
            if terminated or truncated:
                break


if __name__ == "__main__":
    main()
