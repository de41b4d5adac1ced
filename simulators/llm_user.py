"""``llm-persona-user``: the conversation user voiced by a language model, decided by the rule user.

The rule-based :class:`~fbenv.simulators.user.PersonaUser` still decides everything that matters —
what to reveal this turn (the whole answer, part of it, a slip, a correction), whether an attempt is
accepted, when patience runs out — so labels, signals, leaving and the episode's course are the
rule user's. The model only says it in its own words: its system prompt holds the user's goal and
persona, and each turn it gets the conversation so far and the rule user's message as guidance
("say this, add no other fact"). Binary, unary, process and none feedback have no words to voice.

The backend plumbing is the critic's (:class:`~fbenv.simulators.llm_critic.ModelVoice`: one shared,
cached and batching backend per spec); ``usage`` (tokens, latency) is recorded in
``info["feedback"].usage`` and ``info["move"]["usage"]``. Model text is not assumed reproducible,
so the simulator is flagged ``nondeterministic`` (the determinism contract test skips it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from fbenv.simulators.base import Message
from fbenv.simulators.llm_critic import ModelVoice
from fbenv.simulators.persona import Persona
from fbenv.simulators.user import PersonaUser
from fbenv.tasks.base import Instance

SYSTEM_PROMPT = (
    "You are role-playing a user talking to an assistant. You want this (the assistant must find it out by "
    "asking; never say more of it than your guidance for the turn says):\n{goal}\n\nWho you are: {persona}\n\n"
    "Each turn you get the conversation so far and guidance: the message you mean to send. Rewrite it in your "
    "own words and voice. Keep every fact in it exactly (values, names, numbers, examples in quotes), add no "
    "other fact, and reply with the message only."
)
_VERBOSITY = {"terse": "you answer in as few words as possible", "normal": "you answer in a plain sentence or two",
              "chatty": "you are chatty and add a little small talk"}
_STYLE = {"direct": "when something is wrong you say plainly what you need",
          "indirect": "when something is wrong you hint at it rather than say what you need",
          "minimal": "when something is wrong you say very little"}
_SIGNALS = {"answer": "answers the assistant's question", "partial": "says you are not sure yet",
            "repeat": "reminds them you said this before", "clarification": "corrects or asks about a misunderstanding",
            "thanks": "thanks them: they got it right", "follow-up": "asks a follow-up question",
            "reformulation": "restates what you need in other words", "complaint": "says what is wrong",
            "leaving": "ends the conversation: you are leaving"}
_RECENT = 8  # messages of the conversation shown to the model
_SHOWN = 600  # characters of each


class LLMPersonaUser(PersonaUser):
    """The persona user's decisions in a language model's words (see the module docstring).

    Args:
        backend: a backend spec, ``hf:PATH``, ``openai:MODEL@URL`` or ``vllm:PATH``.
        persona: fixed persona fields, as for ``persona-user``.
        hint_level: as for ``persona-user``.
        max_tokens: a message's length limit in tokens.
        temperature: 0 for greedy decoding; above 0 the sampling seed is drawn from the env's ``rng``.
        system_prompt: replaces :data:`SYSTEM_PROMPT` (``{goal}`` and ``{persona}`` are filled in).
    """

    name = "llm-persona-user"
    nondeterministic: ClassVar[bool] = True
    batched: ClassVar[bool] = True

    def __init__(self, kind: str | None = None, backend: str | None = None,
                 persona: Mapping[str, Any] | None = None, hint_level: int | None = None, max_tokens: int = 120,
                 temperature: float = 0.0, system_prompt: str | None = None) -> None:
        super().__init__(kind, persona, hint_level)
        self.model = ModelVoice(self.name, backend, max_tokens, temperature)  # type: ignore[arg-type]
        self.system_prompt = SYSTEM_PROMPT if system_prompt is None else system_prompt

    def voice(self, text: str, signal: str, instance: Instance, transcript: Sequence[Message],
              rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
        """The model's wording of the rule user's ``text``; the rule text itself if the model says nothing."""
        messages = user_messages(instance, transcript, text, signal, self.persona, self.system_prompt)
        said, usage = self.model.say(messages, rng)
        return said or text, usage


def user_messages(instance: Instance, transcript: Sequence[Message], guidance: str, signal: str,
                  persona: Persona | None, system_prompt: str = SYSTEM_PROMPT) -> tuple[dict[str, str], ...]:
    """The chat sent to the model for one user turn: goal and persona, conversation, guidance."""
    goal = "\n".join(f"- {line}" for line in instance.data.get("goal", ())) or f"- You asked:\n{instance.prompt}"
    who = "; ".join([_VERBOSITY[persona.verbosity], _STYLE[persona.feedback_style]]) if persona else "an ordinary user"
    system = system_prompt.format(goal=goal, persona=who)
    recent = list(transcript[1:])[-_RECENT:]  # the first message is the task's prompt to the agent
    conversation = "\n".join(f"[{'assistant' if m['role'] == 'assistant' else 'you'}] {str(m['content'])[:_SHOWN]}"
                             for m in recent) or "(nothing yet)"
    user_turn = (f"Conversation so far:\n{conversation}\n\nGuidance (your message; it "
                 f"{_SIGNALS.get(signal, 'replies')}):\n{guidance}\n\nYour message:")
    return ({"role": "system", "content": system}, {"role": "user", "content": user_turn})
