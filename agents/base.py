"""The agent protocol: a batch of episodes-so-far in, one reply per episode out.

An agent is anything with ``act(turns) -> list[str]``. Every call is a batch (a list of one is
fine), so a model-backed agent can serve all pending envs in one generation call; the rollout
engine (:mod:`fbenv.eval.rollout`) sends every env waiting for a reply in the same call.

Agents are named on the command line by a spec (:func:`make_agent`):

=========================  ==========================================================
``oracle``                 the task's reference reply (an upper bound; reads the env)
``random``                 a seeded random answer in the task's format (a floor)
``fixed`` / ``fixed:TEXT``  always the same reply
``tiny``                   the tiny CPU model (trained on first use, then cached)
``hf:PATH``                a local transformers checkpoint, chat template applied
``vllm:PATH``              the same through vLLM's offline engine (GPU)
``openai:MODEL@URL``       any OpenAI-compatible server
``reflexion:SPEC``         Reflexion-style retry with memory over any model spec above
``package.module:Class``   your own agent class (constructed with no arguments)
=========================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from fbenv.registry import load_object

Message = dict[str, str]
MODEL_SCHEMES = ("hf", "vllm", "openai")


@dataclass(frozen=True)
class Turn:
    """One episode waiting for the agent's next reply.

    Attributes:
        messages: the episode so far as chat messages (the env's prompt first, the env's latest
            observation last).
        episode: a key naming the episode within the run (stable across resumes and workers), for
            agents that keep per-episode memory or seed their sampling.
        seed: the episode's reset seed, for agents that sample.
        env: the env itself, for agents that may look inside (the oracle); model agents ignore it.
    """

    messages: tuple[Message, ...]
    episode: str = ""
    seed: int = 0
    env: Any = field(default=None, compare=False, repr=False)


@runtime_checkable
class Agent(Protocol):
    """Anything that replies to a batch of episodes; ``name`` describes it in result files."""

    name: str

    def act(self, turns: Sequence[Turn]) -> list[str]:
        """One reply per turn, in order; one call is one batch."""
        ...


def make_agent(spec: str) -> Agent:
    """An agent from a spec string (see the table in this module's docstring).

    Raises:
        ValueError: for an unknown spec, naming the accepted forms.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"an agent spec must be a non-empty string, got {spec!r}; {_FORMS}")
    spec = spec.strip()
    from fbenv.agents import baselines

    if spec == "oracle":
        return baselines.OracleAgent()
    if spec == "random":
        return baselines.RandomAgent()
    if spec == "fixed" or spec.startswith("fixed:"):
        return baselines.FixedAgent(spec[6:] or "Answer: 0") if spec != "fixed" else baselines.FixedAgent()
    if spec == "tiny" or spec.startswith("tiny:"):
        from fbenv.agents.llm import LLMAgent
        from fbenv.agents.tiny_model import ensure_tiny_model

        path = ensure_tiny_model(spec[5:] or None)
        # Its math replies are ~40 tokens; a cap of 128 keeps its (hopeless) code replies from costing minutes.
        return LLMAgent(f"hf:{path}", name="tiny", max_tokens=128)
    scheme = spec.partition(":")[0]
    if scheme == "reflexion":
        from fbenv.agents.llm import ReflexionAgent

        inner = spec.partition(":")[2]
        return ReflexionAgent(_model_spec(inner))
    if scheme in MODEL_SCHEMES:
        from fbenv.agents.llm import LLMAgent

        return LLMAgent(spec)
    if ":" in spec:
        try:
            cls = load_object(spec)
        except (ImportError, AttributeError, ValueError) as error:
            raise ValueError(f"could not load agent {spec!r}: {error}; {_FORMS}") from error
        try:
            agent = cls()
        except TypeError as error:
            raise ValueError(f"could not build agent {spec!r} with no arguments: {error}") from error
        if not callable(getattr(agent, "act", None)):
            raise ValueError(f"{spec!r} has no act(turns) method, so it is not an agent")
        if not getattr(agent, "name", None):
            agent.name = spec
        return agent
    raise ValueError(f"unknown agent spec {spec!r}; {_FORMS}")


def _model_spec(spec: str) -> str:
    if spec == "tiny":
        from fbenv.agents.tiny_model import ensure_tiny_model

        return f"hf:{ensure_tiny_model()}"
    if spec.partition(":")[0] not in MODEL_SCHEMES:
        raise ValueError(f"reflexion needs a model spec (hf:PATH, vllm:PATH, openai:MODEL@URL or tiny), got {spec!r}")
    return spec


_FORMS = ("use oracle, random, fixed[:TEXT], tiny, hf:PATH, vllm:PATH, openai:MODEL@URL, reflexion:<model spec> "
          "or package.module:Class")
