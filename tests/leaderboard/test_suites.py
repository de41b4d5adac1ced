"""Suites: the published ones load, plans are paired across conditions, errors name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lb_helpers import TINY_SUITE, write_suite

import fbenv
from fbenv.leaderboard.suites import SuiteError, default_board, load_suite, parse_suite

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "leaderboards"


def test_the_published_suites_load_and_plan_paired_seeds() -> None:
    small = load_suite("small", BOARD)
    families = ["fbenv/Math-v0", "fbenv/HumanEval-v0", "fbenv/Search-v0", "fbenv/Recommend-v0", "fbenv/Clarify-v0",
                "fbenv/Teach-v0"]
    assert small.max_turns == 3 and [env.env_id for env in small.envs] == families
    budgets = {"fbenv/Math-v0": 3, "fbenv/HumanEval-v0": 3, "fbenv/Search-v0": 6}
    assert small.turn_budgets() == {**budgets, **dict.fromkeys(families[3:], 15)}
    plan = small.plan()
    assert len(plan) == 5 * 20 + 5 * 4 + 5 * 8 + 3 * 6 * 4
    by_condition: dict[tuple[str, str], list[int]] = {}
    for spec in plan:
        by_condition.setdefault((spec.env_id, spec.condition), []).append(spec.seed)
        assert spec.key == f"{spec.env_id}|{spec.condition}|{spec.seed}"
        assert spec.kwargs["max_turns"] == small.turn_budgets()[spec.env_id]
    kinds = ["none", "unary", "binary", "text", "process"]
    for env in families:
        conversation = env in families[3:]
        assert [c for e, c in small.runs() if e == env] == kinds + ["implicit"] * conversation, env
    assert all(seeds == small.seeds(env) for (env, _), seeds in by_condition.items())
    assert plan[0].kwargs == {"difficulty": 1, "feedback": "none", "max_turns": 3}
    full = load_suite("full", BOARD)
    assert full.sha256 != small.sha256 and len(full.envs) == 11
    assert {env.env_id for env in full.envs} == set(fbenv.ENVS)  # every registered env
    assert {c for _, c in full.runs()} == {*kinds, "implicit"}


def test_the_hash_follows_the_content_not_the_layout() -> None:
    suite = parse_suite(TINY_SUITE)
    assert parse_suite(json.loads(json.dumps(TINY_SUITE, indent=4, sort_keys=True))).sha256 == suite.sha256
    assert parse_suite({**TINY_SUITE, "max_turns": 3}).sha256 != suite.sha256


def test_adding_an_env_is_one_line_and_unsupported_conditions_are_skipped() -> None:
    grown = parse_suite({**TINY_SUITE, "conditions": [*TINY_SUITE["conditions"], "implicit"],
                         "envs": [*TINY_SUITE["envs"], {"id": "fbenv/CodeFile-v0", "episodes": 2}]})
    assert ("fbenv/CodeFile-v0", "text") in grown.runs()
    assert not any(condition == "implicit" for _, condition in grown.runs())  # no env here supports it yet
    assert len(grown.plan()) == len(parse_suite(TINY_SUITE).plan()) + 3 * 2
    longer = parse_suite({**TINY_SUITE, "envs": [*TINY_SUITE["envs"],
                                                 {"id": "fbenv/CodeFile-v0", "episodes": 2, "max_turns": 4}]})
    assert longer.turn_budgets() == {"fbenv/Math-v0": 2, "fbenv/HumanEval-v0": 2, "fbenv/CodeFile-v0": 4}
    assert longer.kwargs("fbenv/CodeFile-v0", "text")["max_turns"] == 4
    clarify = {"id": "fbenv/Clarify-v0", "episodes": 2, "max_turns": 6, "conditions": ["implicit", "text"]}
    talk = parse_suite({**TINY_SUITE, "conditions": [*TINY_SUITE["conditions"], "implicit"],
                        "envs": [*TINY_SUITE["envs"], clarify]})
    assert [c for env, c in talk.runs() if env == "fbenv/Clarify-v0"] == ["implicit", "text"]  # the env's order
    assert [c for env, c in talk.runs() if env == "fbenv/Math-v0"] == ["none", "binary", "text"]  # implicit skipped
    assert talk.kwargs("fbenv/Clarify-v0", "implicit") == {"feedback": "implicit", "max_turns": 6}


@pytest.mark.parametrize(("edit", "message"), [
    ({"envs": [{"id": "fbenv/Nope-v0", "episodes": 2}]}, "envs[0].id: unknown env id 'fbenv/Nope-v0'"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "kwargs": {"max_turns": 9}}]},
     "envs[0].kwargs: sets max_turns"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 0}]}, "envs[0].episodes: expected an int >= 1, got 0"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "seeds": [1]}]}, "envs[0].seeds: unknown field"),
    ({"conditions": ["loud"]}, "conditions[0]: unknown feedback kind 'loud'"),
    ({"conditions": ["text", "text"]}, "conditions: two conditions share a name"),
    ({"conditions": [{"name": "t", "feedback": "text", "kwargs": {"feedback": "none"}}]},
     "conditions[0].kwargs: sets feedback"),
    ({"conditions": ["a|b"]}, "conditions[0]: 'a|b' does not match"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "max_turns": 0}]},
     "envs[0].max_turns: expected an int >= 1, got 0"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "max_turns": True}]},
     "envs[0].max_turns: expected int, got bool"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "max_turns": 101}]},
     "envs[0].max_turns: expected an int <= 100, got 101"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "conditions": ["loud"]}]},
     "envs[0].conditions: loud not among the suite's conditions"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "conditions": ["text", "text"]}]},
     "envs[0].conditions: a condition is listed twice"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "conditions": []}]},
     "envs[0].conditions: empty; leave the field out"),
    ({"conditions": ["text", "implicit"], "envs": [{"id": "fbenv/Math-v0", "episodes": 2,
                                                    "conditions": ["text", "implicit"]}]},
     "envs[0].conditions: fbenv/Math-v0 does not support implicit"),
    ({"envs": [{"id": "fbenv/Math-v0", "episodes": 2, "conditions": "text"}]},
     "envs[0].conditions: expected array, got str"),
    ({"version": "1"}, "version: expected int, got str"),
    ({"name": "../up"}, "name: '../up' holds '/' (a path separator)"),
])
def test_errors_name_the_field(edit: dict[str, Any], message: str) -> None:
    with pytest.raises(SuiteError) as caught:
        parse_suite({**TINY_SUITE, **edit})
    assert message in str(caught.value)


def test_loading_refuses_traversal_and_names_what_exists(tmp_path: Path) -> None:
    write_suite(tmp_path, TINY_SUITE)
    assert load_suite("tiny", tmp_path).name == "tiny"
    for name in ("../tiny", "/etc/passwd", "tiny\x00"):
        with pytest.raises(SuiteError, match=r"suite: .* holds"):
            load_suite(name, tmp_path)
    with pytest.raises(SuiteError, match=r"no suite 'small' in .* \(available: tiny\); pass --board DIR"):
        load_suite("small", tmp_path)
    (tmp_path / "suites" / "other.json").write_text(json.dumps(TINY_SUITE))
    with pytest.raises(SuiteError, match="name is 'tiny' but the file is other.json"):
        load_suite("other", tmp_path)
    (tmp_path / "suites" / "bad.json").write_text("{")
    with pytest.raises(SuiteError, match="bad.json is not valid JSON"):
        load_suite("bad", tmp_path)


def test_the_board_directory_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FBENV_BOARD", str(tmp_path))
    assert default_board() == tmp_path
    monkeypatch.delenv("FBENV_BOARD")
    monkeypatch.chdir(tmp_path)
    assert default_board() == BOARD  # no ./leaderboards here: the checkout's own
    write_suite(tmp_path / "leaderboards", TINY_SUITE)
    assert default_board() == Path("leaderboards")
