"""How the trainer's policy generates: one agent, two engines (transformers on a CPU, vLLM on a GPU).

:class:`PolicyAgent` is an fbenv agent (``act(turns)``, batched) that generates from *token ids*:
each episode's context is built by :func:`~fbenv.agents.episode_tokens.encode_episode` from the
episode's messages and the exact ids the policy sampled on earlier turns, and the ids it samples now
are kept for the trainer. Training then scores the very tokens that were sampled, in the very
context they were sampled in (no re-tokenization drift between turns).

The engine behind it is a :class:`Sampler`:

* :class:`HFSampler` calls ``generate`` on the training model itself (CPU or one GPU): nothing to
  synchronise, every optimizer step is seen by the next sample.
* :class:`VLLMSampler` runs vLLM's offline engine in the trainer's process (TRL's "colocate" mode:
  ``distributed_executor_backend="external_launcher"``) and, after each optimizer step, copies the
  trainer's weights into the engine with the model's own ``load_weights`` and drops the prefix cache,
  so the next rollout samples from the updated policy.

torch, transformers and vllm are imported inside these classes only.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fbenv.agents.base import Message, Turn
from fbenv.agents.episode_tokens import encode_episode


class Sampler(Protocol):
    """Generates completions (token ids, the end-of-turn token included when produced) from prompt ids."""

    def generate(self, prompts: Sequence[Sequence[int]], max_tokens: int, temperature: float, seed: int
                 ) -> list[list[int]]:
        """One completion per prompt, in order; ``seed`` makes the call reproducible."""
        ...

    def sync_weights(self, model: Any) -> None:
        """Make the next ``generate`` sample from ``model``'s current weights."""
        ...


class HFSampler:
    """``model.generate`` on the training model itself (transformers), left-padded batches.

    Args:
        model: the policy (a causal LM); put in eval mode while generating, then restored.
        tokenizer: its tokenizer (pad and end-of-turn tokens are read from it).
        max_batch: prompts per ``generate`` call.
    """

    def __init__(self, model: Any, tokenizer: Any, max_batch: int = 64) -> None:
        import torch

        self._torch = torch
        self.model = model
        self.max_batch = max_batch
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        if self.pad_id is None:
            raise ValueError("the tokenizer has neither a pad nor an eos token; set tokenizer.pad_token")

    def generate(self, prompts: Sequence[Sequence[int]], max_tokens: int, temperature: float, seed: int
                 ) -> list[list[int]]:
        """Sampled (``temperature > 0``) or greedy completions; ``torch.manual_seed(seed)`` first."""
        torch = self._torch
        out: list[list[int]] = []
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        try:
            for start in range(0, len(prompts), self.max_batch):
                chunk = prompts[start:start + self.max_batch]
                width = max(len(p) for p in chunk)
                input_ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
                attention = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, prompt in enumerate(chunk):
                    input_ids[row, width - len(prompt):] = torch.tensor(list(prompt), dtype=torch.long)
                    attention[row, width - len(prompt):] = 1
                options: dict[str, Any] = {"max_new_tokens": max_tokens, "pad_token_id": self.pad_id,
                                           "eos_token_id": self.eos_id}
                if temperature > 0:
                    options.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
                else:
                    options.update(do_sample=False, temperature=None, top_k=None, top_p=None)
                torch.manual_seed(seed + start)
                with torch.inference_mode():
                    generated = self.model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                                                    **options)
                for row in generated[:, width:].tolist():
                    out.append(_cut(row, self.eos_id))
        finally:
            self.model.train(was_training)
        return out

    def sync_weights(self, model: Any) -> None:
        """Nothing to do: the sampler generates with the training model itself."""
        if model is not self.model:
            raise ValueError("HFSampler generates with the model it was built with; build a new one for another model")


class VLLMSampler:
    """vLLM's offline engine in the trainer's process, fed the trainer's weights after every optimizer step.

    Args:
        path: the checkpoint directory the engine starts from (the trainer's initial model).
        gpu_memory_utilization: the share of GPU memory vLLM may take (the rest is the trainer's).
        max_model_len: the longest context (prompt + completion) the engine accepts.
        dtype: the engine's dtype (``"auto"``: the checkpoint's).
        seed: the engine's seed.
        engine_kwargs: more ``vllm.LLM`` keyword arguments.

    Raises:
        RuntimeError: vllm is not installed or no CUDA GPU is visible.
    """

    def __init__(self, path: str, gpu_memory_utilization: float = 0.3, max_model_len: int = 4096,
                 dtype: str = "auto", seed: int = 0, **engine_kwargs: Any) -> None:
        try:
            import torch
            import vllm
        except ImportError as error:
            raise RuntimeError("generator='vllm' needs the vllm package (pip install 'fbenv[vllm]') and a CUDA "
                               "GPU; on a CPU use generator='hf'") from error
        if not torch.cuda.is_available():
            raise RuntimeError("generator='vllm' needs a CUDA GPU and none is visible; use generator='hf' on a CPU")
        # The engine lives in this process (as TRL's colocate mode does) so its model can take our weights
        # directly; external_launcher reads the torch.distributed variables of a one-process "world".
        for name, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1"),
                            ("MASTER_PORT", str(29500 + os.getpid() % 1000))):
            os.environ.setdefault(name, value)
        self._vllm = vllm
        self.llm = vllm.LLM(model=path, gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                            dtype=dtype, seed=seed, distributed_executor_backend="external_launcher",
                            enable_prefix_caching=True, **engine_kwargs)

    def generate(self, prompts: Sequence[Sequence[int]], max_tokens: int, temperature: float, seed: int
                 ) -> list[list[int]]:
        """All prompts in one engine call; request i is sampled with seed ``seed + i``."""
        if not prompts:
            return []
        params = [self._vllm.SamplingParams(temperature=temperature, max_tokens=max_tokens, seed=seed + i, top_p=1.0)
                  for i in range(len(prompts))]
        outputs = self.llm.generate([{"prompt_token_ids": list(p)} for p in prompts], params, use_tqdm=False)
        return [list(output.outputs[0].token_ids) for output in outputs]

    def sync_weights(self, model: Any) -> None:
        """Copy ``model``'s parameters into the engine's model and drop the KV prefix cache."""
        engine_model = _vllm_model(self.llm)
        for name, parameter in model.named_parameters():
            engine_model.load_weights([(name, parameter.data)])
        self.llm.reset_prefix_cache()


def _vllm_model(llm: Any) -> Any:
    try:
        return llm.llm_engine.model_executor.driver_worker.model_runner.model
    except AttributeError as error:
        raise RuntimeError(
            "this vLLM version does not expose llm.llm_engine.model_executor.driver_worker.model_runner.model, "
            "through which the trainer's weights are loaded; use a vLLM version TRL supports (0.22-0.31) with "
            "distributed_executor_backend='external_launcher'"
        ) from error


def _cut(row: list[int], eos_id: int | None) -> list[int]:
    """A generated row up to and including the first end-of-turn token (padding after it dropped)."""
    if eos_id is not None and eos_id in row:
        return row[: row.index(eos_id) + 1]
    return row


class PolicyAgent:
    """An fbenv agent that samples from the policy by token ids and remembers what it sampled, per episode.

    Args:
        tokenizer: the policy's tokenizer (its chat template builds every context).
        sampler: the engine (:class:`HFSampler` or :class:`VLLMSampler`).
        max_tokens: new tokens per reply.
        temperature: sampling temperature (0: greedy, for evaluation).
        system_prompt: a system message put before every episode, if given.
        name: how result records name the agent.
    """

    def __init__(self, tokenizer: Any, sampler: Sampler, max_tokens: int = 64, temperature: float = 1.0,
                 system_prompt: str | None = None, name: str = "policy") -> None:
        self.tokenizer = tokenizer
        self.sampler = sampler
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.system_prompt = system_prompt
        self.name = name
        self.sampled: dict[str, dict[int, list[int]]] = {}
        self.generated_tokens = 0
        self._seed = 0
        self._calls = 0

    def start(self, seed: int) -> None:
        """Forget earlier episodes and seed the coming calls (call once per batch of episodes)."""
        self.sampled = {}
        self.generated_tokens = 0
        self._seed = seed
        self._calls = 0

    def messages(self, messages: Sequence[Message]) -> list[Message]:
        """The messages the policy sees for an episode's messages: the system prompt first, if any."""
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*head, *messages]

    def act(self, turns: Sequence[Turn]) -> list[str]:
        """Sample one reply per turn, in one engine call; keep the sampled ids under the episode's key."""
        if not turns:
            return []
        contexts = [self.messages(turn.messages) for turn in turns]
        prompts = [encode_episode(self.tokenizer, context, self.sampled.get(turn.episode),
                                  add_generation_prompt=True).input_ids
                   for turn, context in zip(turns, contexts, strict=True)]
        seed = zlib.crc32(f"{self._seed}/{self._calls}".encode())
        self._calls += 1
        completions = self.sampler.generate(prompts, self.max_tokens, self.temperature, seed)
        replies = []
        for turn, context, ids in zip(turns, contexts, completions, strict=True):
            self.sampled.setdefault(turn.episode, {})[len(context)] = ids
            self.generated_tokens += len(ids)
            replies.append(self.tokenizer.decode(ids, skip_special_tokens=True))
        return replies

    def episode(self, key: str, messages: Sequence[Mapping[str, Any]]
                ) -> tuple[list[dict[str, Any]], dict[int, list[int]]]:
        """An episode's full message list as the policy saw it and the ids it sampled, for training."""
        return self.messages([dict(m) for m in messages]), self.sampled.get(key, {})
