"""Model-backed agents: any backend (``hf:``, ``vllm:``, ``openai:``) as a policy, plain or Reflexion-style.

Both agents send one backend call per batch of turns, so a vector of envs is served by one
generation call. Sampling (``temperature > 0``) is seeded per episode and turn, so a rerun of the
same episodes gives the same replies on the same backend.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from fbenv.agents.base import Message, Turn
from fbenv.backends import Backend, GenerationRequest, make_backend

REFLECT_PROMPT = (
    "Your last answer was not accepted. In two or three sentences, say what went wrong and what you "
    "will do differently. Do not give the answer yet."
)


class LLMAgent:
    """Replies with a chat model: the episode's messages (plus an optional system prompt) are the prompt.

    Args:
        backend: a backend spec (``hf:PATH``, ``vllm:PATH``, ``openai:MODEL@URL``) or a Backend.
        name: how result files name the agent (default: the spec).
        system_prompt: prepended as a system message, if given.
        max_tokens: new tokens per reply.
        temperature: 0 for greedy decoding.
    """

    def __init__(self, backend: str | Backend, name: str | None = None, system_prompt: str | None = None,
                 max_tokens: int = 256, temperature: float = 0.0) -> None:
        self.backend = make_backend(backend) if isinstance(backend, str) else backend
        self.name = name or (backend if isinstance(backend, str) else type(backend).__name__)
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self.temperature = temperature

    def act(self, turns: Sequence[Turn]) -> list[str]:
        """One generation per turn, all in one backend call."""
        if not turns:
            return []
        requests = [self._request(turn, self._prompt(turn)) for turn in turns]
        return [generation.text for generation in self.backend.generate(requests)]

    def _prompt(self, turn: Turn) -> list[Message]:
        messages = [dict(message) for message in turn.messages]
        if self.system_prompt:
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        return messages

    def _request(self, turn: Turn, messages: list[Message], salt: str = "") -> GenerationRequest:
        # Not seeded by the episode key (it names the feedback condition): the first reply on an instance
        # is the same sample under every condition, so conditions compare paired.
        seed = zlib.crc32(f"{turn.seed}/{len(turn.messages)}/{salt}".encode())
        return GenerationRequest(tuple(messages), max_tokens=self.max_tokens, temperature=self.temperature,
                                 seed=seed)


class ReflexionAgent(LLMAgent):
    """Reflexion-style retries: after a rejected answer, first reflect in words, then answer with the memory.

    Each episode keeps its reflections (memory); every later prompt carries them in a system message,
    so the model retries with what it learned, not only with the raw feedback. Two backend calls per
    batch after feedback (all reflections, then all answers), one on first turns.
    """

    def __init__(self, backend: str | Backend, name: str | None = None, max_memory: int = 3, **kwargs: object) -> None:
        super().__init__(backend, name=name or f"reflexion:{backend if isinstance(backend, str) else 'backend'}",
                         **kwargs)  # type: ignore[arg-type]
        self.max_memory = max_memory
        self.memory: dict[str, list[str]] = {}

    def act(self, turns: Sequence[Turn]) -> list[str]:
        """Reflect where the last answer got feedback, then answer every turn."""
        for turn in turns:
            if len(turn.messages) <= 1:
                self.memory.pop(turn.episode, None)  # a new episode starts with an empty memory
        retrying = [turn for turn in turns if len(turn.messages) >= 3]
        if retrying:
            reflect = [self._request(turn, [*self._prompt(turn), {"role": "user", "content": REFLECT_PROMPT}],
                                     salt="reflect") for turn in retrying]
            for turn, generation in zip(retrying, self.backend.generate(reflect), strict=True):
                notes = self.memory.setdefault(turn.episode, [])
                notes.append(generation.text.strip())
                del notes[: -self.max_memory]
        return super().act(turns)

    def _prompt(self, turn: Turn) -> list[Message]:
        messages = super()._prompt(turn)
        notes = self.memory.get(turn.episode)
        if notes:
            memory = "Reflections on your earlier attempts:\n" + "\n".join(f"- {note}" for note in notes)
            if messages and messages[0]["role"] == "system":  # one system message: some templates allow no more
                messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{memory}"}
            else:
                messages.insert(0, {"role": "system", "content": memory})
        return messages
