"""`fbenv eval` and `fbenv report` end to end: plan, resume, summary files, plot, Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fbenv.cli import main
from fbenv.eval.results import read_records
from fbenv.eval.rollout import RolloutStats
from fbenv.eval.runner import EvalConfig, plan, run_eval


def test_plan_pairs_conditions_on_the_same_seeds() -> None:
    specs = plan(EvalConfig(envs=["Math-v0"], feedback=["text", "binary:judge"], agent="random", episodes=3, seed=7))
    assert [(s.condition, s.seed) for s in specs] == [("text", 7), ("text", 8), ("text", 9), ("binary:judge", 7),
                                                      ("binary:judge", 8), ("binary:judge", 9)]
    assert specs[3].kwargs == {"feedback": "binary", "max_turns": 5, "simulator": "judge"}
    all_kinds = {s.condition for s in plan(EvalConfig(envs=["fbenv/Math-v0"], feedback=["all"], agent="x"))}
    assert all_kinds == {"none", "unary", "binary", "text", "process"}
    with pytest.raises(ValueError, match="unknown env id"):
        plan(EvalConfig(envs=["Nope-v0"], feedback=["text"], agent="x"))
    with pytest.raises(ValueError, match="supports feedback"):
        plan(EvalConfig(envs=["Math-v0"], feedback=["implicit"], agent="x"))


def test_cli_eval_writes_results_resumes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["eval", "--env", "Math-v0", "--feedback", "text", "none", "--agent", "oracle", "--episodes", "4",
            "--out", str(out), "--max-turns", "2", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "oracle" in printed and "1.00 [1.00, 1.00]" in printed
    records = read_records(out)
    assert len(records) == 8 and all(r["solved"] for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert {row["condition"] for row in summary} == {"text", "none"}
    assert summary[0]["first_try"]["value"] == 1.0
    assert "| oracle | Math-v0 | text | 4 |" in (out / "summary.md").read_text()
    assert (out / "success_by_turn.png").read_bytes()[:4] == b"\x89PNG"

    before = (out / "episodes.jsonl").read_bytes()
    assert main([*args[:-6], "6", *args[-5:]]) == 0  # two more episodes per condition: only those run
    assert len(read_records(out)) == 12 and (out / "episodes.jsonl").read_bytes().startswith(before)
    assert main(["report", str(out)]) == 0 and "oracle" in capsys.readouterr().out


def test_cli_errors_name_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o")
    assert main(["eval", "--env", "Math-v0", "--agent", "random", "--episodes", "1", "--out", out,
                 "--no-progress"]) == 0
    assert main(["eval", "--env", "Math-v0", "--agent", "oracle", "--episodes", "1", "--out", out]) == 2
    assert "another --out" in capsys.readouterr().err
    assert main(["eval", "--env", "Math-v0", "--agent", "nonsense", "--episodes", "1", "--out", out + "2"]) == 2
    assert "unknown agent spec" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_ray_gives_the_same_records_as_a_local_run(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    common = {"envs": ["Math-v0"], "feedback": ["text", "unary"], "agent": "random", "episodes": 12, "seed": 3,
              "max_turns": 3}
    local_stats, ray_stats = RolloutStats(), RolloutStats()
    run_eval(EvalConfig(**common, out=str(tmp_path / "local")), progress=False, stats=local_stats)
    run_eval(EvalConfig(**common, out=str(tmp_path / "ray"), ray=True, ray_workers=2), progress=False,
             stats=ray_stats)
    # The workers' stats come back with their shards: same episodes and steps as the local run.
    assert (ray_stats.episodes, ray_stats.steps) == (local_stats.episodes, local_stats.steps)
    assert ray_stats.episodes == 24
    assert ray_stats.startup_s > 0 and ray_stats.agent_calls > 0 and ray_stats.env_s > 0
    volatile = {"elapsed_s"}

    def stable(path: Path) -> dict:
        return {r["key"]: {k: v for k, v in r.items() if k not in volatile} for r in read_records(path)}

    local, remote = stable(tmp_path / "local"), stable(tmp_path / "ray")
    assert len(local) == 24 and local == remote
