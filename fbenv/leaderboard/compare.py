"""Where a bundle's record and a replay's differ: field paths, tolerances, and what is not compared.

:func:`diff` walks two JSON values and names every differing leaf by its path
(``episodes[4] (key).steps[0].reward: bundle 1.0, replay 0.0``). :func:`stable` drops the fields
that describe the verifying machine rather than the episode (:data:`VOLATILE`), so a bundle made
under bubblewrap verifies on a machine that only has rlimits. :func:`close` compares claimed metrics
with recomputed ones to :data:`METRIC_TOLERANCE`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from fbenv.feedback import Feedback, StepCheck, Verdict

#: (step field, key) pairs that describe the machine or what a model call cost, not the episode:
#: never compared.
VOLATILE = (("tool", "duration_s"), ("tool", "isolation"), ("move", "usage"))
#: Verdict diagnostics that name the sandbox's isolation mode (bubblewrap or rlimits on this machine).
VOLATILE_DIAGNOSTIC = "isolation: "
#: How far a claimed metric may be from the recomputed one (float formatting, nothing more).
METRIC_TOLERANCE = 1e-9


def close(claimed: Any, fresh: Any) -> bool:
    """Whether a claimed metric (or row of them) equals the recomputed one, floats to the tolerance."""
    if isinstance(fresh, dict) and isinstance(claimed, dict):
        return claimed.keys() == fresh.keys() and all(close(claimed[k], fresh[k]) for k in fresh)
    if isinstance(fresh, float) and isinstance(claimed, (int, float)) and not isinstance(claimed, bool):
        return math.isclose(claimed, fresh, rel_tol=0, abs_tol=METRIC_TOLERANCE)
    return type(claimed) is type(fresh) and claimed == fresh


def _defaults(cls: type, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON form of each defaulted field's default."""
    found = {}
    for item in dataclasses.fields(cls):
        if item.name in leave_out:
            continue
        if item.default is not dataclasses.MISSING:
            found[item.name] = item.default
        elif item.default_factory is not dataclasses.MISSING:
            found[item.name] = item.default_factory()
    return json.loads(json.dumps(found))


#: What a step's verdict and feedback hold when a bundle leaves a defaulted field out (one written
#: before fbenv added the field): the replay must then give exactly that default.
DEFAULTS = {"verdict": _defaults(Verdict), "feedback": _defaults(Feedback, ("usage",))}
STEP_DEFAULTS = _defaults(StepCheck)


def stable(step: dict[str, Any]) -> dict[str, Any]:
    """``step`` with left-out defaulted fields filled in (:data:`DEFAULTS`) and without the fields
    that describe the machine (:data:`VOLATILE`): what is compared."""
    step = dict(step)
    for name, defaults in DEFAULTS.items():
        if isinstance(step.get(name), dict):
            step[name] = {**defaults, **step[name]}
    verdict = step.get("verdict")
    if isinstance(verdict, dict) and isinstance(verdict.get("steps"), list):
        step["verdict"] = {**verdict, "steps": [{**STEP_DEFAULTS, **check} if isinstance(check, dict) else check
                                                for check in verdict["steps"]]}
    for name, key in VOLATILE:
        if isinstance(step.get(name), dict):
            step[name] = {k: v for k, v in step[name].items() if k != key}
    verdict = step.get("verdict")
    if isinstance(verdict, dict) and isinstance(verdict.get("diagnostics"), list):
        kept = [d for d in verdict["diagnostics"] if not (isinstance(d, str) and d.startswith(VOLATILE_DIAGNOSTIC))]
        step["verdict"] = {**verdict, "diagnostics": kept}
    return step


def diff(recorded: Any, replayed: Any, path: str) -> list[str]:
    """Where ``recorded`` (the bundle) and ``replayed`` differ, one line per differing leaf."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        found = []
        for key in list(recorded) + [k for k in replayed if k not in recorded]:
            if key not in replayed:
                found.append(f"{path}.{key}: in the bundle, not in the replay")
            elif key not in recorded:
                found.append(f"{path}.{key}: missing from the bundle (replay gives {short(replayed[key])})")
            else:
                found += diff(recorded[key], replayed[key], f"{path}.{key}")
        return found
    if isinstance(recorded, list) and isinstance(replayed, list) and len(recorded) == len(replayed):
        found = []
        for i, (a, b) in enumerate(zip(recorded, replayed, strict=True)):
            found += diff(a, b, f"{path}[{i}]")
        return found
    same = recorded == replayed and (isinstance(recorded, bool) == isinstance(replayed, bool))
    return [] if same else [f"{path}: bundle {short(recorded)}, replay {short(replayed)}"]


def seed_difference(given: list[int], expected: list[int]) -> str:
    """What differs between a bundle's seed list and the suite's, in words."""
    missing = sorted(set(expected) - set(given))
    extra = sorted(set(given) - set(expected))
    parts = []
    if missing:
        parts.append(f"missing {_few(missing)}")
    if extra:
        parts.append(f"not in the suite {_few(extra)}")
    if not parts:
        parts.append("the same seeds in another order or repeated")
    return "the bundle's seed set differs: " + ", ".join(parts)


def _few(values: list[int]) -> str:
    return ", ".join(map(str, values[:5])) + (f" (+{len(values) - 5} more)" if len(values) > 5 else "")


def short(value: Any, limit: int = 80) -> str:
    """A value for a mismatch line: JSON (strings quoted), cut at ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
