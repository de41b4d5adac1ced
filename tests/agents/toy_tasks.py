"""A toy task for trainer tests: any model can be rewarded on it, so returns vary within a group."""

from __future__ import annotations

from fbenv.feedback import Verdict
from fbenv.tasks.base import Instance, Task

#: A two-attempt episode as a rollout records it: wrong, critique, right, acceptance.
EPISODE = [
    {"role": "user", "content": "Compute 9 + 6 - 5.", "source": "env"},
    {"role": "assistant", "content": "9 + 6 = 15\n15 - 5 = 11\nAnswer: 11", "source": "agent"},
    {"role": "user", "content": "That is not correct.", "source": "user"},
    {"role": "assistant", "content": "Answer: 10", "source": "agent"},
    {"role": "user", "content": "Correct.", "source": "user"},
]

#: gym.make kwargs that put the toy task into any fbenv id.
SHORT_REPLY = {"task": "toy_tasks:ShortReplyTask"}


class ShortReplyTask(Task):
    """Right when the reply has at most ``max_chars`` characters: learnable by stopping early."""

    family = "math"

    def __init__(self, max_chars: int = 12) -> None:
        self.max_chars = max_chars

    def instance(self, index: int) -> Instance:
        return Instance(f"short/{index}", index, f"Say something short (#{index}).", "ok", "ok")

    def check(self, instance: Instance, reply: str) -> Verdict:
        right = len(reply.strip()) <= self.max_chars
        return Verdict(correct=right, score=float(right), answer=reply.strip(), reference=instance.reference)
