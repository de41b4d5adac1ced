"""TransformersBackend on a tiny model built and saved by the tests, loaded through ``hf:PATH``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from tiny_llm import tiny_model_dir

from fbenv.backends import GenerationRequest, make_backend
from fbenv.backends.transformers_backend import TransformersBackend

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend() -> TransformersBackend:
    made = make_backend("hf:" + tiny_model_dir())
    assert isinstance(made, TransformersBackend)
    return made


def req(text: str, **kwargs: object) -> GenerationRequest:
    return GenerationRequest(({"role": "user", "content": text},), **kwargs)  # type: ignore[arg-type]


def test_a_batch_of_greedy_requests(backend: TransformersBackend) -> None:
    prompts = ["Problem: what is 3 + 4? Reply: 3 + 4 = 8. Answer: 8", "Problem: what is 12 * 5?", "hi"]
    out = backend.generate([req(p, max_tokens=16) for p in prompts])
    assert len(out) == 3
    for generation in out:
        assert isinstance(generation.text, str) and generation.text.strip()
        assert 1 <= generation.completion_tokens <= 16
        assert generation.prompt_tokens >= 3
        assert generation.latency_s > 0
    # Prompts of different lengths are left-padded: the shortest one counts only its own tokens.
    assert out[2].prompt_tokens < out[0].prompt_tokens
    # Greedy: the same request alone gives the same text as inside the batch.
    assert backend.generate([req(prompts[0], max_tokens=16)])[0].text == out[0].text


def test_max_tokens_is_per_request(backend: TransformersBackend) -> None:
    prompt = "Problem: what is 1 + 1?"
    out = backend.generate([req(prompt, max_tokens=2), req(prompt, max_tokens=12)])
    assert out[0].completion_tokens <= 2
    assert out[1].text.startswith(out[0].text)


def test_sampling_is_reproducible_by_seed(backend: TransformersBackend) -> None:
    hot = [req("Problem: what is 40 - 2?", max_tokens=12, temperature=1.5, seed=s) for s in (1, 1, 2)]
    first = [backend.generate([r])[0].text for r in hot]
    again = [backend.generate([r])[0].text for r in hot]
    assert first == again
    assert first[0] == first[1]


def test_chunks_of_max_batch(backend: TransformersBackend) -> None:
    small = TransformersBackend(tiny_model_dir(), max_batch=2)
    requests = [req(f"Problem: what is {i} + {i}?", max_tokens=4) for i in range(5)]
    assert [g.text for g in small.generate(requests)] == [g.text for g in backend.generate(requests)]


def test_missing_directory_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist.*save_pretrained"):
        make_backend(f"hf:{tmp_path / 'nope'}")


def test_directory_without_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tokenizer"):
        TransformersBackend(str(tmp_path))


def test_tokenizer_without_chat_template(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir(), copy)
    for name in ("chat_template.jinja", "chat_template.json"):
        (copy / name).unlink(missing_ok=True)
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="no chat template"):
        TransformersBackend(str(copy))


def test_dtype_by_name() -> None:
    import torch

    half = TransformersBackend(tiny_model_dir(), dtype="bfloat16")
    assert half.model.dtype == torch.bfloat16
    assert half.generate([req("Problem: what is 2 + 2?", max_tokens=4)])[0].completion_tokens >= 1
