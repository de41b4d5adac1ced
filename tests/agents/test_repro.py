"""The reproductions' bookkeeping: steps to a threshold, Succ@k and success-given-failure from solved turns."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from fbenv.agents.repro import ReproArgs, _steps_to, conditions, markdown, summarize_study


def test_steps_to_threshold_is_the_first_evaluated_iteration_that_reaches_it() -> None:
    curve = [{"iteration": 0, "eval_first_try": 0.1}, {"iteration": 1, "return": 0.3},
             {"iteration": 3, "eval_first_try": 0.2}, {"iteration": 6, "eval_first_try": 0.3}]
    assert _steps_to(curve, 0.2, 6) == 3
    assert _steps_to(curve, 0.5, 6) == 7  # never reached: censored at iterations + 1


def test_the_ufo_summary_counts_success_within_k_and_success_given_failure() -> None:
    args = ReproArgs(study="ufo", seeds=[0])
    curve = [{"iteration": 0, "eval_first_try": 0.25}]
    runs = {"multi-turn/0": {"condition": "multi-turn", "seed": 0, "curve": curve, "final": [1, 2, 3, 0],
                             "eval_turns": 3},
            "single-turn/0": {"condition": "single-turn", "seed": 0, "curve": curve, "final": [1, 0, 0, 0],
                              "eval_turns": 3}}
    summary = summarize_study(args, {"runs": runs})
    multi = summary["multi-turn"]
    assert [multi[f"success@{k}"][0] for k in (1, 2, 3)] == [0.25, 0.5, 0.75]
    assert multi["succ_given_fail@2"][0] == pytest.approx(1 / 3)  # 3 failed turn 1; one solved at 2
    assert multi["succ_given_fail@3"][0] == pytest.approx(1 / 2)
    assert summary["difference"]["success@3"] == pytest.approx(0.5)
    table = markdown(args, {"runs": runs, "summary": summary, "model": "m", "total_s": 60})
    assert "| multi-turn | 0.250 [" in table and "succ_given_fail@3" in table


def test_each_study_compares_two_conditions_and_an_unknown_one_is_named() -> None:
    assert list(conditions(ReproArgs(study="leti"))) == ["text", "binary"]
    assert conditions(ReproArgs(study="ufo"))["single-turn"]["turns"] == 1
    with pytest.raises(ValueError, match="leti, ufo"):
        conditions(ReproArgs(study="nope"))
