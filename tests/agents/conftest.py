"""Fixtures for the tiny model: a few-step checkpoint for fast tests, the real recipe for slow ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from fbenv.agents.tiny_model import Recipe, ensure_tiny_model, train_tiny_model

#: A recipe that trains in about a second: enough to exercise every piece, not to learn anything.
QUICK = Recipe(demos=300, steps=4, own_steps=2, own_problems=12, batch_size=8, hidden_size=32, layers=1, heads=2,
               intermediate_size=64, warmup=1, eval_episodes=0)


@pytest.fixture(scope="session")
def quick_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of the quick recipe, trained once per session."""
    return train_tiny_model(tmp_path_factory.mktemp("tiny") / "quick", QUICK)


@pytest.fixture(scope="session")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real recipe's checkpoint: ``$FBENV_TINY_MODEL`` if set (trained already), else trained now."""
    given = os.environ.get("FBENV_TINY_MODEL")
    if given:
        return ensure_tiny_model(given)
    return ensure_tiny_model(tmp_path_factory.mktemp("tiny") / "real")
