"""OpenAIBackend against a real local server process (``fake_openai_server.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from server_process import stats

from fbenv.backends import GenerationRequest, make_backend
from fbenv.backends.openai_backend import BackendError, OpenAIBackend

Start = Callable[..., str]


def req(text: str, **kwargs: object) -> GenerationRequest:
    return GenerationRequest(({"role": "system", "content": "Be brief."}, {"role": "user", "content": text}),
                             **kwargs)  # type: ignore[arg-type]


def test_generates_in_order_with_usage_and_sends_every_setting(openai_server: Start) -> None:
    url = openai_server()
    backend = make_backend(f"openai:tiny@{url}")
    out = backend.generate([req("one two three", max_tokens=3, temperature=0.5, seed=7), req("hello")])
    assert [g.text for g in out] == ["echo: one two", "echo: hello"]
    assert (out[0].prompt_tokens, out[0].completion_tokens) == (5, 3)
    assert all(g.latency_s > 0 for g in out)
    last = stats(url)["last"]["body"]
    assert last["model"] == "tiny"
    assert {k: last[k] for k in ("max_tokens", "temperature", "seed")} in (
        {"max_tokens": 3, "temperature": 0.5, "seed": 7}, {"max_tokens": 256, "temperature": 0.0, "seed": 0})
    assert last["messages"][0] == {"role": "system", "content": "Be brief."}


def test_api_key_from_argument_or_environment(openai_server: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    url = openai_server()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    OpenAIBackend("m", url).generate([req("x")])
    assert stats(url)["last"]["authorization"] is None
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    OpenAIBackend("m", url).generate([req("x")])
    assert stats(url)["last"]["authorization"] == "Bearer from-env"
    OpenAIBackend("m", url, api_key="given").generate([req("x")])
    assert stats(url)["last"]["authorization"] == "Bearer given"


def test_concurrency_is_limited(openai_server: Start) -> None:
    url = openai_server("--delay", "0.2")
    backend = OpenAIBackend("m", url, max_concurrency=3)
    start = time.perf_counter()
    out = backend.generate([req(f"q{i}") for i in range(9)])
    elapsed = time.perf_counter() - start
    assert [g.text for g in out] == [f"echo: q{i}" for i in range(9)]
    seen = stats(url)
    assert seen["requests"] == 9
    assert seen["max_in_flight"] == 3  # concurrent, but never more than 3
    assert 0.55 < elapsed < 5  # three waves of 0.2 s, not nine in a row


def test_retries_503_with_backoff_then_succeeds(openai_server: Start) -> None:
    url = openai_server("--fail-first", "2")
    backend = OpenAIBackend("m", url, retries=3, backoff_s=0.05)
    start = time.perf_counter()
    assert backend.generate([req("x")])[0].text == "echo: x"
    assert stats(url)["requests"] == 3
    assert time.perf_counter() - start >= 0.05 + 0.1  # exponential backoff: 0.05 then 0.1


def test_retries_429_too(openai_server: Start) -> None:
    url = openai_server("--fail-first", "1", "--fail-status", "429")
    assert OpenAIBackend("m", url, backoff_s=0.01).generate([req("x")])[0].text == "echo: x"
    assert stats(url)["requests"] == 2


def test_gives_up_after_the_retries_with_the_status_and_body(openai_server: Start) -> None:
    url = openai_server("--fail-first", "100")
    backend = OpenAIBackend("m", url, retries=2, backoff_s=0.01)
    with pytest.raises(BackendError, match=r"after 3 attempt\(s\).*HTTP 503.*overloaded"):
        backend.generate([req("x")])
    assert stats(url)["requests"] == 3


def test_client_errors_are_not_retried(openai_server: Start) -> None:
    url = openai_server()
    backend = OpenAIBackend("m", url, retries=3, backoff_s=0.01)
    with pytest.raises(BackendError, match=r"HTTP 400.*messages is required"):
        backend.generate([GenerationRequest(())])
    assert stats(url)["requests"] == 1
    with pytest.raises(BackendError, match=r"HTTP 404.*no route"):
        OpenAIBackend("m", url.removesuffix("/v1") + "/v2").generate([req("x")])


def test_timeout_is_retried_then_reported(openai_server: Start) -> None:
    url = openai_server("--delay", "2")
    backend = OpenAIBackend("m", url, timeout_s=0.2, retries=1, backoff_s=0.01)
    start = time.perf_counter()
    with pytest.raises(BackendError, match="timed out after 0.2 s"):
        backend.generate([req("x")])
    assert time.perf_counter() - start < 3
    assert stats(url)["requests"] == 2


def test_connection_refused_is_retried_then_reported() -> None:
    backend = OpenAIBackend("m", "http://127.0.0.1:9/v1", retries=1, backoff_s=0.01)  # port 9: nothing listens
    with pytest.raises(BackendError, match=r"after 2 attempt\(s\).*connection error"):
        backend.generate([req("x")])


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        OpenAIBackend("m", "http://x/v1", max_concurrency=0)
    with pytest.raises(ValueError, match="retries"):
        OpenAIBackend("m", "http://x/v1", retries=-1)
    with pytest.raises(ValueError, match="base_url"):
        OpenAIBackend("m", "x/v1")
