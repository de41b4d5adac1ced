"""A tiny chat model built from scratch for the tests: no download, a few seconds on a CPU.

A byte-level BPE tokenizer is trained with ``tokenizers`` on generated math Q/A text and wrapped as a
``PreTrainedTokenizerFast`` with a chat template; a 2-layer ``LlamaForCausalLM`` (hidden size 64) is
trained for a few dozen steps on chat-formatted examples so that it emits critique-like text and an
end-of-turn token. Both are saved with ``save_pretrained`` and loaded back through ``hf:PATH``.
"""

from __future__ import annotations

import atexit
import functools
import random
import shutil
import tempfile

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIALS = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
CRITIQUES = [
    "Check the second step again.",
    "Your addition is wrong.",
    "Look at the first step.",
    "Good, that is correct.",
    "Recheck the multiplication.",
]


def corpus(lines: int = 400, seed: int = 0) -> list[tuple[str, str]]:
    """(question, critique) pairs of simple arithmetic text."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(lines):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        op = rng.choice("+-*")
        value = eval(f"{a} {op} {b}")
        shown = value + rng.choice([0, 0, 1, -1, 10])
        question = f"Problem: what is {a} {op} {b}? Reply: {a} {op} {b} = {shown}. Answer: {shown}"
        pairs.append((question, rng.choice(CRITIQUES)))
    return pairs


@functools.cache
def tiny_model_dir(train_steps: int = 40) -> str:
    """Build, train and save the tiny model once per process; returns its directory."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    pairs = corpus()
    texts = [q for q, _ in pairs] + [c for _, c in pairs] + [
        "You are a teacher giving feedback on a student's answer. Ground truth: reference answer, "
        "the reply is correct or wrong, first wrong step, checker's note. Write a short critique."
    ] * 20
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    raw.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<|pad|>", eos_token="<|end|>",
                                        additional_special_tokens=SPECIALS[2:])
    tokenizer.chat_template = CHAT_TEMPLATE

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    chats = [tokenizer.apply_chat_template([{"role": "user", "content": q}, {"role": "assistant", "content": c}],
                                           tokenize=False) for q, c in pairs]
    tokenizer.padding_side = "right"
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    rng = random.Random(1)
    for _ in range(train_steps):
        batch = tokenizer(rng.sample(chats, 16), return_tensors="pt", padding=True, add_special_tokens=False)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    path = tempfile.mkdtemp(prefix="fbenv-tiny-llm-")
    atexit.register(shutil.rmtree, path, True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
