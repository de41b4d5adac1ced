"""Verification: re-score a bundle by replaying every transcript in freshly made envs.

For each (env, condition) of the bundle's suite, an env is made with ``gym.make`` from the *suite's*
kwargs (never the bundle's), and its ``spec.to_json()`` is compared with the spec the bundle
recorded. Each episode is then reset with its recorded seed (the prompt and task id must match) and
fed the recorded *agent* messages in order; every observation, reward, verdict, feedback,
``terminated``/``truncated`` and the episode's totals are compared with the recorded ones. Finally
the metrics are recomputed with :mod:`fbenv.eval.metrics` and compared with the bundle's claims.
Every mismatch is reported with the episode's key and the field; a bundle with any is rejected.

Agent code never runs: replay only sends the recorded strings to the env. Tool calls in code envs
do run again, in the sandbox (that is env code). Simulators marked ``nondeterministic`` cannot
regenerate their text (:mod:`fbenv.leaderboard.recorded`): a model-backed one (``backend=SPEC``)
still runs, with the recorded words as its model's output; any other has its recorded feedback fed
back to the env. Either way everything else is re-checked, and the report says what was taken as
recorded.

A few fields describe the verifying machine rather than the episode and are not compared: the
sandbox's isolation mode and a tool run's duration (:data:`fbenv.leaderboard.compare.VOLATILE`).
"""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

import fbenv
from fbenv.eval.metrics import summarize
from fbenv.eval.records import jsonable, step_record
from fbenv.leaderboard.bundle import DEFAULT_LIMITS, BundleError, Limits, episode_records, read_bundle
from fbenv.leaderboard.compare import close, diff, seed_difference, short, stable
from fbenv.leaderboard.recorded import RECORDED, RecordedVoice
from fbenv.leaderboard.suites import Suite, SuiteError, load_suite

#: Kwargs a recorded-feedback replay drops: they configure the simulator whose feedback is replayed.
SIMULATOR_KWARGS = ("simulator", "simulator_kwargs", "hint_level", "noise")
#: Mismatches listed per episode before the rest are counted only (a divergence repeats downstream).
PER_EPISODE = 5


@dataclass
class Report:
    """The outcome of verifying one bundle: ``ok`` when nothing mismatched."""

    source: str
    agent: str = ""
    suite: str = ""
    episodes: int = 0
    steps: int = 0
    rows: int = 0
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the bundle is accepted."""
        return not self.mismatches

    def text(self, most: int = 50) -> str:
        """A human-readable report: a verdict line, then mismatches (at most ``most``) and notes."""
        if self.ok:
            lines = [f"VERIFIED {self.source}: agent {self.agent!r}, suite {self.suite}; {self.episodes} episodes "
                     f"({self.steps} steps) replayed, {self.rows} metric rows recomputed: all match"]
        else:
            lines = [f"REJECTED {self.source}: {len(self.mismatches)} mismatch(es)"]
            lines += [f"  {line}" for line in self.mismatches[:most]]
            if len(self.mismatches) > most:
                lines.append(f"  ... and {len(self.mismatches) - most} more")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def verify(path: str | Path, board: str | Path | None = None, limits: Limits = DEFAULT_LIMITS) -> Report:
    """Read ``path`` (validated as hostile input) and verify it against the suite in ``board``."""
    try:
        bundle = read_bundle(path, limits)
    except BundleError as error:
        return Report(str(path), mismatches=[str(error)])
    return verify_bundle(bundle, board, source=str(path))


def verify_bundle(bundle: dict[str, Any], board: str | Path | None = None, source: str = "bundle") -> Report:
    """Verify a validated bundle (see the module docstring); never raises for a bad bundle."""
    report = Report(source, agent=bundle["agent"]["name"])
    ref = bundle["suite"]
    try:
        suite = load_suite(ref["name"], board)
    except SuiteError as error:
        report.mismatches.append(f"suite.name: {error}")
        return report
    report.suite = f"{suite.name} v{suite.version}"
    if suite.ref() != ref:
        report.mismatches.append(
            f"suite: the bundle ran {ref['name']} v{ref['version']} ({ref['sha256'][:19]}...), the board's suite is "
            f"v{suite.version} ({suite.sha256[:19]}...); run the current suite again")
        return report
    if bundle["fbenv_version"] != fbenv.__version__:
        report.notes.append(f"made with fbenv {bundle['fbenv_version']}, replayed with {fbenv.__version__}; "
                            "the replay decides")
    replayer = _Replayer(suite, report)
    try:
        replayer.check_envs(bundle["envs"])
        replayer.check_episodes(bundle["episodes"])
    finally:
        replayer.close()
    _check_summary(bundle, suite, report)
    return report


class _Replayer:
    """Makes envs from the suite (one per condition, reused) and replays episodes in them."""

    def __init__(self, suite: Suite, report: Report) -> None:
        self.suite, self.report = suite, report
        self.envs: dict[tuple[str, str], gym.Env] = {}
        #: Runs whose model-backed simulator speaks the recorded words (by backend spec: one voice each).
        self.voiced: dict[tuple[str, str], RecordedVoice] = {}
        self.voices: dict[str, RecordedVoice] = {}
        #: Runs whose nondeterministic simulator is replaced by the recorded feedback.
        self.recorded: set[tuple[str, str]] = set()
        self.failed_runs: set[tuple[str, str]] = set()
        self.serving = contextlib.ExitStack()

    def close(self) -> None:
        """Close the envs and give the backends their real models back."""
        for env in self.envs.values():
            env.close()
        self.serving.close()

    def env(self, run: tuple[str, str]) -> gym.Env:
        """The fresh env of one (env id, condition), made from the suite's kwargs."""
        if run not in self.envs:
            kwargs = self.suite.kwargs(*run)
            if self.suite.condition(*run).nondeterministic():
                spec = (kwargs.get("simulator_kwargs") or {}).get("backend")
                if isinstance(spec, str):
                    self.voiced[run] = self.voice(spec)
                else:
                    self.recorded.add(run)
                    kwargs = {k: v for k, v in kwargs.items() if k not in SIMULATOR_KWARGS} | {"simulator": RECORDED}
            self.envs[run] = gym.make(run[0], **kwargs)
        return self.envs[run]

    def voice(self, spec: str) -> RecordedVoice:
        """The recorded voice serving backend ``spec`` until :meth:`close`."""
        if spec not in self.voices:
            from fbenv.simulators.llm_critic import serving

            self.voices[spec] = RecordedVoice()
            self.serving.enter_context(serving(spec, self.voices[spec]))
        return self.voices[spec]

    def expected_spec(self, run: tuple[str, str]) -> dict[str, Any]:
        """What ``spec.to_json()`` of the suite's env gives (computed, for envs replayed with recorded feedback)."""
        env = self.env(run)
        if run not in self.recorded:
            return json.loads(env.spec.to_json())
        spec = copy.deepcopy(gym.spec(run[0]))
        spec.kwargs = {**spec.kwargs, **self.suite.kwargs(*run)}
        return json.loads(spec.to_json())

    def check_envs(self, entries: list[dict[str, Any]]) -> None:
        """Every (env, condition) of the suite once, with the suite's seeds and the fresh env's spec."""
        mismatches = self.report.mismatches
        expected = self.suite.runs()
        seen: set[tuple[str, str]] = set()
        for i, entry in enumerate(entries):
            run = (entry["env_id"], entry["condition"])
            if run not in expected:
                mismatches.append(f"envs[{i}]: {run[0]} under {run[1]!r} is not in suite {self.suite.name}")
                continue
            if run in seen:
                mismatches.append(f"envs[{i}]: {run[0]} under {run[1]!r} is listed twice")
                continue
            seen.add(run)
            seeds = self.suite.seeds(run[0])
            if entry["seeds"] != seeds:
                mismatches.append(f"envs[{i}].seeds: {seed_difference(entry['seeds'], seeds)}; the suite fixes "
                                  f"seeds {seeds[0]}..{seeds[-1]} for {run[0]}")
            try:
                fresh = self.expected_spec(run)
            except Exception as error:  # an env the suite names but this machine cannot make
                self.failed_runs.add(run)
                mismatches.append(f"envs[{i}]: cannot make {run[0]} under {run[1]!r} here: {_one_line(error)}")
                continue
            try:
                recorded = json.loads(entry["spec"])
            except ValueError:
                recorded = entry["spec"]
            if recorded != fresh:
                mismatches.append(f"envs[{i}].spec: differs from the fresh env's spec.to_json() "
                                  f"({'; '.join(diff(recorded, fresh, 'spec')[:3])})")
            simulator = self.suite.condition(*run).simulator
            if run in self.voiced:
                self.report.notes.append(
                    f"{run[0]} under {run[1]!r}: simulator {simulator!r} is model-backed, so its model's words were "
                    "taken from the bundle (no model was loaded or called); everything else it and the env decide "
                    "(labels, what a user reveals, episode ends), verdicts, rewards and metrics was recomputed")
            elif run in self.recorded:
                self.report.notes.append(
                    f"{run[0]} under {run[1]!r}: simulator {simulator!r} is nondeterministic, so its feedback was "
                    "taken from the bundle; prompts, ground-truth verdicts, rewards, episode ends, tool output and "
                    "metrics were re-checked against it")
        for run in expected:
            if run not in seen:
                mismatches.append(f"envs: {run[0]} under {run[1]!r} is missing (the suite has it)")

    def check_episodes(self, episodes: list[dict[str, Any]]) -> None:
        """Each planned episode exactly once, each replayed; missing and extra ones reported."""
        mismatches = self.report.mismatches
        planned = {spec.key: (spec.env_id, spec.condition) for spec in self.suite.plan()}
        seen: set[str] = set()
        for i, episode in enumerate(episodes):
            key = f"{episode['env_id']}|{episode['condition']}|{episode['seed']}"
            where = f"episodes[{i}]"
            if episode["key"] != key:
                mismatches.append(f"{where}.key: {episode['key']!r} should be {key!r} (env_id|condition|seed)")
                continue
            if key not in planned:
                mismatches.append(f"{where}: {key} is not an episode of suite {self.suite.name} "
                                  "(an env, condition or seed the suite does not have)")
                continue
            if key in seen:
                mismatches.append(f"{where}: {key} appears twice")
                continue
            seen.add(key)
            if planned[key] in self.failed_runs:
                continue
            found = self.replay(episode, f"{where} ({key})", planned[key])
            self.report.episodes += 1
            self.report.steps += len(episode["steps"])
            mismatches.extend(found[:PER_EPISODE])
            if len(found) > PER_EPISODE:
                mismatches.append(f"{where} ({key}): {len(found) - PER_EPISODE} more mismatch(es) in this episode")
        missing = [key for key in planned if key not in seen]
        if missing:
            mismatches.append(f"episodes: {len(missing)} of the suite's {len(planned)} episodes are missing "
                              f"(e.g. {', '.join(missing[:3])})")

    def replay(self, episode: dict[str, Any], where: str, run: tuple[str, str]) -> list[str]:
        """Replay one episode; the mismatches found."""
        messages, steps = episode["messages"], episode["steps"]
        found = _check_shape(messages, steps, where)
        if found:
            return found
        replayed: list[dict[str, Any]] = []
        try:
            env = self.env(run)
            if run in self.recorded:
                env.unwrapped.simulator.load(steps, messages)
            prompt, info = env.reset(seed=episode["seed"])
            if prompt != messages[0]["content"]:
                found.append(f"{where}.messages[0].content: the prompt differs from the one seed "
                             f"{episode['seed']} gives ({short(messages[0]['content'])} vs {short(prompt)})")
                return found
            found += diff(episode["task_id"], info.get("task_id", ""), f"{where}.task_id")
            ended = False
            for j, recorded in enumerate(steps):
                if ended:
                    found.append(f"{where}.steps[{j}]: the env had already ended after turn {j}; "
                                 "the bundle has steps the env never played")
                    break
                if run in self.voiced:
                    self.voiced[run].words = messages[2 * j + 2]["content"]
                observation, reward, terminated, truncated, info = env.step(messages[2 * j + 1]["content"])
                step, source = step_record(reward, terminated, truncated, info, j + 1)
                step = jsonable(step)
                replayed.append(step)
                shown = messages[2 * j + 2]
                found += diff(stable(recorded), stable(step), f"{where}.steps[{j}]")
                found += diff(shown["source"], source, f"{where}.messages[{2 * j + 2}].source")
                if run not in self.recorded or step["kind"] == "tool":
                    found += diff(shown["content"], observation, f"{where}.messages[{2 * j + 2}].content")
                ended = terminated or truncated
            if steps and not ended:
                found.append(f"{where}.steps: the bundle stops after turn {len(steps)} but the episode goes on "
                             "(steps are missing)")
        except Exception as error:  # env errors on a hostile transcript are that bundle's problem, reported
            found.append(f"{where}: replay failed at turn {len(replayed) + 1}: {_one_line(error)}")
            return found
        found += _check_totals(episode, replayed, where)
        return found


def _check_shape(messages: list[dict[str, Any]], steps: list[dict[str, Any]], where: str) -> list[str]:
    """The transcript alternates prompt, then (agent reply, observation) per step."""
    if not steps:
        return [f"{where}.steps: empty; every episode has at least one turn"]
    if len(messages) != 1 + 2 * len(steps):
        return [f"{where}.messages: {len(messages)} messages for {len(steps)} steps; expected the prompt and "
                "two per step"]
    found = []
    for j, message in enumerate(messages):
        role, source = ("user", "env") if j == 0 else ("assistant", "agent") if j % 2 else ("user", None)
        if message["role"] != role or (source is not None and message["source"] != source):
            found.append(f"{where}.messages[{j}]: expected role {role!r}"
                         + (f" and source {source!r}" if source else "")
                         + f", got {message['role']!r} from {message['source']!r}")
    return found


def _check_totals(episode: dict[str, Any], replayed: list[dict[str, Any]], where: str) -> list[str]:
    """``turns``, ``solved``, ``solved_turn`` and ``return``, recomputed as the rollout engine does."""
    answers = [step for step in replayed if step["kind"] == "answer"]
    totals = {
        "turns": len(replayed),
        "solved": bool(answers) and bool(answers[-1]["verdict"]["correct"]),
        "solved_turn": next((step["turn"] for step in answers if step["verdict"]["correct"]), None),
        "return": sum(step["reward"] for step in replayed),
    }
    found: list[str] = []
    for name, value in totals.items():
        found += diff(episode[name], value, f"{where}.{name}")
    return found


def _check_summary(bundle: dict[str, Any], suite: Suite, report: Report) -> None:
    """The claimed metrics against those recomputed from the episodes (in the suite's order)."""
    order = {spec.key: i for i, spec in enumerate(suite.plan())}
    episodes = sorted((e for e in bundle["episodes"] if e["key"] in order), key=lambda e: order[e["key"]])
    unique = list({e["key"]: e for e in episodes}.values())
    recomputed = summarize(episode_records({**bundle, "episodes": unique}, suite.turn_budgets()))
    by_key = {(row["agent"], row["env_id"], row["condition"]): row for row in recomputed}
    claimed_keys = set()
    for i, row in enumerate(bundle["summary"]):
        key = (row["agent"], row["env_id"], row["condition"])
        claimed_keys.add(key)
        fresh = by_key.get(key)
        if fresh is None:
            report.mismatches.append(f"summary[{i}]: no episodes of agent {key[0]!r} on {key[1]} under {key[2]!r} "
                                     "to compute it from")
            continue
        report.rows += 1
        for name in sorted(set(row) | set(fresh)):
            if name not in row or name not in fresh:
                report.mismatches.append(f"summary[{i}].{name}: " + ("missing; recomputed it is " + short(fresh[name])
                                         if name not in row else "claimed, but no such metric is recomputed"))
            elif not close(row[name], fresh[name]):
                report.mismatches.append(f"summary[{i}].{name} ({key[1]} {key[2]}): claimed {short(row[name])}, "
                                         f"recomputed {short(fresh[name])}")
    for key in by_key.keys() - claimed_keys:
        report.mismatches.append(f"summary: no row for {key[1]} under {key[2]!r}; recomputed it has one")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__
