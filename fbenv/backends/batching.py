"""BatchingBackend: coalesce concurrent ``generate`` calls into one inner batch.

Many envs stepping on threads (``fbenv.vector.ThreadedVectorEnv`` with an LLM critic) each ask for
one critique at about the same time. The first caller to arrive opens a batch and waits up to
``window_s`` for others (or until ``max_batch`` requests are queued); then one thread sends the whole
batch to the inner backend and hands every caller its own results. Callers that arrive while a batch
is being generated queue up for the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from fbenv.backends.base import Backend, Generation, GenerationRequest


class _Pending:
    """One caller's requests and, once its batch is done, its results (or the batch's error)."""

    __slots__ = ("done", "error", "requests", "results")

    def __init__(self, requests: list[GenerationRequest]) -> None:
        self.requests = requests
        self.results: list[Generation] | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingBackend:
    """A thread-safe backend that merges concurrent calls into one call of ``inner``.

    Args:
        inner: the backend that generates; it sees one call per batch.
        max_batch: send a batch as soon as this many requests are queued, and put at most this many
            in one batch, except that one caller's requests always go together (a single call with
            more requests than ``max_batch`` is one batch of its own).
        window_s: how long the first caller of a batch waits for others to join.

    ``batches`` counts the inner calls made. If the inner backend raises, every caller of that batch
    gets the exception.
    """

    def __init__(self, inner: Backend, max_batch: int = 64, window_s: float = 0.005) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch!r}")
        if window_s < 0:
            raise ValueError(f"window_s must be >= 0, got {window_s!r}")
        self.inner = inner
        self.max_batch = max_batch
        self.window_s = window_s
        self.batches = 0
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._queued = 0  # requests waiting in _queue
        self._leader = False  # a caller is collecting the next batch

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One generation per request, generated together with other threads' concurrent requests."""
        if not requests:
            return []
        mine = _Pending(list(requests))
        with self._cond:
            self._queue.append(mine)
            self._queued += len(mine.requests)
            self._cond.notify_all()
            batch = None
            while not mine.done:
                # The caller at the head of the queue leads the next batch when no one else is.
                if not self._leader and self._queue and self._queue[0] is mine:
                    batch = self._collect()
                    break
                self._cond.wait()
        if batch is not None:
            self._run(batch)
        # A leader's own requests are in its batch, so it is done now too.
        assert mine.done
        if mine.error is not None:
            raise mine.error
        assert mine.results is not None
        return mine.results

    def _collect(self) -> list[_Pending]:
        """(Lock held.) Wait out the window or a full batch, then take the batch off the queue."""
        self._leader = True
        self._cond.wait_for(lambda: self._queued >= self.max_batch, timeout=self.window_s)
        batch, size = [], 0
        while self._queue and (not batch or size + len(self._queue[0].requests) <= self.max_batch):
            pending = self._queue.pop(0)
            batch.append(pending)
            size += len(pending.requests)
        self._queued -= size
        self._leader = False
        self.batches += 1
        self._cond.notify_all()  # the new head of the queue (if any) leads the next batch meanwhile
        return batch

    def _run(self, batch: list[_Pending]) -> None:
        """Generate one batch outside the lock, then hand every caller its share."""
        flat = [request for pending in batch for request in pending.requests]
        error: BaseException | None = None
        generated: list[Generation] = []
        try:
            generated = list(self.inner.generate(flat))
            if len(generated) != len(flat):
                raise RuntimeError(f"backend {type(self.inner).__name__} returned {len(generated)} generations "
                                   f"for {len(flat)} requests")
        except BaseException as caught:  # every caller of the batch must wake up and see it
            error = caught
        with self._cond:
            start = 0
            for pending in batch:
                if error is not None:
                    pending.error = error
                else:
                    pending.results = generated[start:start + len(pending.requests)]
                    start += len(pending.requests)
                pending.done = True
            self._cond.notify_all()
