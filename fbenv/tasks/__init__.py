"""Tasks: where instances come from and how answers are judged (one file per task source).

Registered by name so that env kwargs stay JSON-able; modules are imported on first use, so
``import fbenv`` does not import reasoning-gym or math-verify.
"""

from __future__ import annotations

from fbenv.registry import Registry
from fbenv.tasks.base import Instance, Task

TASKS: Registry[type[Task]] = Registry("task")
TASKS.register("arithmetic", "fbenv.tasks.arithmetic:ArithmeticTask")
TASKS.register("reasoning_gym", "fbenv.tasks.reasoning_gym:ReasoningGymTask")
TASKS.register("math_file", "fbenv.tasks.math_file:MathFileTask")
TASKS.register("humaneval", "fbenv.tasks.humaneval:HumanEvalTask")
TASKS.register("code_file", "fbenv.tasks.code_file:CodeFileTask")
TASKS.register("recommend", "fbenv.tasks.recommend:RecommendTask")
TASKS.register("clarify", "fbenv.tasks.clarify:ClarifyTask")
TASKS.register("teach", "fbenv.tasks.teach:TeachTask")
TASKS.register("search", "fbenv.tasks.search_task:SearchTask")
TASKS.register("search_file", "fbenv.tasks.search_file:SearchFileTask")


def get_task(name: str) -> type[Task]:
    """The task class for a registered name or a ``"package.module:Class"`` path."""
    return TASKS.get(name)


__all__ = ["TASKS", "Instance", "Task", "get_task"]
