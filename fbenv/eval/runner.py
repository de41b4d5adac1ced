"""``fbenv eval``: run an agent on envs × feedback conditions, write results, metrics, a table and a plot.

A run is described by :class:`EvalConfig`. Every condition of an env uses the same reset seeds
(``seed``, ``seed + 1``, ...), so feedback kinds are compared on the same instances (paired). Results
go to ``OUT/episodes.jsonl`` as each episode finishes (:mod:`fbenv.eval.results`), so a rerun with the
same settings skips what is done and a killed run loses no finished episode; then the metrics of
everything in the directory go to ``summary.json`` and ``summary.md`` and the plot to
``success_by_turn.png``, all recomputable later with ``fbenv report OUT``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import fbenv
from fbenv.eval.metrics import summarize
from fbenv.eval.results import ResultsWriter, read_records
from fbenv.eval.rollout import EpisodeSpec, RolloutStats, rollout

SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
PLOT = "success_by_turn.png"


@dataclass
class EvalConfig:
    """What ``fbenv eval`` runs.

    Attributes:
        envs: env ids (the ``fbenv/`` prefix may be left out).
        feedback: conditions: a feedback kind (``text``), ``KIND:SIMULATOR`` (``text:misleading-critic``),
            or ``all`` (every kind each env supports).
        agent: an agent spec (see :mod:`fbenv.agents.base`).
        episodes: episodes per env × condition.
        seed: the first reset seed; episode i uses ``seed + i``.
        out: the results directory.
        max_turns: replies per episode.
        env_kwargs: further ``gym.make`` kwargs for every env (``--set``).
        concurrency: envs in flight at once (the agent's largest batch).
        ray: run across a Ray cluster (a local one unless ``RAY_ADDRESS`` is set).
        ray_workers: Ray workers (each runs its own agent and envs).
        suite: for a leaderboard suite run, the suite's name, version and hash; the suite's plan
            then replaces envs, feedback, episodes and seed (see :mod:`fbenv.leaderboard.suites`).
    """

    envs: list[str]
    feedback: list[str]
    agent: str
    episodes: int = 20
    seed: int = 0
    out: str = "results"
    max_turns: int = 5
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 32
    ray: bool = False
    ray_workers: int = 2
    suite: dict[str, Any] | None = None

    def identity(self) -> dict[str, Any]:
        """What makes results comparable: a directory only ever holds one identity's episodes."""
        identity = {"agent": self.agent, "max_turns": self.max_turns, "env_kwargs": self.env_kwargs,
                    "fbenv_version": fbenv.__version__}
        if self.suite is not None:
            identity["suite"] = self.suite
        return identity


def resolve_env(name: str) -> str:
    """The registered id for ``name`` (``Math-v0`` or ``fbenv/Math-v0``)."""
    for candidate in (name, f"fbenv/{name}"):
        if candidate in fbenv.ENVS:
            return candidate
    raise ValueError(f"unknown env id {name!r}; known ids: {', '.join(fbenv.ENVS)} (see `fbenv list`)")


def supported_kinds(env_id: str) -> tuple[str, ...]:
    """The feedback kinds an env supports, from its task class (no env is built)."""
    from fbenv.tasks import get_task

    task = fbenv.ENVS[env_id][1].get("task")
    return tuple(get_task(task).feedback_kinds) if isinstance(task, str) else ()


def plan(config: EvalConfig) -> list[EpisodeSpec]:
    """Every episode of the run, condition by condition, in a fixed order."""
    if config.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {config.episodes}")
    if config.max_turns < 1:
        raise ValueError(f"--max-turns must be >= 1, got {config.max_turns}")
    specs: list[EpisodeSpec] = []
    for name in config.envs:
        env_id = resolve_env(name)
        kinds = supported_kinds(env_id)
        conditions = list(kinds) if "all" in config.feedback else list(config.feedback)
        usable = [c for c in conditions if c.partition(":")[0] in kinds]
        if not usable:
            raise ValueError(f"{env_id} supports feedback {', '.join(kinds)}; none of {', '.join(conditions)}")
        for condition in usable:
            kind, _, simulator = condition.partition(":")
            kwargs: dict[str, Any] = {**config.env_kwargs, "feedback": kind, "max_turns": config.max_turns}
            if simulator:
                kwargs["simulator"] = simulator
            for i in range(config.episodes):
                specs.append(EpisodeSpec(env_id, kwargs, config.seed + i, condition))
    return specs


def run_eval(
    config: EvalConfig,
    *,
    progress: bool = True,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    stats: RolloutStats | None = None,
    specs: list[EpisodeSpec] | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) ``config``; write results, summary and plot; return the summary rows.

    ``specs`` replaces :func:`plan`'s episodes (a leaderboard suite's plan). ``stats`` (local or Ray) is
    filled with the time spent building the agent(s) and, per step, in envs vs the agent.
    """
    specs = plan(config) if specs is None else specs
    out = Path(config.out)
    with ResultsWriter(out, config.identity()) as writer:
        todo = [spec for spec in specs if spec.key not in writer.done]
        if todo:
            records = _ray_rollout(config, todo, stats) if config.ray else _local_rollout(config, todo, stats)
            with _progress(progress, len(specs), len(specs) - len(todo), config.agent) as advance:
                for record in records:
                    writer.append(record)
                    advance()
                    if on_record is not None:
                        on_record(record)
    return report(out)


def _local_rollout(config: EvalConfig, todo: list[EpisodeSpec], stats: RolloutStats | None
                   ) -> Iterator[dict[str, Any]]:
    from fbenv.agents import make_agent

    start = time.perf_counter()
    agent = make_agent(config.agent)
    if stats is not None:
        stats.startup_s += time.perf_counter() - start
    return rollout(agent, todo, concurrency=config.concurrency, stats=stats)


def _ray_rollout(config: EvalConfig, todo: list[EpisodeSpec], stats: RolloutStats | None
                 ) -> Iterable[dict[str, Any]]:
    from fbenv.eval.distributed import ray_rollout

    return ray_rollout(config.agent, todo, workers=config.ray_workers, concurrency=config.concurrency, stats=stats)


def report(out: str | Path, *, plot: bool = True) -> list[dict[str, Any]]:
    """Recompute every metric from ``OUT/episodes.jsonl``; write summary.json, summary.md and the plot."""
    out = Path(out)
    rows = summarize(read_records(out))
    (out / SUMMARY_JSON).write_text(json.dumps(rows, indent=2) + "\n")
    (out / SUMMARY_MD).write_text(markdown_table(rows))
    if plot and rows:
        from fbenv.eval.plots import plot_success_by_turn

        plot_success_by_turn(rows, out / PLOT)
    return rows


#: The columns of the summary table: (header, metric name).
COLUMNS = (
    ("first try", "first_try"),
    ("success@max", None),
    ("succ|fail@2", "succ_given_fail@2"),
    ("turns to solve", "turns_to_solve"),
    ("incorporation", "incorporation"),
    ("repetition", "repetition"),
    ("gain/turn", "gain_per_turn"),
    ("flip rate", "flip_rate"),
)


def _cell(row: dict[str, Any], name: str | None, digits: int = 3) -> str:
    if name is None:
        ks = [int(key.split("@")[1]) for key in row if key.startswith("success@")]
        name = f"success@{max(ks)}" if ks else ""
    estimate = row.get(name)
    if not estimate or estimate["value"] is None:
        return "-"
    return f"{estimate['value']:.{digits}f} [{estimate['low']:.{digits}f}, {estimate['high']:.{digits}f}]"


def table_rows(rows: list[dict[str, Any]], digits: int = 3) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the summary table (values with their 95% intervals)."""
    headers = ["agent", "env", "feedback", "n", *(header for header, _ in COLUMNS)]
    cells = [[row["agent"], row["env_id"].removeprefix("fbenv/"), row["condition"], str(row["episodes"]),
              *(_cell(row, name, digits) for _, name in COLUMNS)] for row in rows]
    return headers, cells


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table (values with bootstrap 95% intervals)."""
    headers, cells = table_rows(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(line) + " |" for line in cells]
    return "\n".join(lines) + "\n"


def print_table(rows: list[dict[str, Any]], title: str = "fbenv eval") -> None:
    """Print the summary with rich (plain text when output is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    headers, cells = table_rows(rows, digits=2)
    table = Table(title=f"{title} (95% bootstrap intervals)", show_lines=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for line in cells:
        table.add_row(*line)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: do not squeeze the table into 80 columns
        console = Console(width=240)
    console.print(table)


class _progress:
    """A rich progress bar over episodes (a no-op when disabled)."""

    def __init__(self, enabled: bool, total: int, done: int, label: str) -> None:
        self.enabled, self.total, self.done, self.label = enabled, total, done, label
        self._bar: Any = None

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn())
        self._bar.start()
        task = self._bar.add_task(f"eval {self.label}", total=self.total, completed=self.done)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def config_from_dict(data: dict[str, Any]) -> EvalConfig:
    """An EvalConfig from a JSON object (suites, Ray workers)."""
    return EvalConfig(**data)


def config_to_dict(config: EvalConfig) -> dict[str, Any]:
    """The JSON-able form of ``config``."""
    return asdict(config)
