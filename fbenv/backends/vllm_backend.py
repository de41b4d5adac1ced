"""VLLMBackend: a local model on vllm's offline engine (one ``LLM.chat`` call per batch; needs a GPU)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fbenv.backends.base import Generation, GenerationRequest


class VLLMBackend:
    """Generates with ``vllm.LLM(model=path, **engine_kwargs)``.

    vllm batches a whole ``generate`` call itself (continuous batching). Each request's
    ``SamplingParams`` carries its own temperature, max_tokens and seed, so sampled output is
    reproducible per request on the same GPU and vllm version.

    Raises:
        RuntimeError: when vllm is not installed or no CUDA GPU is visible.
    """

    def __init__(self, path: str, **engine_kwargs: Any) -> None:
        try:
            import vllm
        except ImportError as error:
            raise RuntimeError(
                "the vllm backend needs the vllm package (pip install vllm) and a CUDA GPU; "
                "without a GPU use hf:PATH (transformers) or openai:MODEL@URL (a server elsewhere)"
            ) from error
        try:
            import torch

            has_gpu = torch.cuda.is_available()
        except ImportError:
            has_gpu = False
        if not has_gpu:
            raise RuntimeError(
                "the vllm backend needs a CUDA GPU and none is visible; "
                "use hf:PATH (transformers, runs on CPU) or openai:MODEL@URL instead"
            )
        self._vllm = vllm
        self.llm = vllm.LLM(model=path, **engine_kwargs)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One generation per request, all in one engine call."""
        if not requests:
            return []
        params = [self._vllm.SamplingParams(temperature=r.temperature, max_tokens=r.max_tokens, seed=r.seed)
                  for r in requests]
        start = time.perf_counter()
        outputs = self.llm.chat([list(r.messages) for r in requests], params, use_tqdm=False)
        latency = time.perf_counter() - start
        return [
            Generation(
                text=output.outputs[0].text,
                prompt_tokens=len(output.prompt_token_ids or ()),
                completion_tokens=len(output.outputs[0].token_ids),
                latency_s=latency,
            )
            for output in outputs
        ]
