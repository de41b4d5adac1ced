"""CachedBackend: serve identical requests once.

Two requests are identical when their messages, ``max_tokens``, ``temperature`` and ``seed`` are
equal. Identical requests in one batch are sent to the inner backend once; later batches are served
from the cache (least recently used entries are dropped past ``max_entries``). Thread-safe: the lock
guards only the cache, never the inner call, so concurrent callers still overlap (and batch).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from fbenv.backends.base import Backend, Generation, GenerationRequest


class CachedBackend:
    """A backend that remembers the generation for each distinct request.

    Args:
        inner: the backend that generates on a miss.
        max_entries: how many generations to keep (least recently used dropped first).

    ``hits`` and ``misses`` count requests served from the cache and sent to ``inner``.
    """

    def __init__(self, inner: Backend, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries!r}")
        self.inner = inner
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple, Generation] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One generation per request; only requests not seen before reach the inner backend."""
        keys = [request.key() for request in requests]
        results: dict[tuple, Generation] = {}
        todo: dict[tuple, GenerationRequest] = {}
        with self._lock:
            for key, request in zip(keys, requests, strict=True):
                if key in results or key in todo:
                    self.hits += 1
                elif key in self._cache:
                    self._cache.move_to_end(key)
                    results[key] = self._cache[key]
                    self.hits += 1
                else:
                    todo[key] = request
                    self.misses += 1
        if todo:
            generated = self.inner.generate(list(todo.values()))
            if len(generated) != len(todo):
                raise RuntimeError(f"backend {type(self.inner).__name__} returned {len(generated)} generations "
                                   f"for {len(todo)} requests")
            with self._lock:
                for key, generation in zip(todo, generated, strict=True):
                    results[key] = generation
                    self._cache[key] = generation
                    self._cache.move_to_end(key)
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        return [results[key] for key in keys]

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)
