"""Benchmark suites: named, versioned definitions of what a leaderboard run is.

A suite is a JSON file ``BOARD/suites/NAME.json`` that fixes everything a result depends on besides
the agent: env ids with their kwargs, the feedback conditions, the reset seeds (``seed``,
``seed + 1``, ... for ``episodes`` episodes per env, the same seeds under every condition, so
conditions are paired), and ``max_turns``. Its SHA-256 (of the canonical JSON) goes into every
bundle; a bundle made for another hash of the suite is refused, so a suite that changes gets a new
``version``. ``fbenv eval --suite NAME`` runs one (:meth:`Suite.plan`).

A condition is a feedback kind (``"text"``), ``"KIND:SIMULATOR"`` (``"text:misleading-critic"``), or
an object ``{"name", "feedback", "simulator", "kwargs"}`` for a condition that needs simulator
arguments. A condition an env does not support is skipped for that env (as ``fbenv eval --feedback
all`` does), so adding a family to a suite is one line in ``envs``.

An env entry may set its own ``max_turns`` (a search or conversation episode spends turns on moves
such as ``search:`` or ``ASK:``, so it needs more than a math one) and ``conditions``, a subset of the
suite's by name; a condition named there must be one the env supports (it was asked for explicitly,
so it is not skipped). Both end up in the kwargs every env is made with, so a bundle's recorded
``spec`` and its (env, condition) set are checked against them on verification.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fbenv
from fbenv.eval.rollout import EpisodeSpec
from fbenv.leaderboard.schema import (
    SchemaError,
    array,
    file_name,
    integer,
    json_value,
    mapping,
    nullable,
    obj,
    string,
)

SUITES = "suites"
#: Keys a suite's conditions and ``max_turns`` own; env kwargs may not set them.
RESERVED_KWARGS = ("feedback", "simulator", "max_turns")
_CONDITION_NAME = r"[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}"
_KWARGS = mapping(json_value(max_depth=6, max_items=100, max_length=10_000), max_items=50)
_CONDITION_OBJECT = obj({"name": string(64, pattern=_CONDITION_NAME), "feedback": string(32)},
                        {"simulator": nullable(string(200, single_line=True)), "kwargs": _KWARGS})


def _condition_entry(value: Any, path: str) -> None:
    """A condition: ``"KIND"``, ``"KIND:SIMULATOR"`` or an object with a name and kwargs."""
    if isinstance(value, str):
        string(64, pattern=_CONDITION_NAME)(value, path)
    else:
        _CONDITION_OBJECT(value, path)


SUITE_SCHEMA = obj(
    {
        "name": file_name,
        "version": integer(1),
        "max_turns": integer(1, 100),
        "seed": integer(0, 2**31),
        "conditions": array(_condition_entry, 20),
        "envs": array(obj({"id": string(100, single_line=True), "episodes": integer(1, 100_000)},
                          {"kwargs": _KWARGS, "conditions": array(string(64, pattern=_CONDITION_NAME), 20),
                           "max_turns": integer(1, 100)}), 50),
    },
    {"description": string(2000)},
)


class SuiteError(ValueError):
    """A suite that cannot be found or read; the message names the field or the fix."""


@dataclass(frozen=True)
class Condition:
    """One feedback condition: its name in tables and keys, and the gym.make kwargs it adds."""

    name: str
    feedback: str
    simulator: str | None = None
    kwargs: tuple[tuple[str, Any], ...] = ()

    def make_kwargs(self) -> dict[str, Any]:
        """``feedback``, ``simulator`` (if any) and the condition's own kwargs."""
        kwargs: dict[str, Any] = {"feedback": self.feedback}
        if self.simulator:
            kwargs["simulator"] = self.simulator
        kwargs.update(json.loads(json.dumps(dict(self.kwargs))))
        return kwargs

    def nondeterministic(self) -> bool:
        """Whether the simulator's text cannot be regenerated (model-backed, ``nondeterministic=True``)."""
        if not self.simulator:
            return False
        from fbenv.simulators import get_simulator

        return bool(getattr(get_simulator(self.simulator), "nondeterministic", False))


@dataclass(frozen=True)
class SuiteEnv:
    """One env of a suite with the conditions it runs under."""

    env_id: str
    kwargs: tuple[tuple[str, Any], ...]
    episodes: int
    conditions: tuple[Condition, ...]
    max_turns: int


@dataclass(frozen=True)
class Suite:
    """A loaded, validated suite. ``sha256`` is the hash of its canonical JSON."""

    name: str
    version: int
    description: str
    max_turns: int
    seed: int
    envs: tuple[SuiteEnv, ...]
    sha256: str

    def ref(self) -> dict[str, Any]:
        """What a bundle records about its suite: name, version, hash."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    def seeds(self, env_id: str) -> list[int]:
        """The reset seeds of ``env_id`` (the same under every condition)."""
        env = self.env(env_id)
        return list(range(self.seed, self.seed + env.episodes))

    def env(self, env_id: str) -> SuiteEnv:
        """The suite's entry for ``env_id``."""
        for env in self.envs:
            if env.env_id == env_id:
                return env
        raise KeyError(env_id)

    def condition(self, env_id: str, name: str) -> Condition:
        """The condition called ``name`` of ``env_id``."""
        for condition in self.env(env_id).conditions:
            if condition.name == name:
                return condition
        raise KeyError(name)

    def kwargs(self, env_id: str, condition: str) -> dict[str, Any]:
        """The ``gym.make`` kwargs of one (env, condition): env kwargs, condition, ``max_turns``."""
        env = self.env(env_id)
        base = json.loads(json.dumps(dict(env.kwargs)))
        return {**base, **self.condition(env_id, condition).make_kwargs(), "max_turns": env.max_turns}

    def turn_budgets(self) -> dict[str, int]:
        """Each env's ``max_turns`` (the suite's, unless the env sets its own)."""
        return {env.env_id: env.max_turns for env in self.envs}

    def runs(self) -> list[tuple[str, str]]:
        """Every (env id, condition name), in suite order."""
        return [(env.env_id, condition.name) for env in self.envs for condition in env.conditions]

    def plan(self) -> list[EpisodeSpec]:
        """Every episode of the suite, env by env, condition by condition, seed by seed."""
        return [EpisodeSpec(env_id, self.kwargs(env_id, condition), seed, condition)
                for env_id, condition in self.runs() for seed in self.seeds(env_id)]


def default_board() -> Path:
    """The leaderboards directory: ``$FBENV_BOARD``, else ``./leaderboards``, else the checkout's own."""
    if os.environ.get("FBENV_BOARD"):
        return Path(os.environ["FBENV_BOARD"])
    here = Path("leaderboards")
    if (here / SUITES).is_dir():
        return here
    return Path(fbenv.__file__).resolve().parent.parent / "leaderboards"


def suite_path(name: str, board: str | Path) -> Path:
    """Where suite ``name`` lives; the name is checked first, so it cannot leave ``BOARD/suites``."""
    try:
        file_name(name, "suite")
    except SchemaError as error:
        raise SuiteError(str(error)) from None
    return Path(board) / SUITES / f"{name}.json"


def available(board: str | Path) -> list[str]:
    """The names of the suites in ``board``."""
    return sorted(path.stem for path in (Path(board) / SUITES).glob("*.json"))


def load_suite(name: str, board: str | Path | None = None) -> Suite:
    """Read and validate ``BOARD/suites/NAME.json``.

    Raises:
        SuiteError: no such suite (the message lists the available ones), or a field that is wrong
            (the message names it).
    """
    board = default_board() if board is None else Path(board)
    path = suite_path(name, board)
    if not path.is_file():
        names = ", ".join(available(board)) or "none"
        raise SuiteError(f"no suite {name!r} in {board / SUITES} (available: {names}); "
                         "pass --board DIR for another leaderboards directory")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise SuiteError(f"{path} is not valid JSON: {error}") from error
    suite = parse_suite(data, source=str(path))
    if suite.name != name:
        raise SuiteError(f"{path}: name is {suite.name!r} but the file is {name}.json; make them agree")
    return suite


def parse_suite(data: Any, source: str = "suite") -> Suite:
    """A :class:`Suite` from parsed JSON; errors name ``source`` and the field."""
    try:
        SUITE_SCHEMA(data, "")
    except SchemaError as error:
        raise SuiteError(f"{source}: {error}") from None
    conditions = [_condition(item, f"conditions[{i}]", source) for i, item in enumerate(data["conditions"])]
    if len({c.name for c in conditions}) != len(conditions):
        raise SuiteError(f"{source}: conditions: two conditions share a name")
    envs = []
    for i, entry in enumerate(data["envs"]):
        envs.append(_suite_env(entry, conditions, data["max_turns"], f"envs[{i}]", source))
    if len({env.env_id for env in envs}) != len(envs):
        raise SuiteError(f"{source}: envs: an env id is listed twice; give it once")
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Suite(name=data["name"], version=data["version"], description=data.get("description", ""),
                 max_turns=data["max_turns"], seed=data["seed"], envs=tuple(envs),
                 sha256="sha256:" + hashlib.sha256(canonical.encode()).hexdigest())


def _condition(item: str | dict[str, Any], path: str, source: str) -> Condition:
    if isinstance(item, str):
        kind, _, simulator = item.partition(":")
        condition = Condition(item, kind, simulator or None)
    else:
        condition = Condition(item["name"], item["feedback"], item.get("simulator"),
                              tuple(sorted(item.get("kwargs", {}).items())))
    if condition.feedback not in fbenv.KINDS:
        raise SuiteError(f"{source}: {path}: unknown feedback kind {condition.feedback!r}; "
                         f"choose one of {', '.join(fbenv.KINDS)}")
    reserved = sorted(set(dict(condition.kwargs)) & set(RESERVED_KWARGS))
    if reserved:
        raise SuiteError(f"{source}: {path}.kwargs: sets {', '.join(reserved)}; use the condition's own fields")
    return condition


def _suite_env(entry: dict[str, Any], conditions: list[Condition], max_turns: int, path: str, source: str
               ) -> SuiteEnv:
    from fbenv.eval.runner import supported_kinds

    env_id = entry["id"]
    if env_id not in fbenv.ENVS:
        raise SuiteError(f"{source}: {path}.id: unknown env id {env_id!r}; registered: {', '.join(fbenv.ENVS)}")
    kwargs = entry.get("kwargs", {})
    reserved = sorted(set(kwargs) & set(RESERVED_KWARGS))
    if reserved:
        raise SuiteError(f"{source}: {path}.kwargs: sets {', '.join(reserved)}, which the suite's conditions "
                         "and max_turns fix; remove it (an env's own turn budget is its max_turns field)")
    kinds = supported_kinds(env_id)
    chosen = conditions
    if "conditions" in entry:
        names = entry["conditions"]
        if not names:
            raise SuiteError(f"{source}: {path}.conditions: empty; leave the field out to run the suite's conditions")
        by_name = {c.name: c for c in conditions}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise SuiteError(f"{source}: {path}.conditions: {', '.join(unknown)} not among the suite's conditions")
        if len(set(names)) != len(names):
            raise SuiteError(f"{source}: {path}.conditions: a condition is listed twice; give it once")
        unsupported = [name for name in names if by_name[name].feedback not in kinds]
        if unsupported:
            raise SuiteError(f"{source}: {path}.conditions: {env_id} does not support {', '.join(unsupported)} "
                             f"(it supports feedback {', '.join(kinds)}); remove it from this env's list")
        chosen = [by_name[name] for name in names]
    usable = tuple(c for c in chosen if c.feedback in kinds)
    if not usable:
        raise SuiteError(f"{source}: {path}: {env_id} supports feedback {', '.join(kinds)}; none of the "
                         "suite's conditions")
    return SuiteEnv(env_id, tuple(sorted(kwargs.items())), entry["episodes"], usable,
                    entry.get("max_turns", max_turns))
