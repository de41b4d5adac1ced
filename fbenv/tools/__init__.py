"""Tools that fbenv's tasks use to judge or serve agents (e.g. the isolated Python sandbox)."""

from fbenv.tools.sandbox import BubblewrapUnavailable, Limits, RunResult, Sandbox, shared_sandbox

__all__ = ["BubblewrapUnavailable", "Limits", "RunResult", "Sandbox", "shared_sandbox"]
