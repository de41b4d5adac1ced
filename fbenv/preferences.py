"""Preference annotation (AlpacaFarm): pairs of agent replies judged by a simulated annotator.

``annotate_pairs(env_id, samples)`` takes several replies per prompt, judges each with the task's
own checker (the Verdict), and prefers, within each pair, the reply with the better verdict: correct
over wrong, then the higher score, then the larger share of right steps. Pairs the verdicts cannot
separate are ties and are left out. The annotator can be made imperfect in AlpacaFarm's ways, seeded:
``flip`` (swap the preference with probability p; AlpacaFarm trains with 0.25), ``annotators``
(a pool of flip probabilities, one drawn per pair), ``position`` (prefer the first reply shown with
probability p, whatever it says) and ``length`` (prefer the longer reply with probability p).
The output rows are in TRL's conversational DPO layout: ``prompt``, ``chosen``, ``rejected``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from fbenv.feedback import Verdict
from fbenv.tasks.jsonl import records

BIASES = ("flip", "annotators", "position", "length")


@dataclass(frozen=True)
class Sample:
    """Several replies to one instance of an env's task."""

    task_index: int
    replies: tuple[str, ...]


def quality(verdict: Verdict) -> tuple[float, float, float]:
    """What the rule annotator compares: correct, then score, then the share of right steps."""
    steps = sum(step.correct for step in verdict.steps) / len(verdict.steps) if verdict.steps else 0.0
    return (1.0 if verdict.correct else 0.0, verdict.score, steps)


def check_biases(biases: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate the annotator's imperfections; ValueError names a bad key or value."""
    biases = dict(biases or {})
    for key, value in biases.items():
        if key not in BIASES:
            raise ValueError(f"unknown annotator bias {key!r}; known: {', '.join(BIASES)}")
        values = value if key == "annotators" else [value]
        if key == "annotators" and (not isinstance(value, list) or not value):
            raise ValueError("annotator bias 'annotators' must be a non-empty list of flip probabilities")
        for p in values:
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise ValueError(f"annotator bias {key!r} must hold probabilities in [0, 1], got {value!r}")
    return biases


def annotate_pairs(
    env_id: str,
    samples: Iterable[Sample],
    *,
    biases: Mapping[str, Any] | None = None,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    annotator: str = "rule",
) -> Iterator[dict[str, Any]]:
    """DPO rows for every pair of distinguishable replies of every sample (see the module docstring).

    ``annotator`` is ``"rule"`` (the task's verdicts decide) or ``"llm:<backend spec>"`` (e.g.
    ``"llm:hf:/models/judge"``): a model is shown the question and both replies and asked which is
    better; its pick replaces the verdicts' (answers it gives that name neither reply are ties).
    """
    biases = check_biases(biases)
    judge = _llm_judge(annotator[len("llm:"):]) if annotator.startswith("llm:") else None
    if judge is None and annotator != "rule":
        raise ValueError(f"annotator must be 'rule' or 'llm:<backend spec>', got {annotator!r}")
    rng = np.random.default_rng(seed)
    env = gym.make(env_id, **dict(env_kwargs or {}))
    task = env.unwrapped.task  # type: ignore[attr-defined]
    try:
        for sample in samples:
            if not 0 <= sample.task_index < len(task):
                raise ValueError(f"task_index {sample.task_index} is outside {env_id}'s {len(task)} instances")
            instance = task.instance(sample.task_index)
            verdicts = [task.check(instance, reply) for reply in sample.replies]
            for (i, a), (j, b) in itertools.combinations(enumerate(sample.replies), 2):
                model_pick = judge(instance.prompt, a, b, seed) if judge is not None else None
                row = _judge_pair(instance.prompt, a, b, verdicts[i], verdicts[j], biases, rng, model_pick)
                if row is not None:
                    row["meta"].update(env=env_id, task_id=instance.task_id, pair=[i, j])
                    yield row
    finally:
        env.close()


def _judge_pair(prompt: str, a: str, b: str, va: Verdict, vb: Verdict, biases: dict[str, Any],
                rng: np.random.Generator, model_pick: str | None = None) -> dict[str, Any] | None:
    qa, qb = quality(va), quality(vb)
    if qa == qb:
        return None
    truth_prefers_a = qa > qb
    prefers_a, why = truth_prefers_a, "verdict"
    if model_pick is not None:
        if model_pick not in ("A", "B"):
            return None  # the model named neither reply: a tie
        prefers_a, why = model_pick == "A", "model"
    if "position" in biases and rng.random() < biases["position"]:
        prefers_a, why = True, "position"
    elif "length" in biases and len(a) != len(b) and rng.random() < biases["length"]:
        prefers_a, why = len(a) > len(b), "length"
    flip = biases.get("flip", 0.0)
    if "annotators" in biases:
        annotator = int(rng.integers(len(biases["annotators"])))
        flip = biases["annotators"][annotator]
    if rng.random() < flip:
        prefers_a, why = not prefers_a, why + "+flip"
    chosen, rejected = (a, b) if prefers_a else (b, a)
    return {
        "prompt": [{"role": "user", "content": prompt}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        "meta": {"agrees_with_truth": prefers_a == truth_prefers_a, "reason": why},
    }


JUDGE_PROMPT = (
    "You compare two replies to the same question. Say which reply answers it better: correct "
    "first, then clear working. Answer with the single letter A or B.\n\n"
    "Question:\n{question}\n\nReply A:\n{a}\n\nReply B:\n{b}\n\nBetter reply (A or B):"
)


def _llm_judge(spec: str) -> Callable[[str, str, str, int], str]:
    """A pairwise judge backed by a model: returns "A", "B" or "" (neither) for each pair."""
    from fbenv.backends import GenerationRequest, make_backend

    backend = make_backend(spec)

    def pick(question: str, a: str, b: str, seed: int) -> str:
        text = JUDGE_PROMPT.format(question=question, a=a[:4000], b=b[:4000])
        request = GenerationRequest(messages=({"role": "user", "content": text},), max_tokens=4, temperature=0.0,
                                    seed=seed)
        answer = backend.generate([request])[0].text.strip().upper()
        return answer[:1] if answer[:1] in ("A", "B") else ""

    return pick


def read_samples(lines: Iterable[str], label: str) -> Iterator[Sample]:
    """Samples from JSONL lines ``{"task_index": 3, "replies": ["...", "..."]}``; errors name the line."""
    for where, record in records("".join(line if line.endswith("\n") else line + "\n" for line in lines), label,
                                 "'task_index' and 'replies'"):
        index, replies = record.get("task_index"), record.get("replies")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"{where}: 'task_index' must be an integer")
        if not isinstance(replies, list) or len(replies) < 2 or not all(isinstance(r, str) for r in replies):
            raise ValueError(f"{where}: 'replies' must be a list of at least two strings")
        yield Sample(index, tuple(replies))
