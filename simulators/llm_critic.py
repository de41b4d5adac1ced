"""``llm-critic``: text feedback written by a language model that is told the ground truth.

As in MINT and Feedback Friction, the critic model sees the task, the agent's latest reply and the
task's verdict (correct or not, the reference answer, the first wrong step and what is wrong with it,
the checker's notes), and is asked for a short critique that does *not* reveal the reference answer.
The model may still reveal it; :func:`leakage` checks every critique, and ``feedback.usage["leaked"]``
records the result, with the tokens and latency the critique cost.

The label is ``verdict.correct``: the critic knows the truth, so what it conveys as accepted or not is
the verdict, whatever its wording. Backends are made once per spec and shared by every critic in the
process (wrapped in :class:`~fbenv.backends.CachedBackend` and :class:`~fbenv.backends.BatchingBackend`),
so many envs share one model and their concurrent calls (``gym.make_vec``) become one batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from fbenv.backends import Backend, BatchingBackend, CachedBackend, GenerationRequest, make_backend
from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance

DEFAULT_SYSTEM_PROMPT = (
    "You are a teacher giving feedback on a student's answer. You are told the problem, the student's "
    "latest reply and the ground truth about it. Write a short critique (at most three sentences): say "
    "whether the reply is correct and, if not, point to what went wrong and how to approach it. "
    "Never state the reference answer or a number that gives it away."
)

#: The same knowledge voiced as the user who asked (ConvSim-style) rather than as a teacher.
USER_SYSTEM_PROMPT = (
    "You are the person who asked this question, talking to an assistant. You are told the problem, the "
    "assistant's latest reply and the ground truth about it. Answer the assistant as that user would, in "
    "one or two sentences: say whether the reply solves your problem and, if not, what seems off to you. "
    "Never state the reference answer or a number that gives it away."
)

_BACKENDS: dict[str, Backend] = {}
_BACKENDS_LOCK = threading.Lock()
_HAS_USAGE = any(f.name == "usage" for f in dataclasses.fields(Feedback))


def shared_backend(spec: str) -> Backend:
    """The process-wide backend for ``spec``: made on first use, cached and batching, then reused."""
    with _BACKENDS_LOCK:
        backend = _BACKENDS.get(spec)
        if backend is None:
            backend = _BACKENDS[spec] = BatchingBackend(CachedBackend(make_backend(spec)))
        return backend


@contextlib.contextmanager
def serving(spec: str, backend: Backend) -> Iterator[None]:
    """Serve ``spec`` from ``backend`` while the block runs, then put back what served it before.

    Leaderboard replay (:mod:`fbenv.leaderboard.replay`) gives model-backed simulators a backend that
    says the words a bundle recorded, so everything else they decide is recomputed and no model runs.
    """
    with _BACKENDS_LOCK:
        before = _BACKENDS.get(spec)
        _BACKENDS[spec] = backend
    try:
        yield
    finally:
        with _BACKENDS_LOCK:
            if before is None:
                _BACKENDS.pop(spec, None)
            else:
                _BACKENDS[spec] = before


def leakage(feedback_text: str, reference: str) -> bool:
    """Whether ``reference`` appears in ``feedback_text`` as a standalone token.

    "Standalone" means not part of a longer number or word: the reference ``12`` leaks in
    "the answer is 12." but not in "120" or "3.12"; ``-3`` leaks in "x = -3" but not in "-30".
    Numbers are also matched in equivalent spellings ("12.0", "1,200" for 1200). Case is ignored.
    """
    reference = reference.strip()
    if not reference:
        return False
    text = feedback_text.lower()
    forms = {reference.lower()}
    number = _as_number(reference)
    if number is not None:
        for match in re.finditer(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w]|\.\d)", text):
            if _as_number(match.group()) == number:
                return True
    for form in forms:
        pattern = r"(?<![\w.])" + re.escape(form) + r"(?![\w]|\.\d)"
        if re.search(pattern, text):
            return True
    return False


@dataclasses.dataclass(frozen=True)
class ModelVoice:
    """A model that writes a simulator's words: a shared backend and its decoding settings, checked.

    Args:
        owner: the simulator's name, for error messages.
        backend: the backend spec (see :func:`fbenv.backends.make_backend`).
        max_tokens: the reply's length limit in tokens.
        temperature: 0 for greedy decoding; above 0 the sampling seed is drawn from the env's ``rng``.
    """

    owner: str
    spec: str
    max_tokens: int
    temperature: float

    def __post_init__(self) -> None:
        if not isinstance(self.spec, str) or not self.spec:
            raise ValueError(f"{self.owner} needs backend=SPEC in simulator_kwargs, e.g. "
                             "{'backend': 'hf:/path/to/model'}")
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive int, got {self.max_tokens!r}")
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) or self.temperature < 0:
            raise ValueError(f"temperature must be a number >= 0, got {self.temperature!r}")

    @property
    def backend(self) -> Backend:
        """The process-wide backend for this spec."""
        return shared_backend(self.spec)

    def say(self, messages: Sequence[dict[str, str]], rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
        """The model's reply to ``messages`` (stripped) and what it cost (backend, tokens, latency)."""
        # Greedy decoding ignores the seed; draw one only when sampling, so rng use matches the decoding.
        seed = int(rng.integers(2**31)) if self.temperature > 0 else 0
        request = GenerationRequest(tuple(messages), max_tokens=self.max_tokens, temperature=float(self.temperature),
                                    seed=seed)
        generation = self.backend.generate([request])[0]
        return generation.text.strip(), {"backend": self.spec, "prompt_tokens": generation.prompt_tokens,
                                         "completion_tokens": generation.completion_tokens,
                                         "latency_s": generation.latency_s}


def _as_number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", cleaned):
        return None
    return float(cleaned)


def critic_messages(
    instance: Instance, reply: str, verdict: Verdict, system_prompt: str,
    closing: str = "Write your short critique for the student now, without revealing the reference answer.",
) -> tuple[dict[str, str], ...]:
    """The chat messages sent to the critic model for one reply."""
    facts = [f"Reference answer (never reveal it): {verdict.reference}",
             f"The student's reply is {'CORRECT' if verdict.correct else 'WRONG'}."]
    if verdict.answer is not None:
        facts.append(f"The student's final answer: {verdict.answer}")
    if verdict.form_error:
        facts.append(f"Problem with the form of the reply: {verdict.form_error}")
    wrong = verdict.first_wrong_step
    if wrong is not None:
        facts.append(f"First wrong {verdict.unit} (number {wrong.index + 1}): {wrong.text.strip()!r}"
                     + (f": {wrong.message}" if wrong.message else ""))
    facts.extend(f"Checker's note: {note}" for note in verdict.diagnostics)
    facts.extend(f"Checker's note: {text}" for _level, text in verdict.remarks)
    user = (f"Problem:\n{instance.prompt}\n\nStudent's latest reply:\n{reply}\n\nGround truth:\n"
            + "\n".join(f"- {fact}" for fact in facts)
            + "\n\n" + closing)
    return ({"role": "system", "content": system_prompt}, {"role": "user", "content": user})


class LLMCritic(Simulator):
    """A language-model critic that knows the verdict (MINT / Feedback Friction style).

    Args:
        backend: a backend spec, ``hf:PATH``, ``openai:MODEL@URL`` or ``vllm:PATH``
            (see :func:`fbenv.backends.make_backend`).
        max_tokens: the critique's length limit in tokens.
        temperature: 0 for greedy decoding; above 0 the sampling seed is drawn from the env's ``rng``.
        system_prompt: replaces :data:`DEFAULT_SYSTEM_PROMPT`.
    """

    name = "llm-critic"
    kinds = ("text",)
    #: LLM text is not assumed to be reproducible across machines (contract tests relax byte equality).
    nondeterministic: ClassVar[bool] = True
    #: Concurrent calls batch in the backend: vector envs ask every sub-env at once (``prerespond``).
    batched: ClassVar[bool] = True
    #: The persona: a teacher here; :class:`LLMUser` voices the user who asked.
    default_system_prompt: ClassVar[str] = DEFAULT_SYSTEM_PROMPT
    closing: ClassVar[str] = "Write your short critique for the student now, without revealing the reference answer."

    def __init__(
        self,
        kind: str | None = None,
        backend: str | None = None,
        max_tokens: int = 200,
        temperature: float = 0.0,
        system_prompt: str | None = None,
    ) -> None:
        super().__init__(kind)
        self.model = ModelVoice(self.name, backend, max_tokens, temperature)  # type: ignore[arg-type]
        self.spec, self.max_tokens, self.temperature = backend, max_tokens, float(temperature)
        self.system_prompt = self.default_system_prompt if system_prompt is None else system_prompt
        self.backend = self.model.backend

    def respond(
        self, instance: Instance, transcript: Sequence[Message], verdict: Verdict, rng: np.random.Generator
    ) -> Feedback:
        """See :meth:`fbenv.simulators.base.Simulator.respond`."""
        reply = str(transcript[-1]["content"]) if transcript else ""
        text, usage = self.model.say(critic_messages(instance, reply, verdict, self.system_prompt, self.closing), rng)
        usage["leaked"] = leakage(text, verdict.reference)
        if _HAS_USAGE:
            return self.make_feedback(text, verdict.correct, usage=usage)
        return self.make_feedback(text, verdict.correct)


class LLMUser(LLMCritic):
    """The same model-backed simulator voicing the user who asked (``USER_SYSTEM_PROMPT``)."""

    name = "llm-user"
    default_system_prompt = USER_SYSTEM_PROMPT
    closing = "Reply to the assistant now, as the user, without revealing the reference answer."
