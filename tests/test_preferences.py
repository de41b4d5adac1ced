"""Preference annotation: DPO pairs from agent samples, with AlpacaFarm-style annotator noise."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.cli import main
from fbenv.preferences import Sample, annotate_pairs, read_samples


def samples(n: int) -> list[Sample]:
    env = gym.make("fbenv/Math-v0")
    out = []
    for index in range(n):
        oracle = env.unwrapped.task.instance(index).oracle_action
        out.append(Sample(index, (oracle, "Answer: -987654321", "I have no idea")))
    return out


def test_the_rule_annotator_prefers_right_over_wrong_and_skips_ties() -> None:
    given = samples(20)
    rows = list(annotate_pairs("fbenv/Math-v0", given))
    assert len(rows) == 40  # the two wrong replies tie (same verdict quality) and are left out
    oracles = {s.replies[0] for s in given}
    for row in rows:
        assert row["chosen"][0]["content"] in oracles
        assert row["rejected"][0]["content"] in ("Answer: -987654321", "I have no idea")
        assert row["prompt"][0]["role"] == "user" and row["meta"]["agrees_with_truth"]


@pytest.mark.parametrize(("biases", "rate"), [({"flip": 0.25}, 0.25), ({"annotators": [0.0, 0.2, 0.4]}, 0.2)])
def test_annotator_noise_disagrees_with_the_truth_at_its_rate(biases, rate: float) -> None:
    rows = list(annotate_pairs("fbenv/Math-v0", samples(1_100), biases=biases, seed=3))
    disagreements = sum(not row["meta"]["agrees_with_truth"] for row in rows)
    assert abs(disagreements / len(rows) - rate) <= 4 * math.sqrt(rate * (1 - rate) / len(rows))
    again = list(annotate_pairs("fbenv/Math-v0", samples(1_100), biases=biases, seed=3))
    assert rows == again


def test_position_bias_prefers_the_first_reply_shown() -> None:
    biased = [Sample(s.task_index, (s.replies[1], s.replies[0])) for s in samples(1_000)]  # wrong reply first
    rows = list(annotate_pairs("fbenv/Math-v0", biased, biases={"position": 0.3}, seed=1))
    wrong_first = sum(row["meta"]["reason"] == "position" for row in rows)
    assert abs(wrong_first / len(rows) - 0.3) <= 4 * math.sqrt(0.21 / len(rows))


def test_cli_writes_dpo_jsonl_and_rejects_bad_input(tmp_path, capsys) -> None:
    src = tmp_path / "samples.jsonl"
    src.write_text("\n".join(json.dumps({"task_index": s.task_index, "replies": list(s.replies)})
                             for s in samples(5)) + "\n")
    out = tmp_path / "prefs.jsonl"
    assert main(["annotate", "Math-v0", "--samples", str(src), "--out", str(out), "--biases", '{"flip": 0.0}']) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 10 and set(rows[0]) == {"prompt", "chosen", "rejected", "meta"}
    assert "wrote 10 preference pairs from 5 samples" in capsys.readouterr().out
    src.write_text('{"task_index": 0, "replies": ["only one"]}\n')
    assert main(["annotate", "Math-v0", "--samples", str(src), "--out", str(out)]) == 2
    assert "line 1: 'replies' must be a list of at least two strings" in capsys.readouterr().err
    assert main(["annotate", "Math-v0", "--samples", str(src), "--out", str(out), "--biases", '{"wobble": 1}']) == 2


def test_read_samples_names_bad_lines() -> None:
    with pytest.raises(ValueError, match="x.jsonl, line 2: not valid JSON"):
        list(read_samples(['{"task_index": 0, "replies": ["a", "b"]}', "{oops"], "x.jsonl"))
    with pytest.raises(ValueError, match="'task_index' must be an integer"):
        list(read_samples(['{"task_index": "0", "replies": ["a", "b"]}'], "x.jsonl"))


def test_an_llm_annotator_picks_through_a_backend() -> None:
    sys.path.insert(0, str(Path(__file__).parent / "backends"))
    from server_process import start_server, stats

    process, url = start_server("--reply", "B")
    try:
        given = samples(3)
        rows = list(annotate_pairs("fbenv/Math-v0", given, annotator=f"llm:openai:judge@{url}"))
        # The model always answers "B": the second reply of each pair is chosen, right or wrong.
        assert len(rows) == 6 and all(row["meta"]["reason"] == "model" for row in rows)
        assert sum(row["meta"]["agrees_with_truth"] for row in rows) == 0  # oracle is always reply A here
        prompt = stats(url)["last"]["body"]["messages"][0]["content"]
        assert "Reply A:" in prompt and "Better reply (A or B):" in prompt
    finally:
        process.kill()
        process.wait()
    with pytest.raises(ValueError, match="annotator must be 'rule' or 'llm:"):
        list(annotate_pairs("fbenv/Math-v0", samples(1), annotator="crowd"))
