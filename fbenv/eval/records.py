"""What one env step becomes in a result file: shared by the rollout engine and leaderboard replay.

:func:`step_record` turns Gymnasium's ``(observation, reward, terminated, truncated, info)`` into the
JSON-able step dict of an episode record, and says who produced the observation. The rollout engine
writes these dicts; :mod:`fbenv.leaderboard.replay` rebuilds them from a fresh env and compares, so
both sides must build them with this one function. It imports no agent code on purpose: a
verifier that imports it never loads a policy.
"""

from __future__ import annotations

import json
from typing import Any


def step_record(reward: float, terminated: bool, truncated: bool, info: dict[str, Any],
                turn: int) -> tuple[dict[str, Any], str]:
    """The step's record and the source of its observation (``user``, ``tool``, or a move's source).

    ``turn`` is used when ``info`` carries no ``turn`` (envs other than fbenv's).
    """
    verdict, feedback = info.get("verdict"), info.get("feedback")
    if "tool" in info:
        kind, source = "tool", "tool"
    elif "move" in info:
        kind, source = "move", info["move"].get("source", "tool")
    else:
        kind, source = "answer", "user"
    step: dict[str, Any] = {
        "turn": info.get("turn", turn),
        "kind": kind,
        "reward": float(reward),
        "terminated": bool(terminated),
        "truncated": bool(truncated),
        "repeated": bool(info.get("repeated", False)),
        "verdict": verdict.to_dict() if verdict is not None else None,
        "feedback": feedback_dict(feedback),
    }
    if kind == "tool":
        step["tool"] = jsonable(info["tool"])
    elif kind == "move":
        step["move"] = jsonable(info["move"])
    return step, source


def feedback_dict(feedback: Any) -> dict[str, Any] | None:
    """A Feedback as a dict without ``usage``: timings and token counts differ run to run, so they
    are kept out of the replayable record."""
    if feedback is None:
        return None
    data = feedback.to_dict()
    data.pop("usage", None)
    return data


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists; unknown objects their ``str``)."""
    return json.loads(json.dumps(value, default=str))
