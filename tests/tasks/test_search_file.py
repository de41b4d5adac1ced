"""SearchFile-v0: a user's corpus and HotpotQA-style questions; the fixture is sound; bad files name the fix."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.tasks.qa_scoring import normalize_answer
from fbenv.tasks.search_file import SearchFileTask


def write(path: Path, rows: list) -> str:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return str(path)


def test_the_fixture_is_sound_and_answered_by_its_supporting_documents() -> None:
    task = SearchFileTask()
    assert len(task) >= 8 and len(task.engine.documents) >= 16
    hops = set()
    for index in range(len(task)):
        inst = task.instance(index)
        assert task.check(inst, inst.oracle_action).correct
        assert not task.check(inst, "answer: Harrowgate").correct
        texts = " ".join(f"{task.engine.get(d).title} {task.engine.get(d).text}" for d in inst.data["supporting"])
        assert normalize_answer(inst.reference) in normalize_answer(texts)
        hops.add(len(inst.data["supporting"]))
    assert hops >= {1, 2, 3}


def test_an_agent_opening_the_supporting_documents_and_searching_gets_labels_and_feedback() -> None:
    env = gym.make("fbenv/SearchFile-v0", feedback="process")
    env.reset(seed=0, options={"task_index": 1})  # the founder of Harrowgate Observatory's birthplace
    obs, *_, info = env.step("search: Harrowgate Observatory founder")
    assert "doc-01" in info["move"]["results"]
    env.step("search: ropewalks")
    obs, *_, info = env.step("answer: Pellin Bay")
    assert info["feedback"].step_labels == (True, False, False)
    *_, terminated, _, info = env.step("answer: saltmere")
    assert terminated and info["verdict"].correct


def test_text_feedback_names_the_missing_document_at_level_three() -> None:
    env = gym.make("fbenv/SearchFile-v0", feedback="text", hint_level=3)
    env.reset(seed=0, options={"task_index": 5})
    env.step("open: DOC-03")  # ids match without regard to case
    obs, *_ = env.step("answer: Gorse Hills")
    assert 'you have not found the second of 3 supporting documents yet: it is in the document "Wend (river)"' in obs


def test_a_users_files_in_hotpotqa_layout(tmp_path: Path) -> None:
    corpus = write(tmp_path / "c.jsonl", [{"_id": "a", "title": "Alpha", "text": ["Alpha is red.", "It is big."]},
                                          {"id": "b", "title": "Beta", "text": "Beta is blue."}])
    questions = write(tmp_path / "q.jsonl", [{"_id": "x1", "question": "Colour of Alpha?", "answer": "red",
                                              "supporting_facts": [["Alpha", 0]], "aliases": ["scarlet"]}])
    env = gym.make("fbenv/SearchFile-v0", corpus=corpus, questions=questions, feedback="binary")
    _, info = env.reset(seed=0)
    assert info["task_id"] == "search_file/x1"
    *_, info = env.step("answer: Scarlet")
    assert info["verdict"].correct and info["episode"]["supporting"] == ["a"]


@pytest.mark.parametrize(("rows", "message"), [
    ([{"question": "q", "answer": "a", "supporting_ids": ["nope"]}],
     r"line 1: supporting id\(s\) 'nope' are not in the corpus; use the 'id' of a corpus document"),
    ([{"question": "q", "answer": "a"}], "line 1: give 'supporting_ids' .* or HotpotQA's 'supporting_facts'"),
    ([{"question": "q", "answer": "a", "supporting_facts": [["Gamma", 0]]}],
     "no document has the title 'Gamma'; use 'supporting_ids'"),
    ([{"question": "q", "answer": "a", "supporting_facts": ["Alpha"]}], "each supporting fact must be"),
    ([{"question": "q", "answer": "", "supporting_ids": ["a"]}], "line 1: missing a non-empty 'answer'"),
    ([{"answer": "a", "supporting_ids": ["a"]}], "line 1: missing a non-empty string 'question'"),
    ([{"question": "q", "answer": "a", "supporting_ids": []}], "'supporting_ids' must be a non-empty list"),
    ([{"question": "q", "answer": "a", "supporting_ids": ["a"], "aliases": "x"}], "'aliases' must be a list"),
    (["", "  "], "holds no questions"),
    (["{broken"], "line 1: not valid JSON"),
])
def test_bad_question_files_name_the_line_and_the_fix(tmp_path: Path, rows: list, message: str) -> None:
    corpus = write(tmp_path / "c.jsonl", [{"id": "a", "title": "Alpha", "text": "Alpha is red."}])
    questions = write(tmp_path / "q.jsonl", rows)
    with pytest.raises(ValueError, match=message):
        SearchFileTask(corpus=corpus, questions=questions)


def test_bad_paths_and_half_given_files_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give both corpus= and questions="):
        SearchFileTask(corpus=str(tmp_path / "c.jsonl"))
    with pytest.raises(ValueError, match="is not a file; give the path of a JSONL file"):
        SearchFileTask(corpus=str(tmp_path / "c.jsonl"), questions=str(tmp_path / "q.jsonl"))
    (tmp_path / "c.jsonl").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "q.jsonl").write_text("")
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        SearchFileTask(corpus=str(tmp_path / "c.jsonl"), questions=str(tmp_path / "q.jsonl"))
