"""Feedback-aware metrics, recomputed from result records, each with a bootstrap 95% interval.

Every metric is defined in ``docs/metrics.md`` with its source. In short, over the episodes of one
condition (env × feedback kind), with *turns* counting every reply and *attempts* counting answers
(replies that got a verdict, not tool calls or searches):

* ``first_try``: the first attempt is right (single-turn accuracy).
* ``success@k``: solved within k turns (MINT's success rate with a k-turn budget).
* ``succ_given_fail@k``: right at attempt k among episodes wrong at attempts 1..k-1 that made a
  k-th attempt (UFO's "success at turn k given failure at k-1").
* ``turns_to_solve``: mean turns of the solved episodes.
* ``incorporation``: share of wrong attempts followed by a right one (Feedback Friction's rate of
  incorporating feedback: wrong→right right after feedback).
* ``repetition``: share of attempts that repeat an earlier answer of the same episode (1 - UFO's
  unique-answer ratio).
* ``gain_per_turn``: least-squares slope of success@k over k (MINT's improvement per turn).
* ``flip_rate``: share of right attempts followed by a wrong one; measurable when right answers
  can be rejected (a misleading critic with ``terminate_on="feedback"``; WAFER-QA).

Intervals come from resampling episodes with replacement (seeded, 1,000 times): a metric that is a
pooled ratio over events (attempt pairs) is recomputed from resampled episodes, not from resampled
events, since events of one episode are not independent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP_SAMPLES = 1000


@dataclass(frozen=True)
class Estimate:
    """A metric's value with its bootstrap 95% interval; ``n`` is the events (or episodes) behind it."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}

    def __str__(self) -> str:
        if self.value is None:
            return "-"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def attempts(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of an episode that were answers (got a verdict), in order."""
    return [step for step in record["steps"] if step.get("verdict") is not None]


def _ratio_parts(records: Sequence[dict[str, Any]], parts: Callable[[dict[str, Any]], tuple[float, float]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array([parts(record) for record in records], dtype=float).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _estimate(numerator: np.ndarray, denominator: np.ndarray, rng: np.random.Generator) -> Estimate:
    """A pooled ratio sum(num)/sum(den) with an episode-bootstrap interval."""
    total = float(denominator.sum())
    if total == 0:
        return Estimate(None, None, None, 0)
    value = float(numerator.sum()) / total
    idx = rng.integers(0, len(numerator), size=(BOOTSTRAP_SAMPLES, len(numerator)))
    num, den = numerator[idx].sum(axis=1), denominator[idx].sum(axis=1)
    ok = den > 0
    ratios = num[ok] / den[ok]
    low, high = np.percentile(ratios, [2.5, 97.5]) if len(ratios) else (value, value)
    return Estimate(value, float(low), float(high), int(total))


def _first_try(record: dict[str, Any]) -> tuple[float, float]:
    tries = attempts(record)
    return (float(bool(tries) and tries[0]["verdict"]["correct"]), 1.0)


def _within(k: int) -> Callable[[dict[str, Any]], tuple[float, float]]:
    def parts(record: dict[str, Any]) -> tuple[float, float]:
        turn = record.get("solved_turn")
        return (float(turn is not None and turn <= k), 1.0)
    return parts


def _given_fail(k: int) -> Callable[[dict[str, Any]], tuple[float, float]]:
    def parts(record: dict[str, Any]) -> tuple[float, float]:
        tries = attempts(record)
        if len(tries) < k or any(t["verdict"]["correct"] for t in tries[: k - 1]):
            return (0.0, 0.0)
        return (float(tries[k - 1]["verdict"]["correct"]), 1.0)
    return parts


def _turns_to_solve(record: dict[str, Any]) -> tuple[float, float]:
    turn = record.get("solved_turn")
    return (float(turn), 1.0) if record.get("solved") and turn is not None else (0.0, 0.0)


def _incorporation(record: dict[str, Any]) -> tuple[float, float]:
    tries = attempts(record)
    pairs = [(a, b) for a, b in itertools.pairwise(tries) if not a["verdict"]["correct"]]
    return (float(sum(b["verdict"]["correct"] for _, b in pairs)), float(len(pairs)))


def _flips(record: dict[str, Any]) -> tuple[float, float]:
    tries = attempts(record)
    pairs = [(a, b) for a, b in itertools.pairwise(tries) if a["verdict"]["correct"]]
    return (float(sum(not b["verdict"]["correct"] for _, b in pairs)), float(len(pairs)))


def _repetition(record: dict[str, Any]) -> tuple[float, float]:
    tries = attempts(record)
    return (float(sum(t.get("repeated", False) for t in tries)), float(len(tries)))


def _slope(curve: np.ndarray) -> float:
    ks = np.arange(1, curve.shape[-1] + 1, dtype=float)
    centred = ks - ks.mean()
    return (curve * centred).sum(axis=-1) / (centred**2).sum()


def condition_metrics(records: Sequence[dict[str, Any]], max_turns: int | None = None, seed: int = 0
                      ) -> dict[str, Any]:
    """Every metric for the episodes of one condition, as ``{name: Estimate}`` plus ``episodes``."""
    rng = np.random.default_rng(seed)
    if not records:
        return {"episodes": 0}
    horizon = max_turns or max(int(r.get("max_turns") or r["turns"]) for r in records)
    out: dict[str, Any] = {"episodes": len(records)}
    out["first_try"] = _estimate(*_ratio_parts(records, _first_try), rng)
    solved_by = np.array([[r.get("solved_turn") is not None and r["solved_turn"] <= k
                           for k in range(1, horizon + 1)] for r in records], dtype=float)
    for k in range(1, horizon + 1):
        out[f"success@{k}"] = _estimate(solved_by[:, k - 1], np.ones(len(records)), rng)
    for k in range(2, horizon + 1):
        out[f"succ_given_fail@{k}"] = _estimate(*_ratio_parts(records, _given_fail(k)), rng)
    out["turns_to_solve"] = _estimate(*_ratio_parts(records, _turns_to_solve), rng)
    out["incorporation"] = _estimate(*_ratio_parts(records, _incorporation), rng)
    out["repetition"] = _estimate(*_ratio_parts(records, _repetition), rng)
    out["flip_rate"] = _estimate(*_ratio_parts(records, _flips), rng)
    if horizon >= 2:
        value = float(_slope(solved_by.mean(axis=0)))
        idx = rng.integers(0, len(records), size=(BOOTSTRAP_SAMPLES, len(records)))
        slopes = _slope(solved_by[idx].mean(axis=1))
        low, high = np.percentile(slopes, [2.5, 97.5])
        out["gain_per_turn"] = Estimate(value, float(low), float(high), len(records))
    return out


def group_by_condition(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Records grouped by (agent, env id, condition), in first-seen order."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        key = (record.get("agent", ""), record["env_id"], record.get("condition") or record.get("feedback", ""))
        groups.setdefault(key, []).append(record)
    return groups


def summarize(records: Sequence[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """One row per (agent, env, condition) with every metric as a JSON-able dict."""
    rows = []
    for (agent, env_id, condition), group in group_by_condition(records).items():
        metrics = condition_metrics(group, seed=seed)
        row: dict[str, Any] = {"agent": agent, "env_id": env_id, "condition": condition,
                               "episodes": metrics.pop("episodes")}
        row.update({name: estimate.to_dict() for name, estimate in metrics.items()})
        rows.append(row)
    return rows
