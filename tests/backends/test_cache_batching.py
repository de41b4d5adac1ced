"""CachedBackend and BatchingBackend over a recording fake backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from fbenv.backends import BatchingBackend, CachedBackend, Generation, GenerationRequest


class Recorder:
    """Answers each request with its last message's content; records every call."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls: list[list[GenerationRequest]] = []
        self.delay = delay
        self.fail = fail
        self.lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        with self.lock:
            self.calls.append(list(requests))
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("backend down")
        return [Generation(f"re: {r.messages[-1]['content']} s{r.seed}", 3, 2, 0.01) for r in requests]


def req(text: str, **kwargs: object) -> GenerationRequest:
    return GenerationRequest(({"role": "user", "content": text},), **kwargs)  # type: ignore[arg-type]


def test_cache_serves_repeats_within_and_across_batches() -> None:
    inner = Recorder()
    cached = CachedBackend(inner)
    first = cached.generate([req("a"), req("b"), req("a")])
    assert [g.text for g in first] == ["re: a s0", "re: b s0", "re: a s0"]
    assert [len(call) for call in inner.calls] == [2]  # "a" sent once
    second = cached.generate([req("b"), req("a"), req("c")])
    assert [g.text for g in second] == ["re: b s0", "re: a s0", "re: c s0"]
    assert inner.calls[1] == [req("c")]
    assert (cached.hits, cached.misses, len(cached)) == (3, 3, 3)


def test_cache_key_has_every_generation_setting() -> None:
    inner = Recorder()
    cached = CachedBackend(inner)
    cached.generate([req("a"), req("a", seed=1), req("a", temperature=0.5), req("a", max_tokens=5)])
    assert len(inner.calls[0]) == 4


def test_cache_drops_least_recently_used() -> None:
    inner = Recorder()
    cached = CachedBackend(inner, max_entries=2)
    cached.generate([req("a"), req("b")])
    cached.generate([req("a")])  # a is now the most recent
    cached.generate([req("c")])  # drops b
    cached.generate([req("a"), req("b")])
    assert inner.calls[-1] == [req("b")]
    assert len(cached) == 2


def test_cache_is_thread_safe() -> None:
    inner = Recorder()
    cached = CachedBackend(inner)
    results: list[list[str]] = []

    def work(i: int) -> None:
        texts = [g.text for g in cached.generate([req(str(j % 10)) for j in range(i, i + 20)])]
        results.append(texts)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16
    assert all(text.startswith("re: ") for texts in results for text in texts)
    assert len(cached) == 10


def test_eight_concurrent_callers_make_one_inner_call() -> None:
    inner = Recorder()
    batching = BatchingBackend(inner, max_batch=64, window_s=0.5)
    barrier = threading.Barrier(8)
    results: dict[int, list[Generation]] = {}

    def call(i: int) -> None:
        barrier.wait()
        results[i] = batching.generate([req(f"q{i}")])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(inner.calls) == 1 and len(inner.calls[0]) == 8
    assert {i: [g.text for g in gens] for i, gens in results.items()} == {i: [f"re: q{i} s0"] for i in range(8)}
    assert batching.batches == 1
    assert time.perf_counter() - start < 5


def test_a_full_batch_goes_without_waiting_out_the_window() -> None:
    inner = Recorder()
    batching = BatchingBackend(inner, max_batch=4, window_s=30)
    barrier = threading.Barrier(4)
    out: dict[int, str] = {}

    def call(i: int) -> None:
        barrier.wait()
        out[i] = batching.generate([req(f"q{i}")])[0].text

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.perf_counter() - start < 5
    assert out == {i: f"re: q{i} s0" for i in range(4)}
    assert [len(c) for c in inner.calls] == [4]


def test_callers_with_several_requests_and_batch_limit() -> None:
    inner = Recorder(delay=0.05)
    batching = BatchingBackend(inner, max_batch=5, window_s=0.2)
    barrier = threading.Barrier(6)
    out: dict[int, list[str]] = {}

    def call(i: int) -> None:
        barrier.wait()
        out[i] = [g.text for g in batching.generate([req(f"q{i}-{j}") for j in range(2)])]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert out == {i: [f"re: q{i}-0 s0", f"re: q{i}-1 s0"] for i in range(6)}
    assert sum(len(c) for c in inner.calls) == 12
    assert all(len(c) <= 5 for c in inner.calls)  # whole callers only, never above max_batch
    assert len(inner.calls) >= 3


def test_a_single_call_larger_than_max_batch_is_one_batch() -> None:
    inner = Recorder()
    batching = BatchingBackend(inner, max_batch=2, window_s=0)
    texts = [g.text for g in batching.generate([req(str(i)) for i in range(5)])]
    assert texts == [f"re: {i} s0" for i in range(5)]
    assert [len(c) for c in inner.calls] == [5]
    assert batching.generate([]) == []


def test_every_caller_of_a_failed_batch_sees_the_error_and_the_next_batch_works() -> None:
    inner = Recorder(fail=True)
    batching = BatchingBackend(inner, window_s=0.2)
    barrier = threading.Barrier(3)
    errors: list[str] = []

    def call(i: int) -> None:
        barrier.wait()
        try:
            batching.generate([req(str(i))])
        except RuntimeError as error:
            errors.append(str(error))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == ["backend down"] * 3
    inner.fail = False
    assert batching.generate([req("x")])[0].text == "re: x s0"


def test_many_threads_many_rounds_each_get_their_own_results() -> None:
    inner = Recorder(delay=0.002)
    backend = BatchingBackend(CachedBackend(inner), max_batch=16, window_s=0.002)
    failures: list[str] = []

    def call(i: int) -> None:
        for round_ in range(20):
            text = backend.generate([req(f"t{i}r{round_}")])[0].text
            if text != f"re: t{i}r{round_} s0":
                failures.append(text)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(len(c) for c in inner.calls) == 32 * 20
    assert len(inner.calls) < 32 * 20  # some coalescing happened


@pytest.mark.parametrize(("kwargs", "match"), [({"max_batch": 0}, "max_batch"), ({"window_s": -1}, "window_s")])
def test_batching_settings_are_checked(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BatchingBackend(Recorder(), **kwargs)  # type: ignore[arg-type]
