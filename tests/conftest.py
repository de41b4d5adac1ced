"""Shared fixtures: a fake OpenAI-compatible server process (backends, LLM simulators, annotators)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "backends"))

from server_process import start_server


def pytest_configure(config: pytest.Config) -> None:
    """Keep indexes the tests build (search envs) out of the user's cache: a fresh FBENV_HOME per run.

    Set here, before collection, because some test modules build envs at import time.
    """
    if "FBENV_HOME" not in os.environ:
        config._fbenv_home = os.environ["FBENV_HOME"] = tempfile.mkdtemp(prefix="fbenv-tests-")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the FBENV_HOME that :func:`pytest_configure` made."""
    home = getattr(config, "_fbenv_home", None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)
        del os.environ["FBENV_HOME"]


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
