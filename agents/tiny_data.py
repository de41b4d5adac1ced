"""Demonstrations for the tiny math model, made by the real ``fbenv/Math-v0`` env.

A demonstration is a chat whose last assistant turn is the training target (the turns before it are
context, never learnt). :func:`demonstrations` makes them from the env alone: most are one turn (the
env's prompt, then ``instance.oracle_action``); the rest are retries, so that feedback can matter: one or
two wrong attempts with a plausible slip (one step's result off by a little, the later steps computed
consistently from the slipped value, or a miscopied final answer), each followed by the feedback the
real env gives for it under ``text`` (at a seeded hint level), ``binary`` or ``unary`` feedback, then the
correct solution. :func:`own_retries` makes retries from a model's own wrong answers instead, with the
env's feedback on them, ``none`` included.

Training problems come from the task seed ``TRAIN_TASK_SEED + seed`` (never 0, the problem set of a
plain ``gym.make("fbenv/Math-v0")``), and the caller can exclude given prompts: the tiny-model recipe
excludes those of ``reset(seed=s)`` for ``s < HELD_OUT_EPISODES`` on the default problem set
(:func:`held_out_prompts`). Difficulty 1 has only a few thousand distinct problems, so without that
exclusion a fair share of any evaluation would have been seen in training.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

import fbenv  # noqa: F401  (registers the env ids)
from fbenv.tasks.answers import apply_op, parse_step
from fbenv.tasks.base import Instance

ENV_ID = "fbenv/Math-v0"
#: The first task seed training problems come from (0 is the problem set evaluation uses).
TRAIN_TASK_SEED = 1_000
#: Episodes ``reset(seed=s)`` with ``s`` below this, on the default problem set, are never trained on.
HELD_OUT_EPISODES = 1_000
#: Feedback kinds shown after a wrong attempt in retry demonstrations, with their weights.
RETRY_KINDS = {"text": 0.5, "binary": 0.25, "unary": 0.25}
#: Feedback kinds of the retries after the model's own mistakes. ``none`` is here, and only here: the
#: model answers silence by restating its answer, so the gain under any other kind is what that
#: feedback said, not the bare fact that the episode went on (which already tells that it was wrong).
OWN_KINDS = {"text": 0.4, "binary": 0.2, "unary": 0.2, "none": 0.2}
#: Text-feedback hint levels of retry demonstrations, with their weights (2 is the env's default).
HINT_WEIGHTS = {0: 1, 1: 1, 2: 4, 3: 2, 4: 1}

Message = dict[str, str]
Step = tuple[int, str, int, int]


@dataclass(frozen=True)
class Demo:
    """One demonstration: chat messages ending with the assistant's correct reply (the only target).

    Attributes:
        messages: the conversation as the env recorded it, plus the final assistant reply.
        difficulty: the Math-v0 difficulty of the problem.
        index: the problem's ``task_index`` in the training problem set of this difficulty.
        feedback: the feedback kind after the wrong attempts, or None for a first-try demonstration.
        hint_level: the text critic's hint level, for ``text`` feedback.
    """

    messages: tuple[Message, ...]
    difficulty: int
    index: int
    feedback: str | None = None
    hint_level: int | None = None

    @property
    def prompt(self) -> str:
        """The problem as the env stated it."""
        return self.messages[0]["content"]


def demonstrations(
    count: int,
    *,
    seed: int = 0,
    difficulties: dict[int, float] | None = None,
    retry_fraction: float = 0.5,
    second_retry_fraction: float = 0.25,
    exclude: frozenset[str] | set[str] = frozenset(),
    start: int = 0,
) -> list[Demo]:
    """``count`` demonstrations drawn from the real env, the same for the same arguments.

    Args:
        count: how many demonstrations.
        seed: picks the problems (task seed ``TRAIN_TASK_SEED + seed``) and every choice made here.
        difficulties: Math-v0 difficulty → weight; ``{1: 1.0}`` by default.
        retry_fraction: the share of demonstrations that start with a wrong attempt and its feedback.
        second_retry_fraction: the share of retry demonstrations with two wrong attempts.
        exclude: prompts never to use (e.g. :func:`held_out_prompts`); their instances are skipped.
        start: the first ``task_index`` to use (problems are taken in index order).
    """
    weights = difficulties or {1: 1.0}
    rng = random.Random(f"fbenv-tiny-demos/{seed}/{start}")
    envs = _Envs(seed)
    demos: list[Demo] = []
    index = start - 1
    while len(demos) < count:
        index += 1
        difficulty = rng.choices(list(weights), list(weights.values()))[0]
        kind, hint = _pick_feedback(rng, RETRY_KINDS) if rng.random() < retry_fraction else (None, None)
        env = envs.get(difficulty, kind, hint)
        env.reset(options={"task_index": index})
        instance: Instance = env.unwrapped.instance  # type: ignore[attr-defined]
        if instance.prompt in exclude:
            continue
        attempts = 0 if kind is None else 2 if rng.random() < second_retry_fraction else 1
        messages: list[Message] = [{"role": "user", "content": instance.prompt}]
        seen = {instance.oracle_action}
        for _ in range(attempts):
            wrong = wrong_attempt(instance, rng, avoid=seen)
            seen.add(wrong)
            *_, info = env.step(wrong)
            if info["verdict"].correct:  # the slip cancelled out; never show a right answer as wrong
                break
            messages = info["messages"]
        messages.append({"role": "assistant", "content": instance.oracle_action})
        retried = len(messages) > 2
        demos.append(Demo(tuple(messages), difficulty, index, kind if retried else None, hint if retried else None))
    envs.close()
    return demos


def own_retries(problems: Sequence[Demo], respond: Callable[[list[list[Message]]], list[str]], *,
                seed: int = 0) -> list[Demo]:
    """Retry demonstrations built on a model's own wrong answers, with the real env's feedback on them.

    ``problems`` are first-try demonstrations from :func:`demonstrations` with the same ``seed``;
    ``respond`` is the model: a batch of chats in, one reply each out. Each problem gets a seeded
    feedback kind from ``OWN_KINDS``. The model answers all problems; each wrong answer is stepped
    through the env and the model answers the feedback; if that is wrong too, it is stepped as well. The
    demo is the exchange (one or two wrong answers with their feedback) and then the correct solution.
    Training on these teaches the model to act on feedback about the mistakes it really makes, including
    not repeating a wrong answer, which made-up slips cannot: it solves those problems anyway.

    Under ``none`` the env's reply is empty, and the demo restates the model's own answer (after one or
    two silences): silence says nothing about the answer, so the model keeps it (see ``OWN_KINDS``).
    """
    rng = random.Random(f"fbenv-tiny-retries/{seed}/{problems[0].index if problems else 0}")
    feedback = [_pick_feedback(rng, OWN_KINDS) for _ in problems]
    restates = [1 + (rng.random() < 0.5) for _ in problems]  # silence once or twice before the restated answer
    envs = _Envs(seed)

    def replay(i: int, replies: Sequence[str]) -> tuple[list[Message], bool]:
        env = envs.get(problems[i].difficulty, *feedback[i])
        env.reset(options={"task_index": problems[i].index})
        info: dict[str, Any] = {}
        for reply in replies:
            *_, info = env.step(reply)
        return info["messages"], info["verdict"].correct

    first = respond([[{"role": "user", "content": p.prompt}] for p in problems])
    after_first = {i: replay(i, [reply]) for i, reply in enumerate(first)}
    wrong = [i for i, (_, correct) in after_first.items() if not correct]
    retry = [i for i in wrong if feedback[i][0] != "none"]
    second = dict(zip(retry, respond([after_first[i][0] for i in retry]), strict=True))
    demos = []
    for i in wrong:
        solution = problems[i].messages[-1]["content"]
        if i not in second:  # silence: restate
            messages, solution = replay(i, [first[i]] * restates[i])[0], first[i]
        else:
            messages, correct = replay(i, [first[i], second[i]])
            if correct:  # the model fixed it itself: the demo is its first exchange and the solution
                messages = after_first[i][0]
        demos.append(Demo((*messages, {"role": "assistant", "content": solution}), problems[i].difficulty,
                          problems[i].index, *feedback[i]))
    envs.close()
    return demos


def _pick_feedback(rng: random.Random, kinds: dict[str, float]) -> tuple[str, int | None]:
    kind = rng.choices(list(kinds), list(kinds.values()))[0]
    return kind, rng.choices(list(HINT_WEIGHTS), list(HINT_WEIGHTS.values()))[0] if kind == "text" else None


class _Envs:
    """Math-v0 envs over the training problem set of ``seed``, one per (difficulty, feedback, hint level)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.envs: dict[tuple[int, str | None, int | None], gym.Env] = {}

    def get(self, difficulty: int, kind: str | None, hint: int | None) -> gym.Env:
        key = (difficulty, kind, hint)
        if key not in self.envs:
            self.envs[key] = gym.make(ENV_ID, difficulty=difficulty, feedback=kind or "none", hint_level=hint,
                                      seed=TRAIN_TASK_SEED + self.seed, max_turns=3)
        return self.envs[key]

    def close(self) -> None:
        for env in self.envs.values():
            env.close()


def held_out_prompts(difficulties: Sequence[int], episodes: int = HELD_OUT_EPISODES) -> frozenset[str]:
    """The prompts of ``gym.make(ENV_ID, difficulty=d).reset(seed=s)`` for ``s < episodes``: kept out of training."""
    prompts = set()
    for difficulty in difficulties:
        env = gym.make(ENV_ID, difficulty=difficulty)
        prompts.update(env.reset(seed=s)[0] for s in range(episodes))
        env.close()
    return frozenset(prompts)


def wrong_attempt(instance: Instance, rng: random.Random, avoid: Sequence[str] | set[str] = ()) -> str:
    """A plausible wrong solution of a Math-v0 instance, in the env's answer format.

    Usually one step's result is off by a small amount (±1, ±2, ±10, or by one operand for a product,
    or by a later divisor so that division stays exact) and every later step is computed correctly from
    the slipped value; otherwise the steps are right and the final answer is miscopied. Never returns
    a reply in ``avoid`` (e.g. the correct one or an earlier wrong attempt) when it can help it.
    """
    steps = [_step(line) for line in instance.data["lines"]]
    reference = instance.data["answer"]
    for _ in range(20):
        if rng.random() < 0.85:
            slipped = _slip(steps, rng)
            if slipped is None:
                continue
            reply = _reply(slipped, slipped[-1][3])
        else:
            reply = _reply(steps, reference + rng.choice((1, -1, 2, -2, 10, -10)))
        if reply not in avoid:
            return reply
    return _reply(steps, reference + 1 + len(avoid))


def _step(line: str) -> Step:
    parsed = parse_step(line)
    if parsed is None:
        raise ValueError(f"not a Math-v0 step: {line!r}")
    a, op, b, c = parsed
    return int(a), op, int(b), int(c)


def _slip(steps: list[Step], rng: random.Random) -> list[Step] | None:
    """The steps with one result changed and the change carried through; None if it breaks a division."""
    k = rng.randrange(len(steps))
    a, op, b, c = steps[k]
    deltas = [1, -1, 2, -2, 10, -10]
    if op == "*":
        deltas += [a, -a, b, -b]
    deltas += [s[2] * sign for s in steps[k + 1:] if s[1] == "/" for sign in (1, -1)]
    delta = rng.choice([d for d in deltas if d])
    slipped = list(steps)
    slipped[k] = (a, op, b, c + delta)
    return _carry(slipped, k, c)


def _carry(steps: list[Step], changed: int, old: int) -> list[Step] | None:
    """Recompute the step that uses step ``changed``'s result (the first later operand equal to ``old``)."""
    new = steps[changed][3]
    for j in range(changed + 1, len(steps)):
        a, op, b, c = steps[j]
        if old not in (a, b):
            continue
        a, b = (new, b) if a == old else (a, new)
        value = apply_op(a, op, b)
        if value is None or value != int(value):
            return None
        steps[j] = (a, op, b, int(value))
        return _carry(steps, j, c)
    return steps


def _reply(steps: Sequence[Step], answer: Any) -> str:
    lines = [f"{a} {op} {b} = {c}" for a, op, b, c in steps]
    return "\n".join([*lines, f"Answer: {answer}"])
