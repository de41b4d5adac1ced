"""Steps per second of fbenv's math envs, side by side with GEM and raw reasoning-gym, in one run.

What it measures
    For every fbenv math env (``fbenv/Math-v0``, ``fbenv/ReasoningGym-v0`` on ``basic_arithmetic``,
    ``fbenv/MathFile-v0`` on its shipped 25-problem fixture) under every feedback kind (none, unary,
    binary, text, process), how many ``env.step`` calls per second it serves when the agent's reply
    is correct and when it is wrong. The envs are built with ``gym.make`` and its default wrappers
    (order enforcing, passive env checker), exactly as users get them, with ``max_turns=5``.

    In the same process it measures
      * GEM's ``MathEnv`` (``gem.make("math:GSM8K", dataset=...)``) on the same question/answer
        pairs as ``MathFile-v0``, given as an in-memory ``datasets.Dataset``: once as ``gem.make``
        builds it (``use_mp=True``: answers are graded in a one-process pool) and once with
        ``use_mp=False`` (graded in-process under a SIGALRM timeout);
      * GEM's ``rg:basic_arithmetic`` on the same reasoning-gym items as ``ReasoningGym-v0``;
      * raw reasoning-gym: ``dataset[i]`` (generate), then ``reasoning_gym.utils.extract_answer``
        on a completion ``<answer>X</answer>`` and ``dataset.score_answer`` (score), on the same
        items: what a training loop over raw reasoning-gym pays per question.

Why
    fbenv's claim is that its feedback machinery (verdicts, simulators, multi-turn bookkeeping) costs
    little next to what an LLM training loop spends per step, and that it is faster than GEM on the
    same data. Three ratios are checked against targets (see ``TARGETS``): MathFile-v0 ÷ GEM
    MathEnv steps/s (≥ 20×), Math-v0 with process feedback ÷ GEM ``rg:basic_arithmetic`` per
    question served, i.e. reset+step/s with correct replies (≥ 1×, a different task: fbenv's
    exact-process env against GEM's cheapest math env; step/s alone is not like for like, since
    GEM's rg env generates in reset and only compares strings in step), and the cost of one
    ReasoningGym-v0 reset+step ÷ one raw generate+score (≤ 1.2×).

How (fairness)
    * Same items on every side of a comparison: each cell cycles over a fixed item set (the 25
      pairs; items ``0..items-1`` of reasoning-gym's seed 0, which GEM and raw reasoning-gym are
      given too; instances ``0..items-1`` of Math-v0), and every timed block covers whole cycles.
      GEM's ``rg:`` env is remade (with the same seed) after each cycle instead of rolling over to a
      new seed, which is the same work GEM's own roll-over does.
    * Same answers: a correct reply is the reference answer in the form each env asks for (fbenv:
      the instance's ``oracle_action``; GEM: ``\\boxed{reference}``); a wrong reply is the
      reference plus one in the same form (for Math-v0, the oracle's steps with the last result
      and the answer off by one, so process feedback has a wrong step to find). Every step's
      outcome is checked, so a cell cannot silently measure the wrong path.
    * Two rates per cell, both summed from ``time.perf_counter`` spans around each call (picking
      the reply to send is outside them): **step/s** counts only the time inside ``step`` (the
      headline, and what the "÷ GEM" ratios use), **reset+step/s** the time inside ``reset`` and
      ``step`` (the raw reasoning-gym cost ratio uses it). A correct reply ends every episode, so
      there it is one reset per step on every side; a wrong reply to an fbenv env goes on for
      ``max_turns`` steps while GEM's envs are single-turn (every step ends the episode), so
      wrong-answer reset+step rates are not like for like and are shown for information only.
    * An untimed warm-up cycle first, then ``--repeats`` timed blocks per cell sized to
      ``--seconds`` in all, run in rounds that interleave the cells (so a burst of noise from the
      machine hits one block of several cells, not every block of one); the table shows the
      median block.

Run it with ``python benchmarks/env_throughput.py`` (``--quick`` for a short run, ``--json OUT``
to keep the results); see ``benchmarks/README.md`` for setting up GEM's environment.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GEM_VENV = HERE / ".venv-gem"
GEM_REQUIREMENTS = HERE / "requirements-gem.txt"
GEM_DISTRIBUTION = "gem-llm"

FEEDBACK_KINDS = ("none", "unary", "binary", "text", "process")
ANSWERS = ("correct", "wrong")
MAX_TURNS = 5
RG_DATASET = "basic_arithmetic"
RG_SEED = 0
RG_DEFAULT_SIZE = 10_000  # ReasoningGym-v0's default size
FALLBACK_WRONG = "123456789"
_LATEX_FRACTION = re.compile(r"^\\(?P<cmd>[dt]?frac)\{(?P<num>-?\d+)\}\{(?P<den>\d+)\}$")

FBENV_ENVS: dict[str, dict[str, Any]] = {
    "fbenv/Math-v0": {},
    "fbenv/ReasoningGym-v0": {"dataset": RG_DATASET},
    "fbenv/MathFile-v0": {},
}
GEM_MATH = "GEM MathEnv (math:GSM8K + dataset=)"
GEM_MATH_LOCAL = "GEM MathEnv, use_mp=False"
GEM_RG = f"GEM rg:{RG_DATASET}"
RAW_RG = f"raw reasoning_gym {RG_DATASET}"


@dataclass(frozen=True)
class Target:
    """A ratio's pass condition: ``value >= bound`` (``at_least``) or ``value <= bound``."""

    bound: float
    at_least: bool

    def passes(self, value: float) -> bool:
        return value >= self.bound if self.at_least else value <= self.bound

    def __str__(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.bound:g}×"


TARGETS: dict[str, Target] = {
    "mathfile_vs_gem_math": Target(20.0, at_least=True),
    "math_process_vs_gem_rg": Target(1.0, at_least=True),
    "reasoning_gym_overhead": Target(1.2, at_least=False),
}


# --- answers ---------------------------------------------------------------------------------------
def off_by_one(reference: str) -> str:
    """A plausible wrong answer: the reference plus one, written the same way (``4.5`` → ``5.5``,
    ``\\frac{5}{8}`` → ``\\frac{13}{8}``); ``FALLBACK_WRONG`` for anything else."""
    text = reference.strip().replace(",", "")
    latex = _LATEX_FRACTION.match(text)
    if latex:
        numerator, denominator = int(latex["num"]), int(latex["den"])
        return f"\\{latex['cmd']}{{{numerator + denominator}}}{{{denominator}}}"
    try:
        number = Decimal(text)
        if number.is_finite():
            return str(number + 1)
    except InvalidOperation:
        pass
    try:
        value = Fraction(text) + 1
    except (ValueError, ZeroDivisionError):
        return FALLBACK_WRONG
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def wrong_steps(oracle_action: str, reference: str) -> str:
    """Math-v0's oracle reply with the last step's result and the final answer off by one."""
    wrong = off_by_one(reference)
    *steps, _answer = oracle_action.splitlines()
    if steps:
        left, _, _ = steps[-1].rpartition("=")
        steps[-1] = f"{left}= {wrong}"
    return "\n".join([*steps, f"Answer: {wrong}"])


def boxed(answer: str) -> str:
    return f"\\boxed{{{answer}}}"


# --- drivers: one env (or library) behind a uniform reset/step -----------------------------------------
class Driver(Protocol):
    """Runs episodes over a fixed cycle of items; ``reset`` and ``step`` are the timed calls."""

    label: str
    feedback: str
    cycle: int  # items in one cycle; timed blocks run whole cycles

    def rewind(self) -> None:
        """Go back to the first item (untimed, before each block)."""

    def reset(self) -> None:
        """Start an episode on the next item."""

    def prepare(self) -> None:
        """Pick the reply to send in this episode (untimed)."""

    def step(self) -> tuple[bool, bool]:
        """Send the reply; return (episode over, the env judged the reply correct)."""

    def close(self) -> None: ...


class FbenvDriver:
    """An fbenv env from ``gym.make``, reset with ``options={"task_index": i}`` for i in the cycle."""

    def __init__(self, env_id: str, feedback: str, correct: bool, items: int) -> None:
        import gymnasium as gym

        import fbenv  # noqa: F401  (registers the ids)

        self.label = env_id
        self.feedback = feedback
        kwargs = dict(FBENV_ENVS[env_id])
        if env_id == "fbenv/ReasoningGym-v0" and items > RG_DEFAULT_SIZE:
            kwargs["size"] = items  # so the cycle holds the same items as GEM's and raw reasoning-gym's
        self.env = gym.make(env_id, feedback=feedback, max_turns=MAX_TURNS, **kwargs)
        self.base = self.env.unwrapped
        self.cycle = min(items, len(self.base.task))  # type: ignore[attr-defined]
        self.correct = correct
        self.index = 0
        self.reply = ""
        self.env.reset(seed=0)

    def rewind(self) -> None:
        self.index = 0

    def reset(self) -> None:
        index = self.index
        self.index = (index + 1) % self.cycle
        self.env.reset(options={"task_index": index})

    def prepare(self) -> None:
        instance = self.base.instance  # type: ignore[attr-defined]
        if self.correct:
            self.reply = instance.oracle_action
        elif self.label == "fbenv/Math-v0":
            self.reply = wrong_steps(instance.oracle_action, instance.reference)
        else:
            self.reply = f"Answer: {off_by_one(instance.reference)}"

    def step(self) -> tuple[bool, bool]:
        _obs, _reward, terminated, truncated, info = self.env.step(self.reply)
        return terminated or truncated, info["verdict"].correct

    def close(self) -> None:
        self.env.close()


class GemMathDriver:
    """GEM's MathEnv on an in-memory ``datasets.Dataset``; single-turn, it walks its shuffled copy."""

    def __init__(self, pairs: Sequence[dict[str, str]], correct: bool, use_mp: bool) -> None:
        import datasets
        import gem

        dataset = datasets.Dataset.from_list([{"problem": p["question"], "answer": p["answer"]} for p in pairs])
        kwargs: dict[str, Any] = {} if use_mp else {"use_mp": False}
        self.env = gem.make("math:GSM8K", dataset=dataset, **kwargs)
        self.use_mp = use_mp
        self.label = GEM_MATH if use_mp else GEM_MATH_LOCAL
        self.feedback = "(reward)"
        self.cycle = len(pairs)
        self.correct = correct
        self.reply = ""

    def rewind(self) -> None:
        """Nothing to do: MathEnv serves every pair once per epoch (then reshuffles, its own cost)."""

    def reset(self) -> None:
        self.env.reset()

    def prepare(self) -> None:
        answer = str(self.env.answer)  # type: ignore[attr-defined]
        self.reply = boxed(answer if self.correct else off_by_one(answer))

    def step(self) -> tuple[bool, bool]:
        _obs, reward, terminated, truncated, _info = self.env.step(self.reply)
        return terminated or truncated, float(reward) >= 1.0

    def close(self) -> None:
        if self.use_mp:  # MathEnv.close() assumes the pool: with use_mp=False it raises AttributeError
            self.env.close()  # type: ignore[attr-defined]


class GemReasoningGymDriver:
    """GEM's ``rg:`` env on items ``0..items-1`` of reasoning-gym's seed ``RG_SEED``."""

    def __init__(self, correct: bool, items: int) -> None:
        import gem

        self._make = lambda: gem.make(f"rg:{RG_DATASET}", seed=RG_SEED, size=items)
        self.env = self._make()
        self.label = GEM_RG
        self.feedback = "(reward)"
        self.cycle = items
        self.correct = correct
        self.served = 0
        self.reply = ""

    def rewind(self) -> None:
        self.env = self._make()
        self.served = 0

    def reset(self) -> None:
        if self.served == self.cycle:  # where GEM would roll over to a new seed: same items again
            self.env = self._make()
            self.served = 0
        self.served += 1
        self.env.reset()

    def prepare(self) -> None:
        answer = str(self.env.data["answer"])  # type: ignore[attr-defined]
        self.reply = boxed(answer if self.correct else off_by_one(answer))

    def step(self) -> tuple[bool, bool]:
        _obs, reward, terminated, truncated, _info = self.env.step(self.reply)
        return terminated or truncated, float(reward) >= 1.0

    def close(self) -> None:
        pass


class RawReasoningGymDriver:
    """reasoning-gym itself: reset = ``dataset[i]``; step = its ``extract_answer`` + ``score_answer``."""

    def __init__(self, correct: bool, items: int) -> None:
        import reasoning_gym

        self.dataset = reasoning_gym.create_dataset(RG_DATASET, seed=RG_SEED, size=items)
        self.label = RAW_RG
        self.feedback = "(score)"
        self.cycle = items
        self.correct = correct
        self.index = 0
        self.entry: dict[str, Any] = {}
        self.completion = ""
        from reasoning_gym.utils import extract_answer

        self.extract = extract_answer

    def rewind(self) -> None:
        self.index = 0

    def reset(self) -> None:
        index = self.index
        self.index = (index + 1) % self.cycle
        self.entry = self.dataset[index]

    def prepare(self) -> None:
        answer = str(self.entry["answer"])
        self.completion = f"<answer>{answer if self.correct else off_by_one(answer)}</answer>"

    def step(self) -> tuple[bool, bool]:
        # What a loop over raw reasoning-gym does with a model's completion: extract, then score.
        answer = self.extract(self.completion)
        return True, self.dataset.score_answer(answer, self.entry) >= 1.0

    def close(self) -> None:
        pass


# --- timing ------------------------------------------------------------------------------------------
@dataclass
class Block:
    """One timed block: whole cycles of episodes."""

    episodes: int
    steps: int
    step_seconds: float
    reset_seconds: float


@dataclass
class Cell:
    """The result for one env × feedback × answers."""

    side: str
    env: str
    feedback: str
    answers: str
    step_per_s: float
    reset_step_per_s: float
    steps_per_block: int
    episodes_per_block: int
    blocks: list[Block] = field(default_factory=list)


def run_block(driver: Driver, episodes: int, expect_correct: bool) -> Block:
    """Run ``episodes`` episodes, timing each ``reset`` and ``step`` call, and check every outcome."""
    clock = time.perf_counter
    steps = 0
    step_seconds = reset_seconds = 0.0
    for _ in range(episodes):
        start = clock()
        driver.reset()
        reset_seconds += clock() - start
        driver.prepare()
        over = False
        while not over:
            start = clock()
            over, correct = driver.step()
            step_seconds += clock() - start
            steps += 1
            if correct != expect_correct:
                raise RuntimeError(
                    f"{driver.label} ({driver.feedback}): a {'correct' if expect_correct else 'wrong'} reply "
                    f"was judged {'correct' if correct else 'wrong'}; the benchmark would time the wrong path"
                )
    return Block(episodes, steps, step_seconds, reset_seconds)


@dataclass
class Job:
    """One cell being measured: its driver, the answers it sends, and its timed blocks so far."""

    side: str
    driver: Driver
    answers: str
    episodes: int = 0  # per timed block, whole cycles
    blocks: list[Block] = field(default_factory=list)

    @property
    def expect_correct(self) -> bool:
        return self.answers == "correct"

    def cell(self) -> Cell:
        return Cell(
            side=self.side,
            env=self.driver.label,
            feedback=self.driver.feedback,
            answers=self.answers,
            step_per_s=statistics.median(b.steps / b.step_seconds for b in self.blocks),
            reset_step_per_s=statistics.median(b.steps / (b.step_seconds + b.reset_seconds) for b in self.blocks),
            steps_per_block=self.blocks[0].steps,
            episodes_per_block=self.blocks[0].episodes,
            blocks=self.blocks,
        )


def measure(jobs: list[Job], seconds: float, repeats: int) -> list[Cell]:
    """Warm each job up for one cycle and size its blocks, then time ``repeats`` rounds of one block each.

    Rounds interleave the jobs, so a burst of machine noise lands in one block of several cells (which
    the median discards) rather than in every block of one cell.
    """
    for job in jobs:
        job.driver.rewind()
        warmup = run_block(job.driver, job.driver.cycle, job.expect_correct)
        cycle_seconds = max(warmup.step_seconds + warmup.reset_seconds, 1e-9)
        job.episodes = job.driver.cycle * max(1, math.floor(seconds / repeats / cycle_seconds))
    print(f"warmed up {len(jobs)} cells; timing {repeats} rounds", file=sys.stderr, flush=True)
    for round_number in range(repeats):
        for job in jobs:
            job.driver.rewind()
            gc.collect()
            job.blocks.append(run_block(job.driver, job.episodes, job.expect_correct))
        print(f"  round {round_number + 1}/{repeats} done", file=sys.stderr, flush=True)
    return [job.cell() for job in jobs]


def fixture_pairs() -> list[dict[str, str]]:
    """The question/reference pairs MathFile-v0 serves by default, in its order."""
    from fbenv.tasks.math_file import MathFileTask

    return [{"question": p["question"], "answer": p["reference"]} for p in MathFileTask().problems]


def make_jobs(items: int, with_gem: bool) -> list[Job]:
    jobs = [
        Job("fbenv", FbenvDriver(env_id, kind, answers == "correct", items), answers)
        for env_id in FBENV_ENVS
        for kind in FEEDBACK_KINDS
        for answers in ANSWERS
    ]
    jobs += [Job("reasoning-gym", RawReasoningGymDriver(a == "correct", items), a) for a in ANSWERS]
    if with_gem:
        pairs = fixture_pairs()
        jobs += [Job("GEM", GemReasoningGymDriver(a == "correct", items), a) for a in ANSWERS]
        jobs += [Job("GEM", GemMathDriver(pairs, a == "correct", m), a) for m in (True, False) for a in ANSWERS]
    return jobs


def run_all(args: argparse.Namespace, with_gem: bool) -> list[Cell]:
    jobs = make_jobs(args.items, with_gem)
    try:
        cells = measure(jobs, args.seconds, args.repeats)
    finally:
        for job in jobs:
            job.driver.close()
    for cell in cells:
        print(
            f"  {cell.env:<42} {cell.feedback:<9} {cell.answers:<7} {cell.step_per_s:>11,.0f} step/s "
            f"{cell.reset_step_per_s:>11,.0f} reset+step/s",
            file=sys.stderr,
        )
    return cells


# --- report ------------------------------------------------------------------------------------------
@dataclass
class Ratio:
    name: str
    description: str
    feedback: str
    answers: str
    metric: str
    value: float
    target: str
    passed: bool


def _find(cells: list[Cell], env: str, feedback: str | None, answers: str) -> Cell | None:
    return next(
        (c for c in cells if c.env == env and (feedback is None or c.feedback == feedback) and c.answers == answers),
        None,
    )


def compute_ratios(cells: list[Cell]) -> list[Ratio]:
    """Every ratio with a target, per feedback kind and answers; ``metric`` says which rate it uses."""
    ratios: list[Ratio] = []

    def add(name: str, description: str, ours: Cell | None, theirs: Cell | None, metric: str) -> None:
        if ours is None or theirs is None:
            return
        if metric == "step/s":
            value = ours.step_per_s / theirs.step_per_s
        elif metric == "reset+step/s":
            value = ours.reset_step_per_s / theirs.reset_step_per_s
        else:  # "time/(reset+step)": a cost ratio, ours over theirs
            value = theirs.reset_step_per_s / ours.reset_step_per_s
        target = TARGETS[name]
        ratios.append(
            Ratio(name, description, ours.feedback, ours.answers, metric, value, str(target), target.passes(value))
        )

    for gem_env, description in (
        (GEM_MATH, "MathFile-v0 ÷ GEM MathEnv"),
        (GEM_MATH_LOCAL, "MathFile-v0 ÷ GEM MathEnv use_mp=False"),
    ):
        for kind in FEEDBACK_KINDS:
            for answers in ANSWERS:
                ours, theirs = _find(cells, "fbenv/MathFile-v0", kind, answers), _find(cells, gem_env, None, answers)
                add("mathfile_vs_gem_math", description, ours, theirs, "step/s")
    # Per question served (reset + step with a correct reply: one of each on both sides). Per step
    # alone is not like for like: GEM's rg env does all its work in reset (generation) and its step
    # is one string compare, while Math-v0's step checks every line of the reply for process feedback.
    description = f"Math-v0 process ÷ {GEM_RG}"
    ours, theirs = _find(cells, "fbenv/Math-v0", "process", "correct"), _find(cells, GEM_RG, None, "correct")
    add("math_process_vs_gem_rg", description, ours, theirs, "reset+step/s")
    raw = _find(cells, RAW_RG, None, "correct")
    for kind in FEEDBACK_KINDS:
        ours = _find(cells, "fbenv/ReasoningGym-v0", kind, "correct")
        add("reasoning_gym_overhead", "ReasoningGym-v0 ÷ raw reasoning-gym", ours, raw, "time/(reset+step)")
    return ratios


def markdown_table(cells: list[Cell]) -> str:
    rows: dict[tuple[str, str, str], dict[str, Cell]] = {}
    for cell in cells:
        rows.setdefault((cell.side, cell.env, cell.feedback), {})[cell.answers] = cell

    def rate(row: dict[str, Cell], answers: str, attr: str) -> str:
        cell = row.get(answers)
        return f"{getattr(cell, attr):,.0f}" if cell else "n/a"

    lines = [
        "| side | env | feedback | step/s correct | step/s wrong | reset+step/s correct | reset+step/s wrong |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for (side, env, feedback), row in rows.items():
        lines.append(
            f"| {side} | {env} | {feedback} "
            f"| {rate(row, 'correct', 'step_per_s')} | {rate(row, 'wrong', 'step_per_s')} "
            f"| {rate(row, 'correct', 'reset_step_per_s')} | {rate(row, 'wrong', 'reset_step_per_s')} |"
        )
    return "\n".join(lines)


def ratio_table(ratios: list[Ratio]) -> str:
    """The ratios as one row per (feedback, answers) and one column per ratio and metric."""
    columns = list(dict.fromkeys((r.description, r.metric, r.target) for r in ratios))
    rows = list(dict.fromkeys((r.feedback, r.answers) for r in ratios))
    by_key = {(r.feedback, r.answers, r.description, r.metric): r for r in ratios}

    def entry(feedback: str, answers: str, description: str, metric: str) -> str:
        r = by_key.get((feedback, answers, description, metric))
        return "" if r is None else f"{r.value:,.2f}× {'PASS' if r.passed else 'FAIL'}"

    header = " | ".join(f"{d} ({m}; {t})" for d, m, t in columns)
    lines = [f"| feedback | answers | {header} |", "|---|---|" + "---:|" * len(columns)]
    for feedback, answers in rows:
        cells = " | ".join(entry(feedback, answers, d, m) for d, m, _t in columns)
        lines.append(f"| {feedback} | {answers} | {cells} |")
    return "\n".join(lines)


def summary_lines(ratios: list[Ratio], with_gem: bool) -> list[str]:
    """One line per ratio and metric, judged on the worst case over feedback kinds and answers."""
    lines = []
    for name, target in TARGETS.items():
        for description, metric in dict.fromkeys((r.description, r.metric) for r in ratios if r.name == name):
            group = [r for r in ratios if r.description == description and r.metric == metric]
            worst = min(group, key=lambda r: r.value) if target.at_least else max(group, key=lambda r: r.value)
            verdict = "PASS" if all(r.passed for r in group) else "FAIL"
            spread = f"{min(r.value for r in group):,.2f}–{max(r.value for r in group):,.2f}×"
            lines.append(
                f"{verdict}  {description} [{metric}]: worst {worst.value:,.2f}× ({worst.feedback}, {worst.answers}; "
                f"all: {spread}), target {target}"
            )
    if not with_gem:
        lines.append("n/a   GEM ratios: GEM was not measured (--no-gem)")
    return lines


def versions() -> dict[str, str]:
    found = {}
    for name in ("fbenv", "gymnasium", "reasoning_gym", "math-verify", GEM_DISTRIBUTION, "datasets", "pylatexenc"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


# --- GEM's environment -------------------------------------------------------------------------------
def gem_installed() -> bool:
    try:
        importlib.metadata.version(GEM_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def venv_python() -> Path:
    return GEM_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def setup_gem_venv() -> None:
    """Create ``benchmarks/.venv-gem`` with GEM, datasets, pylatexenc and fbenv (editable)."""
    python = venv_python()
    if not python.exists():
        print(f"creating {GEM_VENV}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(GEM_VENV)], check=True)
    command = [str(python), "-m", "pip", "install", "-r", str(GEM_REQUIREMENTS), "-e", str(REPO)]
    print("running:", " ".join(command), file=sys.stderr)
    subprocess.run(command, check=True)


def reexec_in_gem_venv() -> None:
    """Run this script again under the GEM venv's interpreter (GEM and fbenv share that process)."""
    python = venv_python()
    print(f"gem-llm is not installed here; re-running under {python}", file=sys.stderr, flush=True)
    argv = [arg for arg in sys.argv[1:] if arg != "--setup-gem"]  # set up already
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


# --- main --------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    summary = (__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(description=summary, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short run: 0.3 s and 3 blocks a cell, 100 items")
    parser.add_argument("--seconds", type=float, help="timed seconds per cell, all blocks together (default 3)")
    parser.add_argument("--repeats", type=int, help="timed blocks per cell; the median is reported (default 11)")
    parser.add_argument("--items", type=int, help="items per cycle for Math-v0 and reasoning-gym (default 500)")
    parser.add_argument("--json", metavar="OUT", type=Path, help="also write the cells and ratios as JSON to OUT")
    parser.add_argument("--no-gem", action="store_true", help="measure fbenv and raw reasoning-gym only")
    parser.add_argument("--setup-gem", action="store_true", help=f"create {GEM_VENV.relative_to(REPO)} first")
    args = parser.parse_args(argv)
    args.seconds = args.seconds if args.seconds is not None else (0.3 if args.quick else 3.0)
    args.repeats = args.repeats if args.repeats is not None else (3 if args.quick else 11)
    args.items = args.items if args.items is not None else (100 if args.quick else 500)
    if args.seconds <= 0 or args.repeats < 1 or args.items < 1:
        parser.error("--seconds must be > 0, --repeats and --items >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.setup_gem:
        setup_gem_venv()
    if not args.no_gem and not gem_installed():
        if venv_python().exists() and Path(sys.prefix).resolve() != GEM_VENV.resolve():
            reexec_in_gem_venv()
        print(
            "gem-llm is not installed in this interpreter and benchmarks/.venv-gem does not exist; run with "
            "--setup-gem to create it (see benchmarks/README.md), or with --no-gem to skip GEM",
            file=sys.stderr,
        )
        return 2
    with_gem = not args.no_gem

    started = time.perf_counter()
    cells = run_all(args, with_gem)
    elapsed = time.perf_counter() - started
    ratios = compute_ratios(cells)

    print(
        f"\n## Env throughput (median of {args.repeats} blocks, ~{args.seconds:g} s per cell, "
        f"{args.items} items per cycle, max_turns={MAX_TURNS})\n"
    )
    print(markdown_table(cells))
    print("\n## Ratios\n")
    print(ratio_table(ratios))
    print()
    for line in summary_lines(ratios, with_gem):
        print(line)
    info = versions()
    print(
        f"\npython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in info.items())
        + f"; measured in {elapsed:.0f} s"
    )

    if args.json:
        result = {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "versions": info,
            "seconds": elapsed,
            "cells": [asdict(c) for c in cells],
            "ratios": [asdict(r) for r in ratios],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
