"""``fbenv demo``: the whole loop on a CPU in a few minutes, with nothing to download.

It trains (first run) or loads (later runs) the tiny model, evaluates it and the baselines on one
env of every family under every feedback kind that env supports, prints one table, and writes a
results directory: one ``fbenv eval`` directory per agent (resumable, recomputable with ``fbenv
report``), plus ``summary.md`` and ``success_by_turn.png`` over all agents together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fbenv
from fbenv.eval.metrics import summarize
from fbenv.eval.results import read_records
from fbenv.eval.rollout import EpisodeSpec
from fbenv.eval.runner import EvalConfig, markdown_table, plan, print_table, run_eval

#: The env the demo shows for each family, in order of preference (the first registered one is used).
FAMILY_ENVS: dict[str, tuple[str, ...]] = {
    "math": ("fbenv/Math-v0",),
    "code": ("fbenv/HumanEval-v0",),
    "search": ("fbenv/Search-v0",),
    "conversation": ("fbenv/Recommend-v0", "fbenv/Clarify-v0"),
}
#: Per-env kwargs for the demo: Math-v0 at difficulty 1, the level the tiny model is trained for (at the
#: default level 2 it would rarely be right, and feedback could not show what it changes).
ENV_KWARGS: dict[str, dict[str, Any]] = {"fbenv/Math-v0": {"difficulty": 1}}
#: The agents the demo compares: the tiny model, two floors and the upper bound.
AGENTS = ("tiny", "random", "fixed", "oracle")


@dataclass
class DemoConfig:
    """What ``fbenv demo`` runs.

    Attributes:
        out: the results directory.
        episodes: episodes per env × feedback kind × agent.
        max_turns: replies per episode.
        agents: agent specs to compare.
        envs: env ids (default: one per family, see :data:`FAMILY_ENVS`).
        model: where the tiny model lives (default: its cache directory).
        seed: the first reset seed.
    """

    out: str = "fbenv-demo"
    episodes: int = 8
    max_turns: int = 3
    agents: tuple[str, ...] = AGENTS
    envs: list[str] = field(default_factory=list)
    model: str | None = None
    seed: int = 0


def demo_envs() -> list[str]:
    """One registered env per family."""
    chosen = []
    for candidates in FAMILY_ENVS.values():
        env_id = next((c for c in candidates if c in fbenv.ENVS), None)
        if env_id is not None:
            chosen.append(env_id)
    return chosen


def run_demo(config: DemoConfig, *, progress: bool = True, log: Any = print) -> list[dict[str, Any]]:
    """Train or load the tiny model, evaluate every agent, write and print the results; return the rows."""
    from fbenv.agents.tiny_model import ensure_tiny_model

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    model = ensure_tiny_model(config.model)
    log(f"tiny model: {model}")
    envs = config.envs or demo_envs()
    records: list[dict[str, Any]] = []
    for spec in config.agents:
        agent = f"tiny:{model}" if spec == "tiny" else spec
        directory = out / _safe(spec)
        log(f"evaluating {spec} on {', '.join(envs)} under every feedback kind ...")
        eval_config = EvalConfig(envs=envs, feedback=["all"], agent=agent, episodes=config.episodes,
                                 seed=config.seed, out=str(directory), max_turns=config.max_turns)
        specs = [EpisodeSpec(s.env_id, {**ENV_KWARGS.get(s.env_id, {}), **s.kwargs}, s.seed, s.condition)
                 for s in plan(eval_config)]
        run_eval(eval_config, progress=progress, specs=specs)
        records += read_records(directory)
    rows = summarize(records)
    (out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "summary.md").write_text(markdown_table(rows))
    from fbenv.eval.plots import plot_success_by_turn

    plot_success_by_turn(rows, out / "success_by_turn.png", title="fbenv demo: success within k turns")
    print_table(rows, title="fbenv demo")
    log(f"results: {out}/  (per agent: episodes.jsonl, summary.md; all agents: summary.md, success_by_turn.png)")
    return rows


def _safe(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in spec)[:64] or "agent"
