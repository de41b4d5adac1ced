"""MathFile-v0: a JSONL of question/answer pairs, GSM8K's layout understood."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.tasks.math_file import MathFileTask


def write(tmp_path, lines: list[str]) -> str:
    path = tmp_path / "problems.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_the_shipped_fixture_is_sound() -> None:
    task = MathFileTask()
    assert len(task) >= 20
    for i in range(len(task)):
        inst = task.instance(i)
        assert task.check(inst, inst.oracle_action).correct
        assert not task.check(inst, "Answer: 123456789").correct
        assert task.check(inst, f"#### {inst.reference}").correct  # GSM8K's marker in a reply


def test_gsm8k_answers_give_reference_and_worked_solution(tmp_path) -> None:
    record = {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
              "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\nIn all 48+24 = <<48+24=72>>72 clips.\n#### 72"}
    env = gym.make("fbenv/MathFile-v0", path=write(tmp_path, [json.dumps(record)]), feedback="text", hint_level=4)
    prompt, info = env.reset(seed=0)
    assert record["question"] in prompt
    obs, *_ = env.step("48 + 48 = 96\nAnswer: 96")
    assert "In all 48+24 = 72 clips." in obs and "<<" not in obs and "Answer: 72" in obs
    *_, info = env.step("The total is 72.0 clips.\nAnswer: 72.0")
    assert info["verdict"].correct


def test_latex_answers_go_through_math_verify(tmp_path) -> None:
    path = write(tmp_path, [json.dumps({"question": "Half of one?", "answer": "\\frac{1}{2}"})])
    task = MathFileTask(path)
    inst = task.instance(0)
    assert task.check(inst, "Answer: 0.5").correct
    assert task.check(inst, "Answer: $\\dfrac{1}{2}$").correct
    assert not task.check(inst, "Answer: 1/3").correct


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"question": "a", "answer": "1"}', "{not json"], r"line 2: not valid JSON"),
        (['{"question": "a", "answer": "1"}', "", "[1, 2]"], r"line 3: expected a JSON object"),
        (['{"answer": "1"}'], r"line 1: missing a non-empty string 'question'"),
        (['{"question": "a"}'], r"line 1: missing a non-empty 'answer'"),
        (['{"question": "a", "answer": "work #### "}'], r"line 1: the answer after '####' is empty"),
        ([""], "holds no problems"),
    ],
)
def test_malformed_files_name_the_line_and_the_fix(tmp_path, lines, message) -> None:
    with pytest.raises(ValueError, match=message):
        gym.make("fbenv/MathFile-v0", path=write(tmp_path, lines))


def test_missing_and_binary_files_are_value_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="is not a file"):
        gym.make("fbenv/MathFile-v0", path=str(tmp_path / "nope.jsonl"))
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not UTF-8"):
        gym.make("fbenv/MathFile-v0", path=str(binary))


def test_numbers_as_answers_and_problem_ids(tmp_path) -> None:
    path = write(tmp_path, [json.dumps({"id": "q-7", "problem": "Two plus two?", "answer": 4})])
    env = gym.make("fbenv/MathFile-v0", path=path)
    _, info = env.reset(seed=0)
    assert info["task_id"] == "math_file/q-7"
