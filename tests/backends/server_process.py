"""Start and query the fake OpenAI-compatible server (``fake_openai_server.py``) from tests."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("fake_openai_server.py")


def start_server(*options: str) -> tuple[subprocess.Popen[str], str]:
    """The server process and its base URL (``http://127.0.0.1:PORT/v1``), once it listens."""
    process = subprocess.Popen([sys.executable, str(SCRIPT), *options], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.strip().isdigit():
        process.kill()
        raise RuntimeError(f"fake server did not start: {line!r}")
    return process, f"http://127.0.0.1:{int(line)}/v1"


def stats(url: str) -> dict[str, Any]:
    """What the server has seen: ``requests``, ``max_in_flight``, ``last``."""
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=5) as response:
        return json.loads(response.read())
