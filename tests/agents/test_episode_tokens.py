"""Episodes as token ids: the loss mask covers exactly the agent's tokens, under two chat templates."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_llm import tiny_model_dir
from toy_tasks import EPISODE

from fbenv.agents.episode_tokens import encode_episode, is_agent

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir())


@pytest.fixture(scope="module")
def chatml(tokenizer):
    chatml = copy.deepcopy(tokenizer)
    chatml.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    chatml.eos_token = "<|im_end|>"
    chatml.chat_template = CHATML
    return chatml


def masked_text(tokenizer, encoded, agent: bool = True) -> str:
    return tokenizer.decode([t for t, m in zip(encoded.input_ids, encoded.agent_mask, strict=True) if m == agent])


def test_the_mask_covers_each_reply_and_its_end_token_and_nothing_else(tokenizer) -> None:
    encoded = encode_episode(tokenizer, EPISODE)
    assert masked_text(tokenizer, encoded) == "9 + 6 = 15\n15 - 5 = 11\nAnswer: 11<|end|>Answer: 10<|end|>"
    assert tokenizer.decode(encoded.input_ids) == tokenizer.apply_chat_template(
        [{"role": m["role"], "content": m["content"]} for m in EPISODE], tokenize=False)
    # each reply is one contiguous run that starts right after the generation prompt
    runs, previous = [], False
    for index, flag in enumerate(encoded.agent_mask):
        if flag and not previous:
            runs.append(index)
        previous = flag
    assert [tokenizer.decode([encoded.input_ids[i - 1]]) for i in runs] == ["<|assistant|>", "<|assistant|>"]


def test_under_chatml_the_newline_after_the_end_token_and_the_role_header_are_not_the_agents(chatml) -> None:
    encoded = encode_episode(chatml, EPISODE)
    assert masked_text(chatml, encoded) == "9 + 6 = 15\n15 - 5 = 11\nAnswer: 11<|im_end|>Answer: 10<|im_end|>"
    unmasked = masked_text(chatml, encoded, agent=False)
    assert unmasked.count("<|im_start|>assistant\n") == 2 and "Compute 9 + 6 - 5." in unmasked
    assert chatml.decode(encoded.input_ids) == chatml.apply_chat_template(
        [{"role": m["role"], "content": m["content"]} for m in EPISODE], tokenize=False)


@pytest.mark.parametrize("template", ["tiny", "chatml"])
def test_every_generation_prompt_is_a_prefix_of_the_training_sequence(tokenizer, chatml, template: str) -> None:
    tok = tokenizer if template == "tiny" else chatml
    full = encode_episode(tok, EPISODE).input_ids
    for index, message in enumerate(EPISODE):
        if is_agent(message):
            prompt = encode_episode(tok, EPISODE[:index], add_generation_prompt=True).input_ids
            assert full[: len(prompt)] == prompt


def test_sampled_ids_are_kept_verbatim_and_an_unfinished_reply_gets_an_unmasked_end_token(tokenizer) -> None:
    odd = tokenizer("Answer: 11", add_special_tokens=False)["input_ids"]
    odd = [*odd[:1], *tokenizer("A", add_special_tokens=False)["input_ids"], *odd[1:]]  # an unusual split
    finished = tokenizer("Answer: 10", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    encoded = encode_episode(tokenizer, EPISODE, {1: odd, 3: finished})
    agent_ids = [t for t, m in zip(encoded.input_ids, encoded.agent_mask, strict=True) if m]
    assert agent_ids == odd + finished
    after_odd = encoded.input_ids.index(odd[-1]) + 1
    assert encoded.input_ids[after_odd] == tokenizer.eos_token_id and not encoded.agent_mask[after_odd]


def test_messages_without_source_fall_back_to_roles_and_a_system_prompt_is_not_the_agents(tokenizer) -> None:
    plain = [{"role": "system", "content": "Be brief."},
             *({"role": m["role"], "content": m["content"]} for m in EPISODE)]
    encoded = encode_episode(tokenizer, plain)
    assert masked_text(tokenizer, encoded) == "9 + 6 = 15\n15 - 5 = 11\nAnswer: 11<|end|>Answer: 10<|end|>"
    assert "Be brief." in masked_text(tokenizer, encoded, agent=False)


def test_a_template_that_rewrites_earlier_turns_is_refused_with_the_fix(tokenizer) -> None:
    rewriting = copy.deepcopy(tokenizer)
    rewriting.chat_template = (  # shows only the last assistant message, as thinking templates drop old reasoning
        "{% for message in messages %}{% if message['role'] != 'assistant' or loop.last %}"
        "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    with pytest.raises(ValueError, match="prefix-preserving.*chat_template"):
        encode_episode(rewriting, EPISODE)
