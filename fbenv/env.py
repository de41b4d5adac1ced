"""FeedbackEnv: a task × a simulator × the multi-turn feedback protocol, as a Gymnasium env.

One step is one agent reply::

    reply ─► Task.check ─► Verdict (ground truth) ─► Simulator.respond ─► Feedback
          observation = feedback text; reward from the feedback (or verdict); info = both

After a wrong answer the episode goes on with the feedback as the next observation (the UFO/MINT
protocol); it terminates when the answer is right (or the simulator ends it) and is truncated after
``max_turns`` replies. Replies that are tool calls (``<execute>``) or task moves (search, open a
document, ask the user; see :class:`~fbenv.tasks.base.Move`) also take a turn: their output is the
observation, with no verdict and no feedback. All randomness (which instance, what the simulator says) comes from the
env's generator, seeded by ``reset(seed=...)``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import gymnasium as gym

from fbenv.feedback import Feedback, Verdict, check_kind
from fbenv.simulators import DEFAULTS, Simulator, get_simulator
from fbenv.simulators.noise import apply_noise
from fbenv.spaces import UnicodeText
from fbenv.tasks import get_task
from fbenv.tasks.base import Instance, Move, MoveResult, Task
from fbenv.tool_calls import Tool, ToolOutput, make_tools, parse_tool_call

REWARD_SOURCES = ("feedback", "verdict")
TERMINATE_ON = ("verdict", "feedback")
_TRUNCATION_MARK = "\n[... feedback truncated]"


class FeedbackEnv(gym.Env[str, str]):
    """A language-agent env whose observations after the first are feedback of a chosen kind.

    Args:
        task: a registered task name (``"arithmetic"``, ``"reasoning_gym"``, ``"math_file"``) or a
            ``"package.module:Class"`` path to a :class:`~fbenv.tasks.base.Task` subclass.
        feedback: the feedback kind the agent gets: one of ``metadata["feedback_kinds"]``.
        simulator: a registered simulator name or ``"package.module:Class"``; None picks the
            rule-based default for ``feedback``.
        simulator_kwargs: keyword arguments for the simulator (JSON-able).
        hint_level: 0-4, how much a text critic reveals (see :mod:`fbenv.simulators.critic`).
        noise: seeded distortions of the simulator's feedback, e.g. ``{"flip": 0.3}`` or
            ``[{"flip": 0.25}, {"delay": 2}]`` (see :mod:`fbenv.simulators.noise`).
        max_turns: replies before the episode is truncated.
        reward_from: ``"feedback"`` (the research setting: the reward follows what the agent was
            told; falls back to the verdict when the feedback conveys nothing, as with ``none``)
            or ``"verdict"`` (ground truth score).
        turn_discount: the reward at turn t (1-based) is multiplied by ``turn_discount ** (t-1)``;
            0.5 gives UFO's 1/2^t schedule.
        repeat_penalty: subtracted from the reward when the final answer repeats an earlier one.
        terminate_on: ``"verdict"`` ends the episode when the answer is right (the default), or
            ``"feedback"`` when the feedback *accepts* it (its label is True; the verdict decides
            when the feedback conveys nothing). With a misleading critic, ``"feedback"`` lets a
            right answer that was called wrong go on, so the flip rate of correct answers
            (WAFER-QA) can be measured, and a wrong answer called right ends the episode.
        max_action_length: longer replies are judged wrong unread (a form error), never a crash.
        max_observation_length: the observation space's length; longer feedback is truncated.
        tools: tools the agent may call with ``<execute>...</execute>`` (MINT), e.g. ``["python"]``;
            None gives the task's default (the Python tool for code tasks, none for math).
        max_tool_calls: tool calls allowed per episode; each call also counts as a turn.
        render_mode: None or ``"ansi"`` (the transcript as text).
        **task_kwargs: the task's own configuration (e.g. ``difficulty=3``, ``dataset=...``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        task: str = "arithmetic",
        feedback: str = "text",
        simulator: str | None = None,
        simulator_kwargs: dict[str, Any] | None = None,
        hint_level: int | None = None,
        max_turns: int = 5,
        reward_from: str = "feedback",
        turn_discount: float = 1.0,
        repeat_penalty: float = 0.0,
        terminate_on: str = "verdict",
        max_action_length: int = 100_000,
        max_observation_length: int = 65_536,
        noise: dict[str, Any] | list[dict[str, Any]] | None = None,
        tools: list[str] | None = None,
        max_tool_calls: int = 3,
        render_mode: str | None = None,
        **task_kwargs: Any,
    ) -> None:
        _check_int("max_turns", max_turns, minimum=1)
        _check_int("max_action_length", max_action_length, minimum=1)
        _check_int("max_observation_length", max_observation_length, minimum=256)
        _check_int("max_tool_calls", max_tool_calls, minimum=0)
        if reward_from not in REWARD_SOURCES:
            raise ValueError(f"reward_from must be 'feedback' or 'verdict', got {reward_from!r}")
        if not isinstance(turn_discount, (int, float)) or not 0 < turn_discount <= 1:
            raise ValueError(f"turn_discount must be a number in (0, 1], got {turn_discount!r}")
        if not isinstance(repeat_penalty, (int, float)) or repeat_penalty < 0:
            raise ValueError(f"repeat_penalty must be a number >= 0, got {repeat_penalty!r}")
        if terminate_on not in TERMINATE_ON:
            raise ValueError(f"terminate_on must be 'verdict' or 'feedback', got {terminate_on!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")

        self.task: Task = _make_task(task, task_kwargs)
        check_kind(feedback)
        if feedback not in self.task.feedback_kinds:
            hint = ("; implicit feedback is a user's next message, so it needs a conversation task such as "
                    "fbenv/Recommend-v0") if feedback == "implicit" else ""
            raise ValueError(
                f"task {self.task.name!r} supports feedback {', '.join(self.task.feedback_kinds)}, "
                f"not {feedback!r}{hint}"
            )
        self.feedback_kind = feedback
        if simulator is None:
            simulator = _task_default_simulator(self.task, feedback)
        self.simulator: Simulator = apply_noise(
            _make_simulator(simulator, feedback, simulator_kwargs, hint_level), noise
        )
        if tools is not None and (not isinstance(tools, (list, tuple)) or not all(isinstance(t, str) for t in tools)):
            raise ValueError(f"tools must be a list of tool names such as ['python'], got {tools!r}")
        self.tools: dict[str, Tool] = make_tools(self.task.default_tools if tools is None else tools)
        self.max_tool_calls = max_tool_calls
        self.max_turns = max_turns
        self.reward_from = reward_from
        self.turn_discount = float(turn_discount)
        self.repeat_penalty = float(repeat_penalty)
        self.terminate_on = terminate_on
        self.max_action_length = max_action_length
        self.render_mode = render_mode
        self.metadata = {
            "render_modes": ["ansi"],
            "render_fps": 1,
            "family": self.task.family,
            "feedback_kinds": tuple(self.task.feedback_kinds),
        }
        self.observation_space = UnicodeText(max_observation_length)
        self.action_space = UnicodeText(max_action_length)

        # Moves (search, open, ask) only for tasks that declare them, so plain tasks pay nothing per step.
        task_type = type(self.task)
        self._parse_move = self.task.parse_move if task_type.parse_move is not Task.parse_move else None
        self._check = (self.task.check if task_type.check_episode is Task.check_episode
                       else lambda instance, reply: self.task.check_episode(instance, reply, self.episode_state))
        self._note_reply = self.task.note_reply if task_type.note_reply is not Task.note_reply else None
        self._episode_info = self.task.episode_info if task_type.episode_info is not Task.episode_info else None
        self._new_episode = task_type.new_episode is not Task.new_episode
        # Hooks a task or simulator leaves as the base class's no-op are skipped per episode.
        reset_simulator = getattr(self.simulator, "reset", None)
        is_noop = getattr(reset_simulator, "__func__", None) is Simulator.reset
        self._reset_simulator = None if is_noop else reset_simulator
        self.episode_state: Any = None
        self.moves = 0
        self.instance: Instance | None = None
        self._prejudged: tuple[str, Verdict] | None = None
        self._prepared: tuple[str, Feedback] | None = None
        self.turn = 0
        self.tool_calls = 0
        self.done = False
        self.messages: list[dict[str, str]] = []
        self._answers: list[str] = []

    # --- the Gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        """Start an episode on a seeded random instance, or on ``options={"task_index": i}``."""
        if seed is not None:  # Env.reset only reseeds; skipping the call otherwise saves a frame per episode
            super().reset(seed=seed)
        index = None
        if options:
            if len(options) > 1 or "task_index" not in options:
                unknown = ", ".join(sorted(map(str, options.keys() - {"task_index"})))
                raise ValueError(f"unknown reset option(s) {unknown}; the one option is task_index")
            index = options["task_index"]
        task = self.task
        size = len(task)
        if index is None:
            index = int(self.np_random.integers(size))
        elif isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise ValueError(f"task_index must be an int in [0, {size}), got {index!r}")
        self.instance = instance = task.instance(index)
        prompt = instance.prompt
        if not isinstance(prompt, str):
            raise TypeError(f"task {task.name!r} gave a {type(prompt).__name__} prompt for {instance.task_id}; "
                            "prompts must be str")
        if len(prompt) > self.observation_space.max_length:
            raise ValueError(
                f"the prompt of {instance.task_id} has {len(prompt)} characters, more than "
                f"max_observation_length={self.observation_space.max_length}; pass a larger max_observation_length"
            )
        self.turn = self.tool_calls = self.moves = 0
        self.episode_state = task.new_episode(instance) if self._new_episode else None
        self.done = False
        self._prejudged = self._prepared = None
        self._answers = []
        if self._reset_simulator is not None:
            self._reset_simulator()
        self.messages = [{"role": "user", "content": prompt}]
        return prompt, {"task_id": instance.task_id, "turn": 0, "messages": [{"role": "user", "content": prompt}]}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Judge one reply, answer with feedback, and say whether the episode goes on."""
        if not isinstance(action, str):
            raise TypeError(
                f"FeedbackEnv.step expects the agent's reply as a str, got {type(action).__name__}; "
                "decode bytes or take the text out of your model's output first"
            )
        instance = self.instance
        if instance is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over (terminated or truncated); call reset() to start a new one")
        self.turn = turn = self.turn + 1
        messages = self.messages
        messages.append({"role": "assistant", "content": action})
        if self.tools and (code := parse_tool_call(action)) is not None:
            return self._tool_step(code)
        if self._parse_move is not None and (move := self._parse_move(action)) is not None:
            return self._move_step(move)
        verdict = self._judge(action)
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared[0] is action:
            feedback = prepared[1]
        else:
            # The transcript is the env's own messages, read-only to the simulator (no copy on the hot path).
            feedback = self.simulator.respond(instance, tuple(messages), verdict, self.np_random)
        if not isinstance(feedback, Feedback) or feedback.kind != self.feedback_kind:
            raise TypeError(
                f"simulator {type(self.simulator).__name__} returned {feedback!r}; it must return a "
                f"Feedback of kind {self.feedback_kind!r}"
            )
        observation = self._fit(feedback.text)
        messages.append({"role": "user", "content": observation})

        repeated = self._is_repeat(verdict, action)
        reward = self._reward(verdict, feedback, repeated)
        accepted = verdict.correct
        if self.terminate_on == "feedback" and feedback.label is not None:
            accepted = feedback.label
        terminated = bool(accepted or feedback.end_episode)
        truncated = not terminated and turn >= self.max_turns
        self.done = terminated or truncated
        info = {
            "task_id": instance.task_id,
            "turn": turn,
            "verdict": verdict,
            "feedback": feedback,
            "repeated": repeated,
            "messages": self._messages_copy(),
        }
        if self._episode_info is not None:
            info["episode"] = self._episode_info(instance, self.episode_state)
        return observation, reward, terminated, truncated, info

    def render(self) -> str | None:
        """With ``render_mode="ansi"``, the episode so far as text."""
        if self.render_mode != "ansi":
            return None
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in self.messages)

    def close(self) -> None:
        """Release the task's resources."""
        self.task.close()

    def prejudge(self, action: str) -> None:
        """Judge ``action`` now so that the next ``step(action)`` finds its verdict ready.

        Used by :class:`fbenv.vector.ThreadedVectorEnv` to run many envs' checks concurrently. Only
        the verdict is computed here (no randomness is drawn), so episodes do not change.
        """
        if self.instance is None or self.done or (self.tools and parse_tool_call(action) is not None):
            return
        if self._parse_move is not None and self._parse_move(action) is not None:
            return
        self._prejudged = (action, self._judge(action))

    def prerespond(self, action: str) -> None:
        """Judge ``action`` and get the simulator's feedback now, for the next ``step(action)``.

        For simulators that batch (an LLM critic): many envs calling this from threads in the same
        vector step let the backend serve all their prompts in one call. The simulator sees the same
        transcript and draws from this env's generator exactly as ``step`` would, so episodes do not
        change.
        """
        self.prejudge(action)
        if self._prejudged is None or self._prejudged[0] is not action:
            return
        assert self.instance is not None
        transcript = (*self.messages, {"role": "assistant", "content": action})
        feedback = self.simulator.respond(self.instance, transcript, self._prejudged[1], self.np_random)
        self._prepared = (action, feedback)

    # --- the pieces of a step ------------------------------------------------------------------
    def _tool_step(self, code: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run an ``<execute>`` call: the output is the observation; no verdict, no feedback."""
        assert self.instance is not None
        tool = self.tools.get("python") or next(iter(self.tools.values()))
        if self.tool_calls >= self.max_tool_calls:
            output = ToolOutput(
                f"No more code execution: this episode allows {self.max_tool_calls} tool call(s). "
                "Give your answer instead.", {"refused": True})
        else:
            self.tool_calls += 1
            output = tool.run(code)
        return self._side_step(output.text, 0.0, False, "tool", {"name": tool.name, "code": code, **output.details})

    def _move_step(self, move: Move) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Play a move (search, open, ask): its result is the observation; no verdict, no feedback."""
        assert self.instance is not None
        self.moves += 1
        result = self.task.play_move(self.instance, move, self.episode_state, self.np_random)
        reply_to_move = getattr(self.simulator, "reply_to_move", None)
        if result.to_user and reply_to_move is not None:
            result = reply_to_move(self.instance, tuple(self.messages), move, result, self.np_random)
        if not isinstance(result, MoveResult):
            raise TypeError(f"a move must produce a MoveResult, got {type(result).__name__}")
        if result.to_user and self._note_reply is not None:
            self._note_reply(self.instance, move, result, self.episode_state)
        details = {"name": move.name, "argument": move.argument, "source": result.source, **result.details}
        return self._side_step(result.text, 0.0 - float(result.cost), result.end_episode, "move", details)

    def _side_step(
        self, text: str, reward: float, terminated: bool, key: str, details: dict[str, Any]
    ) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """The step result of a reply that is not an answer: ``info[key]`` holds what it did."""
        assert self.instance is not None
        observation = self._fit(text)
        self.messages.append({"role": "user", "content": observation})
        truncated = not terminated and self.turn >= self.max_turns
        self.done = terminated or truncated
        info = {
            "task_id": self.instance.task_id,
            "turn": self.turn,
            "verdict": None,
            "feedback": None,
            "repeated": False,
            key: details,
            "messages": self._messages_copy(),
        }
        if self._episode_info is not None:
            info["episode"] = self._episode_info(self.instance, self.episode_state)
        return observation, reward, terminated, truncated, info

    def _judge(self, action: str) -> Verdict:
        assert self.instance is not None
        if self._prejudged is not None:
            ready, self._prejudged = self._prejudged, None
            if ready[0] is action:
                return ready[1]
        if len(action) > self.max_action_length:
            return Verdict(
                correct=False,
                score=0.0,
                answer=None,
                reference=self.instance.reference,
                # No figures here: critics show form errors at hint levels that must carry no numbers.
                form_error="the reply is longer than the env's max_action_length; answer more briefly",
            )
        return self._check(self.instance, action)

    def _is_repeat(self, verdict: Verdict, action: str) -> bool:
        """Whether this final answer (whitespace and case aside) was given earlier in the episode."""
        text = verdict.answer if verdict.answer is not None else action
        answers = self._answers
        if not answers:  # the first answer repeats nothing; it is normalized when a second one comes
            answers.append(text)
            return False
        if len(answers) == 1:
            answers[0] = _answer_key(answers[0])
        key = _answer_key(text)
        repeated = key in answers
        answers.append(key)
        return repeated

    def _reward(self, verdict: Verdict, feedback: Feedback, repeated: bool) -> float:
        value = feedback.value if self.reward_from == "feedback" else None
        reward = verdict.score if value is None else value
        if self.turn_discount != 1.0:
            reward *= self.turn_discount ** (self.turn - 1)
        if repeated:
            reward -= self.repeat_penalty
        return float(reward)

    def _fit(self, text: str) -> str:
        limit = self.observation_space.max_length
        if len(text) <= limit:
            return text
        return text[: limit - len(_TRUNCATION_MARK)] + _TRUNCATION_MARK

    def _messages_copy(self) -> list[dict[str, str]]:
        return list(map(dict.copy, self.messages))


def _answer_key(text: str) -> str:
    """An answer as compared for repetition: whitespace runs collapsed, lower case (long text as is)."""
    return " ".join(text.split()).lower() if len(text) < 10_000 else text


ENV_ARGUMENTS = tuple(
    name for name in inspect.signature(FeedbackEnv.__init__).parameters if name not in ("self", "task_kwargs")
)


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _make_task(task: str | Task, task_kwargs: dict[str, Any]) -> Task:
    if isinstance(task, Task):
        if task_kwargs:
            raise ValueError(f"task kwargs {sorted(task_kwargs)} given with a ready-made Task object")
        return task
    task_cls = get_task(task)
    accepted = inspect.signature(task_cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = sorted(set(task_kwargs) - set(accepted))
    if unknown and not takes_any:
        raise ValueError(
            f"unknown argument(s) {', '.join(unknown)} for task {task!r}; it takes "
            f"{', '.join(accepted) or 'none'}, and the env takes {', '.join(ENV_ARGUMENTS)}"
        )
    try:
        return task_cls(**task_kwargs)
    except TypeError as error:
        raise ValueError(f"bad argument for task {task!r}: {error}") from error


def _task_default_simulator(task: Task, kind: str) -> str | None:
    """The task's own simulator for ``kind`` (its ``default_simulator``), or None for the per-kind default."""
    name = getattr(task, "default_simulator", None)
    if name is None or kind not in getattr(get_simulator(name), "kinds", ()):
        return None
    return name


def _make_simulator(
    name: str | None, kind: str, kwargs: dict[str, Any] | None, hint_level: int | None
) -> Simulator:
    if name is None:
        if kind not in DEFAULTS:
            raise ValueError(f"feedback={kind!r} has no default simulator here; name one with simulator=")
        name = DEFAULTS[kind]
    simulator_cls = get_simulator(name)
    kwargs = dict(kwargs or {})
    if hint_level is not None:
        if kind != "text":
            raise ValueError(f"hint_level applies to feedback='text', not {kind!r}")
        kwargs["hint_level"] = hint_level
    kinds = getattr(simulator_cls, "kinds", ())
    if kind not in kinds:
        raise ValueError(f"simulator {name!r} gives {', '.join(kinds) or 'no'} feedback, not {kind!r}")
    try:
        simulator = simulator_cls(kind=kind, **kwargs)
    except TypeError as error:
        raise ValueError(f"bad simulator_kwargs for {name!r}: {error}") from error
    if not callable(getattr(simulator, "respond", None)):
        raise ValueError(f"simulator {name!r} has no respond(instance, transcript, verdict, rng) method")
    return simulator
