"""Search-v0 and SearchAmbiguous-v0 through the env: an agent that follows the supporting documents always
wins, one that does not search loses, and every feedback kind says what the search family promises."""

from __future__ import annotations

import itertools

import gymnasium as gym
import pytest
from search_agents import oracle_episode

import fbenv  # noqa: F401
from fbenv.tasks.qa_scoring import normalize_answer


def make(env_id: str = "fbenv/Search-v0", **kwargs) -> gym.Env:
    kwargs.setdefault("max_turns", 10)
    return gym.make(env_id, **kwargs)


def holds(text: str, reference: str) -> bool:
    return f" {normalize_answer(reference)} " in f" {normalize_answer(text)} "


@pytest.mark.parametrize("hops", [1, 2, 3, 4])
def test_an_agent_following_the_supporting_documents_solves_every_question(hops: int) -> None:
    for corpus_size, seeds in ((2000, range(25)), (400, range(100, 110))):
        env = make(hops=hops, corpus_size=corpus_size, feedback="binary", seed=corpus_size)
        for seed in seeds:
            info = oracle_episode(env, seed)
            assert info["verdict"].correct and info["feedback"].label is True
            assert info["episode"]["supporting_found"] == info["episode"]["supporting"]
            assert info["episode"]["searches"] == 0


def test_the_ambiguous_variant_is_solved_by_its_supporting_documents_too() -> None:
    env = make("fbenv/SearchAmbiguous-v0", feedback="binary")
    assert all(oracle_episode(env, seed)["verdict"].correct for seed in range(30))


@pytest.mark.parametrize("hops", [1, 2, 4])
def test_an_agent_that_does_not_search_fails(hops: int) -> None:
    env = make(hops=hops, feedback="binary")
    wins = 0
    for seed in range(60):
        prompt, _ = env.reset(seed=seed)
        question = prompt.split("\n")[0]
        guesses = ["answer: 1950", f"answer: {question.split(' of ')[-1].rstrip('?')}", "answer: Mara Voss"]
        for guess in guesses:
            *_, terminated, _, info = env.step(guess)
            wins += info["verdict"].correct
            if terminated:
                break
    assert wins <= 2  # a year guessed right by luck, at most


def test_searching_finds_supporting_documents_and_reports_them() -> None:
    env = make(feedback="binary", hops=2)
    env.reset(seed=3)
    data = env.unwrapped.instance.data
    obs, reward, terminated, truncated, info = env.step(f"search: {data['question']}")
    assert info["verdict"] is None and info["feedback"] is None and not terminated
    move = info["move"]
    assert move["name"] == "search" and move["source"] == "tool" and len(move["results"]) == 5
    assert data["supporting"][0] in move["results"] and move["supporting_found"] == [data["supporting"][0]]
    assert f"[{move['results'][0]}]" in obs and obs.startswith("Search 1: results for")
    assert info["episode"] == {"searches": 1, "search_cost": 0.0, "opened": [], "questions": 0,
                               "supporting": data["supporting"], "supporting_found": [data["supporting"][0]]}


def test_each_search_costs_search_cost_and_the_answer_keeps_its_full_reward() -> None:
    env = make(feedback="binary", search_cost=0.1)
    env.reset(seed=0)
    rewards = [env.step(f"search: query {i}")[1] for i in range(3)]
    assert rewards == [pytest.approx(-0.1)] * 3
    _, reward, *_ = env.step("open: kb-000001")
    assert reward == 0.0  # opening is free
    _, reward, terminated, _, info = env.step(env.unwrapped.instance.oracle_action)
    assert terminated and reward == 1.0
    assert info["episode"]["searches"] == 3 and info["episode"]["search_cost"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match=r"search_cost must be a number in \[0, 1\]"):
        make(search_cost=-1)


def test_process_feedback_labels_each_query_then_the_answer() -> None:
    env = make(feedback="process", hops=2)
    env.reset(seed=1)
    data = env.unwrapped.instance.data
    start = env.unwrapped.task.world.entities[data["chain"][0].subject].name
    env.step(f"search: {start}")
    env.step("search: qqqqzzzz")
    env.step(f"open: {data['supporting'][1]}")  # opening is not a query: no label
    obs, reward, terminated, _, info = env.step("answer: nobody at all")
    feedback, verdict = info["feedback"], info["verdict"]
    assert feedback.step_labels == (True, False, False) and verdict.unit == "query"
    assert [step.text for step in verdict.steps] == [start, "qqqqzzzz"]
    assert obs.splitlines() == [f"Step 1 `{start}`: correct", "Step 2 `qqqqzzzz`: incorrect",
                                "Final answer: incorrect"]
    assert reward == pytest.approx(1 / 3) and not terminated
    *_, info = env.step(env.unwrapped.instance.oracle_action)
    assert info["feedback"].step_labels == (True, False, True)


def test_the_hint_ladder_climbs_to_the_missing_hop_and_the_solution() -> None:
    texts = []
    for level in range(5):
        env = make(feedback="text", hint_level=level, hops=2)
        env.reset(seed=4)
        inst = env.unwrapped.instance
        world = env.unwrapped.task.world
        first_hop = inst.data["chain"][0]
        env.step("search: qqqqzzzz")
        texts.append(env.step(f"answer: {world.value_name(first_hop.value)}")[0])  # the bridge entity
    question = inst.data["question"]
    assert texts[0] == "That is not correct."
    assert "well-formed" in texts[1]
    assert "The first failing query is the first query: none of its results is a supporting document." in texts[2]
    assert f"{world.describe(first_hop)}, but I asked: {question}" in texts[2]  # ConvSim: what that answer is
    missing = inst.data["hop_docs"][0]
    assert f"a better query would have found {missing}" in texts[3]
    assert f"Note: you have not found the first of 2 hops ({inst.data['hop_needs'][0]}) yet: it is in {missing}" \
        in texts[3]
    assert "Worked solution:" in texts[4] and f"Answer: {inst.reference}" in texts[4]
    assert inst.data["supporting"][1] in texts[4]
    for lower, higher in itertools.pairwise(texts):
        assert higher.startswith(lower)
    for text in texts[:3]:
        assert not holds(text, inst.reference)


def test_the_user_names_what_a_wrong_entity_is_but_never_the_answer_below_level_three() -> None:
    checked = 0
    for env_id, hops in (("fbenv/Search-v0", 1), ("fbenv/Search-v0", 3), ("fbenv/SearchAmbiguous-v0", 2)):
        env = make(env_id, feedback="text", hint_level=2, hops=hops, max_turns=100)
        for seed in range(25):
            env.reset(seed=seed)
            inst = env.unwrapped.instance
            world = env.unwrapped.task.world
            chain = inst.data["chain"]
            names = [world.entities[h.subject].name for h in chain] + [world.entities[seed * 7].name, "1987", ""]
            names += [r["answer"] for r in inst.data.get("readings", [])]
            names += [world.value_name(world.entities[h.subject].facts[r]) for h in chain
                      for r in world.entities[h.subject].facts]
            for name in names:
                obs, _, terminated, _, info = env.step(f"answer: {name}")
                if terminated:
                    env.reset(seed=seed)
                    continue
                assert not holds(obs, inst.reference), (name, obs)
                checked += 1
    assert checked > 500


def test_a_wrong_entity_of_the_world_is_told_what_it_is() -> None:
    env = make(feedback="text", hops=1)
    for index in range(200):
        env.reset(seed=0, options={"task_index": index})
        inst = env.unwrapped.instance
        if inst.data["chain"][0].relation != "founder":
            continue
        world = env.unwrapped.task.world
        org = inst.data["chain"][0].subject
        chief = world.entities[org].facts["chief"]
        obs, *_ = env.step(f"answer: {world.entities[chief].name}")
        # "that is the founder, I asked about the current CEO", the other way round
        assert (f"{world.entities[chief].name} is the current chief executive of {world.entities[org].name}, "
                f"but I asked: Who founded {world.entities[org].name}?") in obs
        return
    pytest.fail("no founder question among 200 instances")


def test_asking_the_user_resolves_the_ambiguous_reading() -> None:
    env = make("fbenv/SearchAmbiguous-v0", feedback="text")
    for seed in range(10):
        env.reset(seed=seed)
        inst = env.unwrapped.instance
        readings, intended = inst.data["readings"], inst.data["intended"]
        meant = readings[intended]["clarification"]
        obs, reward, terminated, _, info = env.step("ASK:  Which one do you mean?")
        assert obs == f"I mean {meant}." and reward == 0.0 and not terminated
        assert info["move"]["source"] == "user" and info["move"]["slot"] == "reading"
        assert info["episode"]["questions"] == 1
        other = readings[(intended + 1) % len(readings)]
        obs, *_ = env.step(f"ask: do you mean the one {other['tell']}?")
        assert obs == f"No, not that one: I mean {meant}."
        obs, *_ = env.step(f"<ask>is it the one from {readings[intended]['tell']}?</ask>")
        assert obs == f"Yes: I mean {meant}."
        obs, _, terminated, _, info = env.step(f"answer: {other['answer']}")
        assert not terminated and not info["verdict"].correct
        assert f"That would be the answer for {other['clarification']}, but I meant {meant}." in obs
        assert not holds(obs, inst.reference)
        *_, terminated, _, info = env.step(f"answer: {inst.reference}")
        assert terminated and info["verdict"].correct


def test_asking_a_plain_question_restates_the_need() -> None:
    env = make(feedback="binary")
    env.reset(seed=0)
    obs, *_, info = env.step("ask: what do you mean?")
    assert info["move"]["slot"] is None and env.unwrapped.instance.data["question"] in obs
    assert not holds(obs, env.unwrapped.instance.reference)


def test_malformed_actions_get_the_protocol_not_a_verdict() -> None:
    env = make(feedback="text")
    env.reset(seed=0)
    for reply, problem in [("search:", "`search:` needs something after it"),
                           ("  OPEN :   ", "`open:` needs something after it"),
                           ("open: kb-999999999", 'there is no document with id "kb-999999999"'),
                           ("open: " + "x" * 10_000, "there is no document with id")]:
        obs, reward, terminated, truncated, info = env.step(reply)
        assert obs.startswith(f"I could not read that: {problem}") and "search: <query>" in obs
        assert info["verdict"] is None and reward == 0.0 and not terminated
        assert len(obs) < 1000


def test_replies_without_an_action_are_answers_with_a_form_error_naming_the_protocol() -> None:
    env = make(feedback="text", hint_level=1)
    env.reset(seed=0)
    obs, *_, info = env.step("I think it is probably somewhere in the north.")
    assert info["verdict"].answer is None
    assert "no action: reply with one of search: <query>, open: <document id>" in obs
    obs, *_, info = env.step("answer:")
    assert "the answer after `answer:` is empty" in obs


def test_partial_answers_score_token_f1_and_only_exact_matches_are_correct() -> None:
    env = make(feedback="binary", reward_from="verdict", hops=1)
    for seed in range(40):
        env.reset(seed=seed)
        reference = env.unwrapped.instance.reference
        if len(reference.split()) == 2:
            break
    _, reward, terminated, _, info = env.step(f"answer: {reference.split()[0]}")
    assert not terminated and info["verdict"].score == pytest.approx(2 / 3) and reward == pytest.approx(2 / 3)
    _, reward, terminated, _, info = env.step(f"**Final Answer:** The {reference.upper()}.")
    assert terminated and info["verdict"].correct and reward == 1.0


def test_kwargs_are_checked_with_clear_errors() -> None:
    for kwargs, message in [({"hops": 0}, r"hops must be an int in \[1, 4\]"),
                            ({"corpus_size": 5}, "corpus_size must be an int in"),
                            ({"top_k": 0}, r"top_k must be an int in \[1, 50\]"),
                            ({"retrieval": "magic"}, "retrieval must be one of bm25, dense, hybrid"),
                            ({"ambiguous": "yes"}, "ambiguous must be true or false")]:
        with pytest.raises(ValueError, match=message):
            make(**kwargs)


def test_vector_envs_play_moves_and_answers_side_by_side() -> None:
    envs = gym.make_vec("fbenv/Search-v0", num_envs=2, feedback="binary")
    envs.reset(seed=0)
    obs, rewards, terminated, truncated, infos = envs.step(["search: anything", "answer: nobody"])
    assert obs[0].startswith("Search 1") and obs[1] == "Incorrect." and not terminated.any()
    envs.close()


def test_a_one_megabyte_search_or_question_is_served_with_short_echoes() -> None:
    env = make("fbenv/SearchAmbiguous-v0", feedback="binary")
    env.reset(seed=0)
    for reply in ("search: " + "Kelbridge labs " * 70_000, "ask: " + "which one " * 100_000,
                  "<search>" + "\U0001f680 \u202e\ud800 " * 200_000 + "</search>"):
        obs, reward, terminated, truncated, info = env.step(reply)
        assert info["verdict"] is None and len(obs) < 2000 and not terminated
        assert len(info["move"].get("query", "")) <= 1000


def test_async_vector_envs_carry_moves_and_episode_facts() -> None:
    envs = gym.make_vec("fbenv/SearchFile-v0", num_envs=2, vectorization_mode="async", feedback="text")
    try:
        envs.reset(seed=0)
        obs, rewards, terminated, truncated, infos = envs.step(["search: Harrowgate", "answer: nobody"])
        assert obs[0].startswith("Search 1") and obs[1].startswith("That is not correct.")
        assert list(infos["episode"]["searches"]) == [1, 0]
    finally:
        envs.close()
