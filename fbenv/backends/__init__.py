"""Text-generation backends shared by LLM-backed simulators and agents (``fbenv.backends``).

``make_backend("hf:PATH" | "openai:MODEL@URL" | "vllm:PATH")`` gives a :class:`Backend`; wrap it in
:class:`CachedBackend` (identical requests served once) and :class:`BatchingBackend` (concurrent
callers merged into one batch). Importing this package imports no torch, transformers or vllm: each
backend imports its library when it is created. See ``docs/backends.md``.
"""

from __future__ import annotations

from fbenv.backends.base import SPEC_FORMS, Backend, Generation, GenerationRequest, make_backend
from fbenv.backends.batching import BatchingBackend
from fbenv.backends.cache import CachedBackend

__all__ = [
    "SPEC_FORMS",
    "Backend",
    "BatchingBackend",
    "CachedBackend",
    "Generation",
    "GenerationRequest",
    "make_backend",
]
