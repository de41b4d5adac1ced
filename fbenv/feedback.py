"""The two values that flow through every step: the task's Verdict and the simulator's Feedback.

A :class:`Verdict` is ground truth: the task's own judgement of an answer, with everything a critic
could need to explain it (which step is wrong and what it should give, what is wrong in form, the
worked solution). A :class:`Feedback` is what a simulated user or critic *says* about that verdict,
in one of the :data:`KINDS`. The env shows the agent the feedback and keeps the verdict in ``info``,
so evaluation stays honest even when the feedback is noisy or misleading.

Both are frozen dataclasses: a step's record cannot be edited after the fact, they compare by value
(which the determinism contract relies on) and they pickle across processes (async vector envs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar

R = TypeVar("R")

FeedbackKind = Literal["none", "unary", "binary", "text", "process", "implicit"]

#: Every feedback kind fbenv knows, from least to most informative (implicit is conversational).
KINDS: tuple[str, ...] = ("none", "unary", "binary", "text", "process", "implicit")

#: What each kind means, for ``fbenv list`` and the docs.
KIND_DESCRIPTIONS: dict[str, str] = {
    "none": "no feedback at all: the agent just gets another turn (MINT's no-feedback baseline)",
    "unary": "a fixed nudge after a wrong answer, e.g. 'Let's try again.' (UFO)",
    "binary": "correct / incorrect",
    "text": "a critique in words; its detail is set by hint_level 0-4",
    "process": "one correct/incorrect label per step of the answer",
    "implicit": "the user's next message itself (conversation tasks)",
}


def fast_init(cls: type[R]) -> type[R]:
    """Give a frozen dataclass a fast ``__init__`` and a faster ``make`` constructor.

    The ``__init__`` that ``dataclass(frozen=True)`` writes sets each field through
    ``object.__setattr__`` (about 0.15 µs a field). Verdicts, feedback and instances are built on
    every env step, so this one stores the fields straight into the instance's dict. Same signature,
    defaults and default factories; the class stays frozen (assignment still raises) and compares,
    hashes and pickles as before.

    ``cls.make(...)`` takes the same arguments and returns an equal object. Calling a class with
    keywords costs a dict of them (``type.__call__`` has no fast path for keywords), which ``make``,
    a plain function, does not: about 0.25 µs less per object. fbenv's per-step hot paths use it.
    """
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_MISSING": MISSING}
    params, body = [], []
    for f in fields(cls):  # type: ignore[arg-type]
        if f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING: {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
    # Item stores into the instance's own dict: faster than building a dict and assigning it as
    # __dict__ (measured 0.41 vs 0.49 µs for a 9-field object on CPython 3.11).
    stores = "; ".join(f"d[{f.name!r}] = {f.name}" for f in fields(cls))  # type: ignore[arg-type]
    signature = ", ".join(params)
    source = "\n".join([
        f"def __init__(self, {signature}):", *body, "    d = self.__dict__", f"    {stores}",
        f"def make({signature}):", *body, "    self = _new(_cls)", "    d = self.__dict__", f"    {stores}",
        "    return self",
    ])  # fmt: skip
    exec(source, namespace)
    init, make = namespace["__init__"], namespace["make"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    make.__qualname__ = f"{cls.__qualname__}.make"
    make.__doc__ = f"``{cls.__name__}(...)`` without the cost of a class call with keywords (see ``fast_init``)."
    cls.__init__ = init  # type: ignore[misc]
    cls.make = staticmethod(make)  # type: ignore[attr-defined]
    return cls


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a known feedback kind, else raise a ValueError listing the kinds."""
    if kind not in KINDS:
        raise ValueError(f"unknown feedback kind {kind!r}; choose one of {', '.join(KINDS)}")
    return kind


@fast_init
@dataclass(frozen=True)
class StepCheck:
    """The task's check of one step of an answer (one equation line, one test, one query).

    ``expected`` is what this step should have been (or given); critics reveal it only at high hint
    levels. ``message`` explains the check in words without revealing ``expected``.
    """

    index: int
    text: str
    correct: bool
    expected: str | None = None
    message: str = ""


@fast_init
@dataclass(frozen=True)
class Verdict:
    """Ground truth about one answer, produced by ``Task.check``.

    Attributes:
        correct: whether the answer solves the task (only a full score counts).
        score: the task's own score in [0, 1]; partial credit is kept here.
        answer: the final answer extracted from the agent's reply, or None if it gave none.
        reference: the reference answer.
        steps: one check per step the task could identify in the reply (may be empty).
        form_error: what is wrong with the *form* of the reply (no final answer, too long, ...).
        expected_steps: the reference solution's steps, for the critic's higher hint levels.
        solution: a full worked solution in words, when the task has one.
        diagnostics: further notes from the checker (e.g. "answer is larger than the reference").
        unit: what one step is, for critics' wording ("step" for math lines, "test" for code).
        details: JSON-able facts a simulated user voices (conversation tasks: which requirement an
            attempt violates, in the user's words; see ``docs/conversation.md``). Not part of equality.
        remarks: the task's own words for critics, each paired with the lowest hint level (1-4) at
            which a critic may say it. The task vouches that remarks below level 3 do not reveal the
            reference (search tasks: the user's comment on a wrong answer, "that is the founder, I
            asked about the current chief executive").
    """

    correct: bool
    score: float
    answer: str | None
    reference: str
    steps: tuple[StepCheck, ...] = ()
    form_error: str | None = None
    expected_steps: tuple[str, ...] = ()
    solution: str | None = None
    diagnostics: tuple[str, ...] = ()
    unit: str = "step"
    details: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    remarks: tuple[tuple[int, str], ...] = ()
    #: ``Verdict(...)`` for hot paths (see :func:`fast_init`).
    make: ClassVar[Callable[..., Verdict]]

    @property
    def first_wrong_step(self) -> StepCheck | None:
        """The first step whose check failed, or None when every identified step is right."""
        return next((step for step in self.steps if not step.correct), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy, for result files and transcripts."""
        return asdict(self)


@fast_init
@dataclass(frozen=True)
class Feedback:
    """What a simulator says about an answer.

    Attributes:
        kind: one of :data:`KINDS`.
        text: what the agent is shown as the next observation ("" for ``none``).
        label: the correctness the feedback *conveys* (True = accepted). Noisy or adversarial
            simulators may convey a label that differs from the verdict; None when the feedback
            conveys nothing (``none``).
        step_labels: one label per step for ``process`` feedback (the final answer's label last).
        score: a scalar the feedback conveys in [0, 1]; the default reward. None means "use label".
        end_episode: the simulator ends the episode (a user who leaves).
        source: the registered name of the simulator that produced it.
        usage: what producing it cost, for LLM-backed simulators (tokens, latency, whether the
            reference leaked into the text); not part of equality, since timings vary run to run.
            Treat it as read-only: identical rule-based feedback is one shared object (see
            :meth:`fbenv.simulators.base.Simulator.make_feedback`).
        signal: what the user's message *does*, for research (``implicit`` feedback: ``"thanks"``,
            ``"follow-up"``, ``"reformulation"``, ``"repeat"``, ``"clarification"``, ``"leaving"``;
            any kind: ``"leaving"``); kept in ``info``, never shown to the agent. None for critics.
    """

    kind: str
    text: str
    label: bool | None = None
    step_labels: tuple[bool, ...] = ()
    score: float | None = None
    end_episode: bool = False
    source: str = ""
    usage: dict[str, Any] = field(default_factory=dict, compare=False)
    signal: str | None = None
    #: ``Feedback(...)`` for hot paths (see :func:`fast_init`).
    make: ClassVar[Callable[..., Feedback]]

    @property
    def value(self) -> float | None:
        """The scalar this feedback conveys: ``score`` if set, else the label as 0/1, else None."""
        if self.score is not None:
            return self.score
        if self.label is not None:
            return 1.0 if self.label else 0.0
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy, for result files and transcripts."""
        return asdict(self)
