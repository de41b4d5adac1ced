"""``fbenv/ReasoningGym-v0``: any reasoning-gym dataset, judged by reasoning-gym's own scorer.

``gym.make("fbenv/ReasoningGym-v0", dataset="basic_arithmetic", config={"min_terms": 3})``. The
dataset's items are generated on demand (reasoning-gym derives item ``i`` from ``seed + i``), so an
index is an instance. Partial credit from the scorer is kept in ``verdict.score``; only a full
score counts as correct. Calculations the agent writes (``a op b = c``) are checked exactly for
process feedback.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from fbenv.feedback import Verdict
from fbenv.tasks.answers import check_calculations, direction_note, extract_final_answer, parse_number
from fbenv.tasks.base import Instance, Task

ANSWER_INSTRUCTIONS = "Give your final answer after `Answer:` at the end of your reply."
_PROMPT_TAIL = "\n\n" + ANSWER_INSTRUCTIONS


class ReasoningGymTask(Task):
    """One reasoning-gym dataset as an fbenv task.

    Args:
        dataset: a reasoning-gym dataset name (``reasoning_gym.factory.DATASETS``).
        config: that dataset's config fields (e.g. ``{"min_terms": 2}``), passed through; they may
            also be given as plain keyword arguments (``min_terms=2``).
        size: how many distinct instances the env draws from.
        seed: the dataset seed; instance ``i`` is reasoning-gym's item ``i`` for this seed.
    """

    family = "math"

    def __init__(
        self,
        dataset: str = "basic_arithmetic",
        config: dict[str, Any] | None = None,
        size: int = 10_000,
        seed: int = 0,
        **fields: Any,
    ) -> None:
        import reasoning_gym  # noqa: F401  (registers the datasets)
        from reasoning_gym.factory import DATASETS

        if dataset not in DATASETS:
            close = difflib.get_close_matches(str(dataset), DATASETS, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(
                f"unknown reasoning-gym dataset {dataset!r}{hint} "
                f"(known: {', '.join(sorted(DATASETS))})"
            )
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        config = {**(config or {}), **fields}
        dataset_cls, config_cls = DATASETS[dataset]
        fields = {f.name for f in dataclasses.fields(config_cls)}
        unknown = sorted(set(config) - fields)
        if unknown:
            raise ValueError(
                f"reasoning-gym dataset {dataset!r} has no config field(s) {', '.join(unknown)}; "
                f"its fields are {', '.join(sorted(fields - {'seed', 'size'}))}"
            )
        try:
            cfg = config_cls(**{**config, "seed": seed, "size": size})
            if hasattr(cfg, "validate"):
                cfg.validate()
            self.dataset = dataset_cls(config=cfg)
        except (AssertionError, TypeError, ValueError) as error:
            raise ValueError(f"invalid config for reasoning-gym dataset {dataset!r}: {error}") from error
        self.dataset_name = dataset
        self.size = size
        self.seed = seed
        self._id_prefix = f"reasoning_gym/{dataset}/s{seed}/"

    @property
    def name(self) -> str:
        return f"reasoning_gym/{self.dataset_name}"

    def __len__(self) -> int:
        return self.size

    def instance(self, index: int) -> Instance:
        entry = self.dataset[index]
        answer = entry["answer"]
        # Some datasets accept many answers and carry none (their scorer checks validity instead).
        reference = "" if answer is None else str(answer)
        return Instance.make(
            task_id=self._id_prefix + str(index),
            index=index,
            prompt=entry["question"] + _PROMPT_TAIL,
            reference=reference,
            oracle_action=None if answer is None else "Answer: " + reference,
            data={"entry": entry},
        )

    def check(self, instance: Instance, reply: str) -> Verdict:
        answer = extract_final_answer(reply, multiline=True)
        diagnostics: tuple[str, ...] = ()
        form_error = None
        score = 0.0
        if answer is None:
            form_error = "no final answer: end with `Answer: X`"
        else:
            try:
                score = float(self.dataset.score_answer(answer, instance.data["entry"]))
            except Exception as error:  # a scorer that trips on odd input: the answer scores 0
                diagnostics = (f"the scorer could not read the answer ({type(error).__name__})",)
        if not 0.0 <= score <= 1.0:
            score = 1.0 if score > 1.0 else 0.0  # NaN and negatives score 0
        correct = score == 1.0
        if answer is not None and not correct:
            note = direction_note(parse_number(answer), parse_number(instance.reference))
            if note:
                diagnostics += (note,)
            elif score > 0:
                diagnostics += ("your answer is partly right",)
        return Verdict.make(
            correct=correct,
            score=score,
            answer=answer,
            reference=instance.reference,
            steps=check_calculations(reply),
            form_error=form_error,
            solution=instance.oracle_action if instance.reference else None,  # "Answer: <reference>"
            diagnostics=diagnostics,
        )
