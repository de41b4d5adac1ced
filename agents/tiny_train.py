"""The pieces the tiny-model recipe is made of: tokenizer, model, encoding, training loop, greedy replies.

Each is a plain function over ``tokenizers``/``transformers``/``torch`` objects, imported inside it, so
that this module (and ``fbenv.agents``) costs nothing to import. :mod:`fbenv.agents.tiny_model` puts
them together.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fbenv.agents.tiny_data import Demo

SPECIAL_TOKENS = ("<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>")
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

#: An encoded demonstration: (token ids, how many leading ids are context rather than target).
Example = tuple[list[int], int]


def build_tokenizer(texts: Sequence[str], vocab_size: int = 1024) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts``, with the chat template.

    Digits are split one per token (arithmetic is learnt digit by digit); there is no split at white
    space, so frequent phrases (the env's format instructions, feedback sentences) become single tokens
    and sequences stay short. Every byte is in the alphabet, so any text round-trips and nothing is unknown.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    raw.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<|pad|>", eos_token="<|end|>",
                                        additional_special_tokens=list(SPECIAL_TOKENS[2:]))
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_model(tokenizer: Any, *, hidden_size: int, layers: int, heads: int, intermediate_size: int) -> Any:
    """A freshly initialised ``LlamaForCausalLM`` (seed torch first) that stops at the end-of-turn token."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=4096, tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    return model


def encode_demos(tokenizer: Any, demos: Sequence[Demo]) -> list[Example]:
    """Each demonstration as (token ids, how many leading ids are context, not target).

    The target is the final assistant reply and its end-of-turn token; the context is everything the
    chat template renders before it, generation prompt included (so wrong attempts are never learnt).
    """
    fulls = [tokenizer.apply_chat_template(list(d.messages), tokenize=False) for d in demos]
    prefixes = [tokenizer.apply_chat_template(list(d.messages[:-1]), tokenize=False, add_generation_prompt=True)
                for d in demos]
    full_ids = tokenizer(fulls, add_special_tokens=False)["input_ids"]
    prefix_ids = tokenizer(prefixes, add_special_tokens=False)["input_ids"]
    examples = []
    for ids, prefix in zip(full_ids, prefix_ids, strict=True):
        if ids[:len(prefix)] != prefix:
            raise AssertionError("the chat template's prefix does not tokenize as a prefix of the chat")
        examples.append((ids, len(prefix)))
    return examples


def batches(examples: Sequence[Example], *, steps: int, batch_size: int, pad_id: int, seed: str) -> Iterator[dict]:
    """``steps`` padded batches in a seeded order; each groups examples of similar length (less padding)."""
    import torch

    if not examples:
        raise ValueError("no examples to make batches of")
    rng = random.Random(seed)
    pool = batch_size * 32  # examples shuffled, then sorted by length within a pool of 32 batches
    order: list[int] = []
    made = 0
    while made < steps:
        while len(order) < pool:
            order += rng.sample(range(len(examples)), len(examples))
        chunk, order = sorted(order[:pool], key=lambda i: len(examples[i][0])), order[pool:]
        groups = [chunk[i:i + batch_size] for i in range(0, pool, batch_size)]
        rng.shuffle(groups)
        for group in groups[:steps - made]:
            width = max(len(examples[i][0]) for i in group)
            ids = torch.full((len(group), width), pad_id)
            labels = torch.full((len(group), width), -100)
            mask = torch.zeros((len(group), width), dtype=torch.long)
            for row, i in enumerate(group):
                tokens, context = examples[i]
                ids[row, :len(tokens)] = torch.tensor(tokens)
                labels[row, context:len(tokens)] = torch.tensor(tokens[context:])
                mask[row, :len(tokens)] = 1
            made += 1
            yield {"input_ids": ids, "attention_mask": mask, "labels": labels}


class Trainer:
    """AdamW with linear warm-up then cosine decay to a tenth of ``lr`` over ``total_steps``.

    :meth:`run` may be called several times (the recipe trains in two phases); the schedule continues.
    """

    def __init__(self, model: Any, *, lr: float, warmup: int, total_steps: int,
                 log: Callable[[str], None] = lambda _: None) -> None:
        import torch

        self.model, self.log, self.step = model, log, 0
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.losses: list[float] = []
        self.last_loss = math.nan
        self.start = time.perf_counter()

    def run(self, data: Iterator[dict]) -> None:
        """One optimizer step per batch; the loss is logged every 100 steps."""
        import torch

        self.model.train()
        for batch in data:
            loss = self.model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.last_loss = loss.item()
            if self.step % 100 == 0:
                self.losses.append(round(loss.item(), 4))
                self.log(f"step {self.step}: loss {self.losses[-1]:.4f} ({time.perf_counter() - self.start:.0f}s)")
            self.step += 1
        self.model.eval()


def greedy_replies(model: Any, tokenizer: Any, chats: Sequence[Sequence[dict[str, str]]], *,
                   max_new_tokens: int = 64, batch_size: int = 64) -> list[str]:
    """The model's greedy reply to each chat (a list of messages), generated in left-padded batches."""
    import torch

    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    replies: list[str] = []
    try:
        for start in range(0, len(chats), batch_size):
            texts = [tokenizer.apply_chat_template(list(chat), tokenize=False, add_generation_prompt=True)
                     for chat in chats[start:start + batch_size]]
            inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
            replies += tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
    return replies


@contextlib.contextmanager
def torch_settings(threads: int) -> Iterator[None]:
    """torch on ``threads`` threads with deterministic algorithms, both restored afterwards."""
    import torch

    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])


@contextlib.contextmanager
def no_progress_bars() -> Iterator[None]:
    """Silence transformers' progress bars (saving and loading a tiny model is instant)."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()
