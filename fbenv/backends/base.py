"""The backend interface shared by LLM-backed simulators (and, later, agents).

A backend turns a batch of chat requests into a batch of generations: one ``generate`` call is one
batch, so a backend that can serve many prompts at once (a local model, a server) gets them together.
Heavy libraries (torch, transformers, vllm) are imported only by the backend that needs them, so
``import fbenv.backends`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: The spec forms :func:`make_backend` accepts, for error messages and the docs.
SPEC_FORMS = (
    "hf:PATH (a local transformers model directory)",
    "openai:MODEL@URL (an OpenAI-compatible server, e.g. openai:my-model@http://127.0.0.1:8000/v1)",
    "vllm:PATH (a local model served by vllm's offline engine; needs a GPU)",
)


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion to make.

    Attributes:
        messages: OpenAI-style chat messages, each ``{"role": ..., "content": ...}``.
        max_tokens: at most this many new tokens.
        temperature: 0 for greedy decoding, else the sampling temperature.
        seed: the sampling seed (ignored by greedy decoding).
    """

    messages: tuple[dict[str, str], ...]
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.messages, tuple):
            object.__setattr__(self, "messages", tuple(self.messages))
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens!r}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature!r}")

    def key(self) -> tuple:
        """A hashable key naming this request exactly (messages, max_tokens, temperature, seed)."""
        messages = tuple(tuple(sorted(message.items())) for message in self.messages)
        return (messages, self.max_tokens, float(self.temperature), self.seed)


@dataclass(frozen=True)
class Generation:
    """What a backend generated for one request.

    Attributes:
        text: the generated reply (the new text only, without the prompt).
        prompt_tokens: tokens in the prompt as the backend counted them.
        completion_tokens: tokens generated.
        latency_s: wall-clock seconds of the call (or batch) that produced it.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


@runtime_checkable
class Backend(Protocol):
    """Anything that turns a batch of requests into one generation per request, in order."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One generation per request, in the same order; one call is one batch."""
        ...


def make_backend(spec: str) -> Backend:
    """A backend from a spec string: ``hf:PATH``, ``openai:MODEL@URL`` or ``vllm:PATH``.

    Raises:
        ValueError: for an unknown or malformed spec (the message lists the accepted forms).
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise _bad_spec(spec)
    scheme, _, rest = spec.partition(":")
    if scheme == "hf" and rest:
        from fbenv.backends.transformers_backend import TransformersBackend

        return TransformersBackend(rest)
    if scheme == "vllm" and rest:
        from fbenv.backends.vllm_backend import VLLMBackend

        return VLLMBackend(rest)
    if scheme == "openai":
        model, at, url = rest.partition("@")
        if model and at and url.startswith(("http://", "https://")):
            from fbenv.backends.openai_backend import OpenAIBackend

            return OpenAIBackend(model, url)
    raise _bad_spec(spec)


def _bad_spec(spec: object) -> ValueError:
    forms = "; ".join(SPEC_FORMS)
    return ValueError(f"bad backend spec {spec!r}; use one of: {forms}")
