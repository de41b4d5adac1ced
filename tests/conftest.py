"""Shared fixtures: a fake OpenAI-compatible server process (backends, LLM simulators, annotators)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "backends"))

from server_process import start_server


@pytest.fixture
def openai_server() -> Iterator[Callable[..., str]]:
    """Start fake servers with given options; yields a function returning each one's base URL."""
    processes = []

    def start(*options: str) -> str:
        process, url = start_server(*options)
        processes.append(process)
        return url

    yield start
    for process in processes:
        process.kill()
        process.wait()
