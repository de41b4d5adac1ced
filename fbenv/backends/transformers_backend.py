"""TransformersBackend: a local Hugging Face model on CPU (or one GPU), batched ``model.generate``.

Determinism: with ``temperature == 0`` decoding is greedy, so the same model, torch version and
machine give the same text for a request. (Which other requests share its batch changes only the
left padding, which can move a logit in the last float bits, so across different batchings equal
text is very likely, not guaranteed.) With ``temperature > 0`` requests are grouped by
(temperature, seed); each group is sampled after ``transformers.set_seed(seed)``, so a request's text
is reproducible given the same group of requests in the same order, but it depends on that group.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from fbenv.backends.base import Generation, GenerationRequest


class TransformersBackend:
    """Generates with ``AutoModelForCausalLM`` from a local directory (never the Hub).

    Args:
        path: a directory written by ``save_pretrained`` holding the model and its tokenizer, whose
            tokenizer has a chat template.
        device: a torch device, ``"cpu"`` by default.
        dtype: a torch dtype or its name (``"bfloat16"``); None keeps the saved one.
        max_batch: at most this many prompts per ``model.generate`` call.

    ``latency_s`` of a Generation is the wall time of the ``model.generate`` call that produced it
    (shared by every request of that call). Calls are serialised with a lock: one model, one batch
    at a time (wrap in :class:`~fbenv.backends.batching.BatchingBackend` to merge callers).

    Raises:
        ValueError: the path is not a directory, or holds no loadable tokenizer, no chat template or
            no loadable model.
    """

    def __init__(self, path: str, device: str = "cpu", dtype: Any = None, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch!r}")
        if not os.path.isdir(path):
            raise ValueError(
                f"hf: model directory {path!r} does not exist; give a local directory written by "
                "save_pretrained (download a model first, e.g. `hf download MODEL --local-dir DIR`)"
            )
        import torch
        import transformers

        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(
                f"no tokenizer could be loaded from {path!r} ({error}); save the model's tokenizer there "
                "too (tokenizer.save_pretrained(path))"
            ) from error
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                f"the tokenizer in {path!r} has no chat template, so chat messages cannot be turned into a "
                "prompt; use an instruction-tuned model, or set tokenizer.chat_template to a Jinja template "
                "and save_pretrained it again"
            )
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            if tokenizer.eos_token is None:
                raise ValueError(f"the tokenizer in {path!r} has neither a pad nor an eos token; set one")
            tokenizer.pad_token = tokenizer.eos_token
        options: dict[str, Any] = {}
        if dtype is not None:  # the ``dtype`` keyword needs transformers >= 4.56 (``torch_dtype`` before)
            options["dtype"] = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True, **options)
        except (OSError, ValueError) as error:
            raise ValueError(f"no causal language model could be loaded from {path!r}: {error}") from error
        self.path = path
        self.device = device
        self.max_batch = max_batch
        self.tokenizer = tokenizer
        self.model = model.to(device).eval()
        self._torch = torch
        self._transformers = transformers
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One generation per request: greedy ones batched together, sampled ones by (temperature, seed)."""
        results: list[Generation | None] = [None] * len(requests)
        groups: dict[tuple[float, int | None], list[int]] = {}
        for index, request in enumerate(requests):
            key = (0.0, None) if request.temperature == 0 else (float(request.temperature), request.seed)
            groups.setdefault(key, []).append(index)
        with self._lock:
            for (temperature, seed), indices in groups.items():
                for start in range(0, len(indices), self.max_batch):
                    chunk = indices[start:start + self.max_batch]
                    generated = self._generate([requests[i] for i in chunk], temperature, seed)
                    for index, generation in zip(chunk, generated, strict=True):
                        results[index] = generation
        return [generation for generation in results if generation is not None]

    def _generate(self, requests: list[GenerationRequest], temperature: float, seed: int | None) -> list[Generation]:
        torch, tokenizer = self._torch, self.tokenizer
        prompts = [tokenizer.apply_chat_template([dict(m) for m in r.messages], add_generation_prompt=True,
                                                 tokenize=False)
                   for r in requests]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        max_new = max(r.max_tokens for r in requests)
        options: dict[str, Any] = {"max_new_tokens": max_new, "pad_token_id": tokenizer.pad_token_id}
        if tokenizer.eos_token_id is not None:
            options["eos_token_id"] = tokenizer.eos_token_id
        if seed is None:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            self._transformers.set_seed(seed)
            options.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0)
        start = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(**inputs, **options)
        latency = time.perf_counter() - start
        width = inputs["input_ids"].shape[1]
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
        generations = []
        for row, request in enumerate(requests):
            new = output[row, width:width + request.max_tokens].tolist()
            count = len(new)
            if tokenizer.eos_token_id is not None and tokenizer.eos_token_id in new:
                count = new.index(tokenizer.eos_token_id) + 1
            text = tokenizer.decode(new[:count], skip_special_tokens=True)
            generations.append(Generation(text=text, prompt_tokens=int(prompt_lengths[row]),
                                          completion_tokens=count, latency_s=latency))
        return generations
