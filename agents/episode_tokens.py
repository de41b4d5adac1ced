"""An episode's chat messages as one token sequence with a mask that covers exactly the agent's tokens.

The trainer computes the policy-gradient loss on the tokens the policy produced and on nothing else:
not the env's prompt, not the critic's feedback, not the chat template's role headers. The sequence is
built one message at a time from the tokenizer's own chat template:

* the text *between* agent replies (role headers, the prompt, feedback, the generation prompt
  ``<|assistant|>``) is the template's rendering of the conversation so far, minus what is already
  covered; it is tokenized and masked out;
* an agent reply is either the exact token ids the policy sampled (``sampled``), so that training
  scores the very tokens that were generated, or, for a reply known only as text (a refinement
  sample, a record read from disk), the template's rendering of the reply up to and including the
  end-of-turn token (the model must learn to stop) but not what the template adds after it (Qwen's
  trailing newline);
* a sampled reply that stopped without an end-of-turn token (``max_tokens`` reached) gets the
  template's end-of-turn token appended *unmasked*, so the next message starts where the template
  expects it; the policy is not taught to stop where it did not.

The generation prompt of the next turn is built by the same function (``add_generation_prompt``),
so the context the policy sampled from is token for token the prefix that training scores. This
needs a *prefix-preserving* template (rendering k+1 messages starts with the rendering of k
messages); templates that rewrite earlier turns (Qwen3 strips past ``<think>`` blocks) are refused
with an error that names the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

AGENT = "agent"


@dataclass(frozen=True)
class EncodedEpisode:
    """Token ids of an episode and, per token, whether the agent produced it."""

    input_ids: list[int]
    agent_mask: list[bool]

    def __post_init__(self) -> None:
        if len(self.input_ids) != len(self.agent_mask):
            raise ValueError("input_ids and agent_mask must have the same length")

    @property
    def agent_tokens(self) -> int:
        """How many tokens the loss covers."""
        return sum(self.agent_mask)


def is_agent(message: Mapping[str, Any]) -> bool:
    """Whether a message is the agent's: its ``source`` says so (rollout records), else its role."""
    source = message.get("source")
    return source == AGENT if source is not None else message.get("role") == "assistant"


def encode_episode(
    tokenizer: Any,
    messages: Sequence[Mapping[str, Any]],
    sampled: Mapping[int, Sequence[int]] | None = None,
    *,
    add_generation_prompt: bool = False,
) -> EncodedEpisode:
    """Token ids and agent mask of ``messages`` rendered with ``tokenizer``'s chat template.

    Args:
        tokenizer: a Hugging Face tokenizer with a chat template.
        messages: chat messages in order; agent messages are those with ``source == "agent"`` or,
            without a ``source``, role ``assistant``. Extra keys (``source``) are not shown to the template.
        sampled: for some agent messages (by index in ``messages``), the token ids the policy sampled;
            they are used as they are instead of re-tokenizing the text.
        add_generation_prompt: end with the template's generation prompt (the context for the next reply).

    Raises:
        ValueError: the template is not prefix-preserving, or has no end-of-turn token where one is needed.
    """
    sampled = sampled or {}
    chat = [{"role": m["role"], "content": m["content"]} for m in messages]
    eos = tokenizer.eos_token
    ids: list[int] = []
    mask: list[bool] = []
    covered = ""  # the template text that ``ids`` stands for

    def add(text: str, agent: bool) -> None:
        if text:
            new = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids.extend(new)
            mask.extend([agent] * len(new))

    for index, message in enumerate(messages):
        if not is_agent(message):
            continue
        before = _render(tokenizer, chat[:index], generation_prompt=True)
        add(_rest(before, covered, index), agent=False)
        after = _render(tokenizer, chat[: index + 1], generation_prompt=False)
        reply = _rest(after, before, index)
        end = reply.rfind(eos) if eos else -1
        reply = reply[: end + len(eos)] if end >= 0 else reply  # what follows the end-of-turn token is not the agent's
        tokens = sampled.get(index)
        if tokens is None:
            add(reply, agent=True)
        else:
            ids.extend(int(t) for t in tokens)
            mask.extend([True] * len(tokens))
            if end >= 0 and (not tokens or int(tokens[-1]) != tokenizer.eos_token_id):
                add(eos, agent=False)  # stopped by max_tokens: close the turn as the template would, unmasked
        covered = before + reply
    if add_generation_prompt:
        add(_rest(_render(tokenizer, chat, generation_prompt=True), covered, len(chat)), agent=False)
    elif messages and not is_agent(messages[-1]):
        add(_rest(_render(tokenizer, chat, generation_prompt=False), covered, len(chat)), agent=False)
    return EncodedEpisode(ids, mask)


def _render(tokenizer: Any, chat: list[dict[str, str]], *, generation_prompt: bool) -> str:
    if not chat:
        return ""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the tokenizer has no chat template; set tokenizer.chat_template and save it with the model")
    return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=generation_prompt)


def _rest(text: str, prefix: str, index: int) -> str:
    if not text.startswith(prefix):
        raise ValueError(
            f"the chat template is not prefix-preserving: rendering the first {index} messages does not start with "
            "the rendering of the ones before, so an episode cannot be one token sequence whose prefixes are the "
            "prompts the policy saw (templates that rewrite earlier turns, e.g. Qwen3's removal of past <think> "
            "blocks, do this). Pass a training chat template that keeps earlier turns verbatim "
            "(GRPOArgs.chat_template; trl.chat_template_utils.get_training_chat_template gives one for Qwen3)"
        )
    return text[len(prefix):]
