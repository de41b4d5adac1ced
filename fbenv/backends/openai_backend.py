"""OpenAIBackend: any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp, TGI, OpenAI itself).

Only the standard library: ``urllib.request`` for HTTP, ``json``, and a thread pool so that a batch's
requests are in flight together (at most ``max_concurrency`` at once); the server batches them.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fbenv.backends.base import Generation, GenerationRequest

#: HTTP statuses worth retrying: rate limited, or the server is (temporarily) failing.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class BackendError(RuntimeError):
    """A request failed for good (after any retries); the message says why."""


class OpenAIBackend:
    """POSTs each request to ``{base_url}/chat/completions``.

    Args:
        model: the model name the server expects.
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
        api_key: sent as a Bearer token; defaults to the ``OPENAI_API_KEY`` environment variable
            (no header when neither is set, as local servers need none).
        max_concurrency: requests in flight at once.
        timeout_s: seconds before one attempt times out.
        retries: further attempts after a connection error, a timeout, a 429 or a 5xx, waiting
            ``backoff_s * 2**attempt`` seconds between them. Other errors (a 400, a 404, a reply
            that is not a chat completion) raise :class:`BackendError` at once.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 60,
        retries: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency!r}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="fbenv-openai")

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One generation per request; the requests are sent concurrently."""
        return list(self._pool.map(self._one, requests))

    def close(self) -> None:
        """Stop the request threads."""
        self._pool.shutdown(wait=True)

    def _one(self, request: GenerationRequest) -> Generation:
        payload = {
            "model": self.model,
            "messages": [dict(message) for message in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
        }
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        start = time.perf_counter()
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            http_request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(http_request, timeout=self.timeout_s) as response:
                    raw = response.read()
            except urllib.error.HTTPError as error:
                excerpt = _excerpt(error.read())
                if error.code in RETRY_STATUSES:
                    last = f"HTTP {error.code}: {excerpt}"
                    continue
                raise BackendError(f"POST {self.url} failed with HTTP {error.code}: {excerpt}") from error
            except TimeoutError as error:
                last = f"timed out after {self.timeout_s} s ({error})"
                continue
            except (urllib.error.URLError, ConnectionError, OSError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, TimeoutError):
                    last = f"timed out after {self.timeout_s} s ({reason})"
                else:
                    last = f"connection error: {reason}"
                continue
            return _parse(raw, self.url, time.perf_counter() - start)
        raise BackendError(f"POST {self.url} failed after {self.retries + 1} attempt(s); last error: {last}")


def _parse(raw: bytes, url: str, latency_s: float) -> Generation:
    """A Generation from a chat completion response body."""
    try:
        data: Any = json.loads(raw)
        text = data["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise BackendError(f"POST {url} returned something that is not a chat completion: {_excerpt(raw)}") from error
    usage = data.get("usage") or {}
    return Generation(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        latency_s=latency_s,
    )


def _excerpt(raw: bytes, limit: int = 300) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."
