"""`fbenv demo` end to end on a quickly trained tiny model: every agent, every kind, table, plot, results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from fbenv.agents.tiny_model import Recipe, train_tiny_model
from fbenv.eval.demo import DemoConfig, demo_envs, run_demo
from fbenv.eval.results import read_records

QUICK = Recipe(demos=300, steps=4, own_steps=2, own_problems=12, batch_size=8, hidden_size=32, layers=1, heads=2,
               intermediate_size=64, warmup=1, eval_episodes=0)


def test_demo_envs_cover_every_registered_family() -> None:
    import fbenv

    assert {fbenv.ENVS[env_id][0] for env_id in demo_envs()} == {family for family, _ in fbenv.ENVS.values()}


@pytest.mark.slow
def test_demo_runs_every_agent_under_every_kind(tmp_path: Path) -> None:
    model = train_tiny_model(tmp_path / "model", QUICK)
    out = tmp_path / "demo"
    rows = run_demo(DemoConfig(out=str(out), episodes=1, max_turns=1, model=str(model),
                               envs=["fbenv/Math-v0", "fbenv/Recommend-v0"]), progress=False, log=lambda _: None)
    envs = ("fbenv/Math-v0", "fbenv/Recommend-v0")
    agents = ("tiny", "random", "fixed", "oracle")
    assert {(r["agent"], r["env_id"]) for r in rows} == {(agent, env) for agent in agents for env in envs}
    assert {r["condition"] for r in rows if r["env_id"] == "fbenv/Recommend-v0"} >= {"implicit", "text"}
    assert all(r["first_try"]["value"] == 1.0 for r in rows if r["agent"] == "oracle")
    math = read_records(out / "tiny")[0]
    assert json.loads(math["env_spec"])["kwargs"]["difficulty"] == 1  # the level the tiny model is trained for
    assert (out / "success_by_turn.png").stat().st_size > 1000 and "| oracle |" in (out / "summary.md").read_text()
