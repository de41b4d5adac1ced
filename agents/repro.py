"""Miniature reproductions of two feedback-training claims on a CPU, with the tiny model; one command each.

* ``leti`` (LeTI: with textual feedback a model reaches the accuracy of binary-feedback training in
  under half the gradient steps): the same multi-turn GRPO run under ``feedback="text"`` (with the
  feedback-conditioned refinement samples, :mod:`fbenv.agents.grpo` ``refine_weight``) and under
  ``feedback="binary"``, several seeds; the measure is the number of iterations (optimizer steps)
  until greedy first-try accuracy on held-out problems reaches a fixed threshold.
* ``ufo`` (UFO: multi-turn RL on unary feedback raises multi-turn success by up to 14% and keeps
  single-turn accuracy): multi-turn training with "Let's try again." (UFO's 1/2^t turn discount and
  repetition penalty) against single-turn training (``turns=1``), both evaluated on multi-turn
  unary episodes; the measure is Succ@k (success within k turns) and success at turn k given failure
  before, on held-out problems.

Every run is a plain :func:`fbenv.agents.grpo.train` (its own ``metrics.csv`` and curve under
``--runs``); the study writes ``OUT/<study>.md`` (tables), ``OUT/<study>.json`` (every number) and
``OUT/<study>.png``. Intervals are 95% bootstrap intervals: over held-out episodes pooled across seeds
for accuracies, over seeds for steps-to-threshold. Whatever they show is reported.

    python -m fbenv.agents.repro leti --seeds 0 1 2
    python -m fbenv.agents.repro ufo --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fbenv.agents.grpo import GRPOArgs, evaluation_records, load_policy, train
from fbenv.eval.metrics import BOOTSTRAP_SAMPLES

STUDIES = ("leti", "ufo")


@dataclass
class ReproArgs:
    """One study: which, on what model, how many seeds, how much training."""

    study: str = "leti"
    """``"leti"`` (text vs binary feedback: steps to an accuracy) or ``"ufo"`` (multi- vs single-turn: Succ@k)."""
    model: str = ""
    """The starting checkpoint (empty: the tiny model, trained on first use and cached)."""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Training seeds; each condition runs once per seed."""
    iterations: int = 60
    """Optimizer steps per run."""
    prompts_per_iteration: int = 16
    """Problems per iteration."""
    group_size: int = 8
    """Episodes per problem."""
    max_new_tokens: int = 40
    """New tokens per reply."""
    learning_rate: float = 2e-5
    """AdamW learning rate."""
    difficulty: int = 1
    """Math-v0 difficulty of training and evaluation problems."""
    eval_every: int = 5
    """Held-out evaluation every this many iterations (the learning curve)."""
    eval_episodes: int = 200
    """Held-out episodes per evaluation during training."""
    final_episodes: int = 200
    """Held-out episodes of the final evaluation of each run (the tables)."""
    threshold: float = 0.0
    """leti: the first-try accuracy to reach (0: the initial accuracy + 0.05)."""
    out: str = "docs/trainers"
    """Where tables, numbers and plots go."""
    runs: str = "runs/repro"
    """Where the training runs (checkpoints, metrics.csv) go."""


def conditions(args: ReproArgs) -> dict[str, dict[str, Any]]:
    """The GRPOArgs overrides of each condition of the study."""
    if args.study == "leti":
        common = {"turns": 2, "eval_turns": 1}
        return {"text": {**common, "feedback": "text", "refine_weight": 0.5},
                "binary": {**common, "feedback": "binary"}}
    if args.study == "ufo":
        common = {"feedback": "unary", "eval_turns": 3}
        return {"multi-turn": {**common, "turns": 3, "turn_discount": 0.5, "repeat_penalty": 0.25},
                "single-turn": {**common, "turns": 1}}
    raise ValueError(f"unknown study {args.study!r}; choose one of {', '.join(STUDIES)}")


def run_study(args: ReproArgs) -> dict[str, Any]:
    """Train every condition × seed, evaluate the final checkpoints, write tables, numbers and a plot."""
    model = args.model or str(_tiny_model())
    out, runs = Path(args.out), Path(args.runs) / args.study
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict[str, Any] = {"study": args.study, "args": dataclasses.asdict(args), "model": model, "runs": {}}
    results["initial"] = initial_solved_turns(args, model)
    for name, overrides in conditions(args).items():
        for seed in args.seeds:
            grpo = GRPOArgs(model=model, out=str(runs / f"{name}-seed{seed}"), seed=seed, iterations=args.iterations,
                            prompts_per_iteration=args.prompts_per_iteration, group_size=args.group_size,
                            max_new_tokens=args.max_new_tokens, learning_rate=args.learning_rate,
                            env_kwargs={"difficulty": args.difficulty}, eval_every=args.eval_every,
                            eval_episodes=args.eval_episodes, save_every=0, keep_checkpoints=1, tensorboard=False,
                            quiet=True, device="cpu", generator="hf", **overrides)
            tick = time.perf_counter()
            final = train(grpo)
            records = final_records(grpo, final, args.final_episodes)
            results["runs"][f"{name}/{seed}"] = {
                "condition": name, "seed": seed, "train_s": round(time.perf_counter() - tick, 1),
                "curve": _curve(Path(grpo.out) / "metrics.csv"), "final": _solved_turns(records),
                "eval_turns": grpo.eval_turns}
            print(f"{name} seed {seed}: {time.perf_counter() - tick:.0f}s", flush=True)
    results["total_s"] = round(time.perf_counter() - start, 1)
    results["summary"] = summarize_study(args, results)
    (out / f"{args.study}.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / f"{args.study}.md").write_text(markdown(args, results))
    plot_study(args, results, out / f"{args.study}.png")
    return results


def initial_solved_turns(args: ReproArgs, model: str) -> list[int]:
    """The untrained model on the final evaluation's episodes (the row every condition starts from)."""
    overrides = next(iter(conditions(args).values()))
    grpo = GRPOArgs(model=model, max_new_tokens=args.max_new_tokens, env_kwargs={"difficulty": args.difficulty},
                    **overrides)
    return _solved_turns(final_records(grpo, Path(model), args.final_episodes))


def final_records(grpo: GRPOArgs, checkpoint: Path, episodes: int) -> list[dict[str, Any]]:
    """Greedy held-out episodes of a trained checkpoint."""
    import torch

    from fbenv.agents.generation import HFSampler, PolicyAgent

    tokenizer, policy = load_policy(str(checkpoint), grpo, torch.device("cpu"))
    agent = PolicyAgent(tokenizer, HFSampler(policy, tokenizer), max_tokens=grpo.max_new_tokens, temperature=0.0)
    return evaluation_records(grpo, agent, episodes)


def _solved_turns(records: Sequence[dict[str, Any]]) -> list[int]:
    """Per episode: the turn of its first right attempt, 0 when unsolved (all the tables need)."""
    return [int(r["solved_turn"] or 0) for r in records]


def _curve(metrics_csv: Path) -> list[dict[str, float]]:
    import csv

    with metrics_csv.open() as handle:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]


def bootstrap(values: np.ndarray, statistic: Any = np.mean, seed: int = 0) -> tuple[float, float, float]:
    """The statistic of ``values`` with a 95% percentile-bootstrap interval."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    draws = [statistic(values[rng.integers(0, len(values), len(values))]) for _ in range(BOOTSTRAP_SAMPLES)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(statistic(values)), float(low), float(high)


def summarize_study(args: ReproArgs, results: dict[str, Any]) -> dict[str, Any]:
    """Per condition: final Succ@k (pooled episodes) and, for leti, iterations to the threshold (per seed)."""
    names = list(conditions(args))
    runs = results["runs"]
    summary: dict[str, Any] = {}
    horizon = max(run["eval_turns"] for run in runs.values())
    initial = float(np.mean([run["curve"][0]["eval_first_try"] for run in runs.values()]))
    threshold = args.threshold or round(initial + 0.05, 3)
    for name in names:
        mine = [run for run in runs.values() if run["condition"] == name]
        solved = np.array([turn for run in mine for turn in run["final"]])
        row: dict[str, Any] = {}
        for k in range(1, horizon + 1):
            row[f"success@{k}"] = bootstrap((solved >= 1) & (solved <= k))
        for k in range(2, horizon + 1):
            failed_before = (solved == 0) | (solved >= k)
            row[f"succ_given_fail@{k}"] = bootstrap(solved[failed_before] == k) if failed_before.any() else None
        if args.study == "leti":
            steps = [_steps_to(run["curve"], threshold, args.iterations) for run in mine]
            row["steps_to_threshold"] = steps
            row["steps_mean"] = bootstrap(np.array(steps, dtype=float))
        summary[name] = row
    summary["initial_first_try"] = initial
    if results.get("initial"):
        solved = np.array(results["initial"])
        summary["untrained"] = {f"success@{k}": bootstrap((solved >= 1) & (solved <= k)) for k in range(1, horizon + 1)}
    if args.study == "leti":
        summary["threshold"] = threshold
    a, b = (summary[name][f"success@{horizon}"][0] for name in names)
    summary["difference"] = {f"success@{horizon}": a - b, "of": names}
    return summary


def _steps_to(curve: Sequence[dict[str, float]], threshold: float, iterations: int) -> int:
    """The first evaluated iteration whose first-try accuracy reaches ``threshold`` (iterations + 1 if none)."""
    for row in curve:
        if row.get("eval_first_try", -1.0) >= threshold:
            return int(row["iteration"])
    return iterations + 1


def _interval(value: Any) -> str:
    if value is None:
        return "-"
    point, low, high = value
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def markdown(args: ReproArgs, results: dict[str, Any]) -> str:
    """The study's tables, with the command that made them."""
    summary, names = results["summary"], list(conditions(args))
    horizon = max(run["eval_turns"] for run in results["runs"].values())
    lines = [f"Command: `{command(args)}`"
             f" (model: `{Path(results['model']).name}`; {len(args.seeds)} seeds; {args.prompts_per_iteration} problems"
             f" × {args.group_size} episodes per iteration; {args.final_episodes} held-out episodes per run at the end;"
             f" {results['total_s'] / 60:.1f} min on this CPU).", ""]
    metrics = [f"success@{k}" for k in range(1, horizon + 1)] + [f"succ_given_fail@{k}" for k in range(2, horizon + 1)]
    if args.study == "leti":
        lines += [f"Threshold: first-try accuracy ≥ {summary['threshold']:.3f} "
                  f"(initial {summary['initial_first_try']:.3f}); never reached counts as iterations + 1.",
                  "", "| condition | iterations to threshold, per seed | mean [95% CI over seeds] "
                  "| final first-try [95% CI] |",
                  "| --- | --- | --- | --- |"]
        for name in names:
            row = summary[name]
            lines.append(f"| {name} | {', '.join(map(str, row['steps_to_threshold']))} | {_interval(row['steps_mean'])}"
                         f" | {_interval(row['success@1'])} |")
        if "untrained" in summary:
            lines.append(f"| untrained | - | - | {_interval(summary['untrained']['success@1'])} |")
    else:
        lines += ["| condition | " + " | ".join(metrics) + " |", "| --- |" + " --- |" * len(metrics)]
        for name in (["untrained"] if "untrained" in summary else []) + names:
            lines.append(f"| {name} | " + " | ".join(_interval(summary[name].get(m)) for m in metrics) + " |")
    lines += ["", "Per seed (final held-out success within the evaluation's turns):", "",
              "| condition | seed | " + " | ".join(f"success@{k}" for k in range(1, horizon + 1)) + " |",
              "| --- | --- |" + " --- |" * horizon]
    for run in results["runs"].values():
        solved = np.array(run["final"])
        cells = [f"{np.mean((solved >= 1) & (solved <= k)):.3f}" for k in range(1, horizon + 1)]
        lines.append(f"| {run['condition']} | {run['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def command(args: ReproArgs) -> str:
    """The command line that runs ``args`` (the flags that differ from the defaults)."""
    defaults, parts = ReproArgs(), ["python -m fbenv.agents.repro", args.study]
    for item in dataclasses.fields(ReproArgs)[1:]:
        value = getattr(args, item.name)
        if value != getattr(defaults, item.name) or item.name == "seeds":
            shown = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"--{item.name.replace('_', '-')} {shown}")
    return " ".join(parts)


def plot_study(args: ReproArgs, results: dict[str, Any], png: Path) -> Path:
    """Held-out accuracy against iteration: a thin line per seed, a thick one per condition's mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizon = max(run["eval_turns"] for run in results["runs"].values())
    metric = "eval_first_try" if args.study == "leti" else f"eval_success@{horizon}"
    figure, axes = plt.subplots(figsize=(6, 3.8))
    for color, name in zip(("tab:blue", "tab:orange"), conditions(args), strict=False):
        curves = [[(row["iteration"], row[metric]) for row in run["curve"] if metric in row]
                  for run in results["runs"].values() if run["condition"] == name]
        for curve in curves:
            axes.plot(*zip(*curve, strict=True), color=color, alpha=0.3, linewidth=1)
        iterations = sorted({x for curve in curves for x, _ in curve})
        means = [np.mean([y for curve in curves for x, y in curve if x == i]) for i in iterations]
        axes.plot(iterations, means, color=color, linewidth=2.5, marker="o", label=name)
    if args.study == "leti":
        axes.axhline(results["summary"]["threshold"], color="grey", linestyle="--", linewidth=1, label="threshold")
    axes.set(xlabel="iteration (optimizer step)", ylabel=metric.removeprefix("eval_") + " (held-out, greedy)",
             title=f"{args.study}: {' vs '.join(conditions(args))}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(png, dpi=120)
    plt.close(figure)
    return png


def _tiny_model() -> Path:
    try:
        from fbenv.agents.tiny_model import ensure_tiny_model
    except ImportError as error:
        raise ValueError("the tiny model module is not installed here; pass --model PATH") from error
    return ensure_tiny_model()


def main(argv: list[str] | None = None) -> int:
    """``python -m fbenv.agents.repro {leti,ufo} [--seeds 0 1 2] [--iterations N] ...``."""
    parser = argparse.ArgumentParser(prog="python -m fbenv.agents.repro", description=__doc__.split("\n\n")[0])
    parser.add_argument("study", choices=STUDIES)
    defaults = ReproArgs()
    for item in dataclasses.fields(ReproArgs)[1:]:
        default = getattr(defaults, item.name)
        flag = "--" + item.name.replace("_", "-")
        if isinstance(default, list):
            parser.add_argument(flag, type=int, nargs="+", default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)
    parser.add_argument("--report", action="store_true",
                        help="rewrite the table and plot from OUT/<study>.json without training")
    namespace = vars(parser.parse_args(argv))
    report = namespace.pop("report")
    args = ReproArgs(**namespace)
    if report:
        results = json.loads((Path(args.out) / f"{args.study}.json").read_text())
        args = ReproArgs(**results["args"])
        results["summary"] = summarize_study(args, results)
        (Path(args.out) / f"{args.study}.json").write_text(json.dumps(results, indent=1) + "\n")
        (Path(args.out) / f"{args.study}.md").write_text(markdown(args, results))
        plot_study(args, results, Path(args.out) / f"{args.study}.png")
    else:
        results = run_study(args)
    print(markdown(args, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
