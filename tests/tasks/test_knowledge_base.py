"""The fictional-world generator: deterministic per seed, consistent, and every question answerable from
its supporting documents alone."""

from __future__ import annotations

import pytest
from search_agents import read_fact

from fbenv.tasks.knowledge_base import MIN_SIZE, RELATIONS, World, question_text
from fbenv.tasks.qa_scoring import normalize_answer


def follow_supporting_documents(world: World, question: dict) -> str | None:
    """Answer by reading only the supporting documents, in order: each one names the next hop's subject."""
    docs = {doc_id: (title, text) for doc_id, title, text in (world.document(world.index_of(d))
                                                              for d in question["supporting"])}
    value = None
    for step, (doc_id, hop) in enumerate(zip(question["supporting"], question["chain"], strict=True)):
        title, text = docs[doc_id]
        if step and normalize_answer(title) != normalize_answer(value):
            return None  # the previous document named someone else
        value = read_fact(text, title, hop.relation)
        if value is None:
            return None
    return value


def test_the_same_seed_gives_the_same_world_and_questions() -> None:
    first, second = World(5, 800), World(5, 800)
    assert first.documents() == second.documents()
    assert [first.question(3, i) for i in range(50)] == [second.question(3, i) for i in range(50)]
    assert [first.question(2, i, True) for i in range(20)] == [second.question(2, i, True) for i in range(20)]


def test_other_seeds_sizes_and_indexes_give_other_worlds_and_questions() -> None:
    base = World(5, 800)
    assert World(6, 800).documents() != base.documents()
    assert World(5, 801).documents()[:10] != base.documents()[:10]
    questions = {base.question(2, i)["question"] for i in range(100)}
    assert len(questions) >= 90


def test_a_pinned_question_never_changes() -> None:
    # The same index names the same question on every machine (BLAKE2b, not the process's random).
    found = World(0, 2000).question(2, 0)
    assert (found["question"], found["answer"], found["supporting"]) == (
        "Which organisation does the current chief executive of Momaroum Labs work for?",
        "Dimvos Labs", ["kb-001670", "kb-000824"])  # pinned from a run: a change here means GENERATOR_VERSION++


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("hops", [1, 2, 3, 4])
def test_every_question_is_answered_by_its_supporting_documents(seed: int, hops: int) -> None:
    world = World(seed, 1500)
    for index in range(60):
        question = world.question(hops, index)
        assert len(question["chain"]) == len(question["supporting"]) == hops
        assert follow_supporting_documents(world, question) == question["answer"], question
        assert normalize_answer(question["answer"]) not in normalize_answer(question["question"])
        relations = [hop.relation for hop in question["chain"]]
        start = world.entities[question["chain"][0].subject].name
        assert question["question"] == question_text(start, relations)
        assert len(world.by_name[normalize_answer(start)]) == 1  # one reading


def test_facts_are_consistent_and_functional() -> None:
    world = World(3, 3000)
    for entity in world.entities:
        if entity.type == "country":
            assert world.entities[entity.facts["capital"]].facts["country"] == entity.index
        if entity.type == "organisation":
            assert entity.facts["founder"] != entity.facts["chief"]
        if entity.type == "person":
            assert entity.facts["mentor"] != entity.index
        doc_id, title, text = world.document(entity.index)
        assert world.index_of(doc_id) == entity.index and title == entity.name
        for relation in RELATIONS.values():
            if relation.subject == entity.type:
                assert read_fact(text, title, relation.name) == world.value_name(entity.facts[relation.name])


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_ambiguous_questions_have_several_readings_with_different_answers(hops: int) -> None:
    world = World(1, 3000)
    for index in range(40):
        question = world.question(hops, index, ambiguous=True)
        readings = question["readings"]
        assert len(readings) >= 2 and 0 <= question["intended"] < len(readings)
        assert {r["question"] for r in readings} == {question["question"]}  # one wording, several readings
        assert len({normalize_answer(r["answer"]) for r in readings}) == len(readings)
        assert len({r["clarification"] for r in readings}) == len(readings)
        for reading in readings:
            assert follow_supporting_documents(world, reading) == reading["answer"]
            assert normalize_answer(reading["answer"]) not in normalize_answer(reading["clarification"])
        assert question["answer"] == readings[question["intended"]]["answer"]


def test_bad_sizes_and_hops_name_the_range() -> None:
    with pytest.raises(ValueError, match=f"corpus_size must be an int in \\[{MIN_SIZE}"):
        World(0, 10)
    with pytest.raises(ValueError, match="seed must be an int"):
        World("0", 100)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"hops must be an int in \[1, 4\]"):
        World(0, 100).question(5, 0)
