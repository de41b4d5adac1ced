"""The backend interface: requests, spec parsing, and a light ``import fbenv.backends``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fbenv.backends import Backend, Generation, GenerationRequest, make_backend
from fbenv.backends.openai_backend import OpenAIBackend


def test_import_loads_no_heavy_library() -> None:
    code = ("import sys, fbenv.backends, fbenv.simulators.llm_critic\n"
            "print(sorted(m for m in ('torch', 'transformers', 'vllm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_request_is_frozen_hashable_and_validated() -> None:
    request = GenerationRequest([{"role": "user", "content": "hi"}])  # a list becomes a tuple
    assert request.messages == ({"role": "user", "content": "hi"},)
    assert (request.max_tokens, request.temperature, request.seed) == (256, 0.0, 0)
    assert request.key() == GenerationRequest(({"content": "hi", "role": "user"},)).key()
    assert request.key() != GenerationRequest(request.messages, seed=1).key()
    with pytest.raises(AttributeError):
        request.seed = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="max_tokens"):
        GenerationRequest(request.messages, max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        GenerationRequest(request.messages, temperature=-1)
    assert Generation("x", 1, 2, 0.5).completion_tokens == 2


@pytest.mark.parametrize("spec", ["", "hf", "hf:", "vllm:", "openai:", "openai:model", "openai:@http://x/v1",
                                  "openai:model@127.0.0.1:8000/v1", "gpt-4", "anthropic:claude", "HF:/tmp/x"])
def test_bad_specs_name_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError, match=r"hf:PATH.*openai:MODEL@URL.*vllm:PATH"):
        make_backend(spec)


def test_openai_spec_makes_an_openai_backend() -> None:
    backend = make_backend("openai:my-model@http://127.0.0.1:9/v1/")
    assert isinstance(backend, OpenAIBackend) and isinstance(backend, Backend)
    assert backend.model == "my-model"
    assert backend.url == "http://127.0.0.1:9/v1/chat/completions"

