"""Result files: append-only, resumable, and a kill -9 loses no finished episode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fbenv.eval.results import EPISODES, ResultsError, ResultsWriter, read_records

RUN = {"agent": "a", "max_turns": 3}


def record(key: str, **extra: object) -> dict:
    return {"key": key, "env_id": "fbenv/Math-v0", "steps": [], **extra}


def test_append_and_read_back_in_order(tmp_path: Path) -> None:
    with ResultsWriter(tmp_path, RUN) as writer:
        writer.append(record("a", note="ünïcode"))
        writer.append(record("b"))
        with pytest.raises(ResultsError, match="already"):
            writer.append(record("a"))
    assert [r["key"] for r in read_records(tmp_path)] == ["a", "b"]
    assert read_records(tmp_path)[0]["note"] == "ünïcode"
    with ResultsWriter(tmp_path, RUN) as writer:
        assert writer.done == {"a", "b"}


def test_a_partial_last_line_is_set_aside_not_lost(tmp_path: Path) -> None:
    with ResultsWriter(tmp_path, RUN) as writer:
        writer.append(record("a"))
    with open(tmp_path / EPISODES, "ab") as f:
        f.write(b'{"key": "b", "env_id": "fbenv/Ma')
    assert [r["key"] for r in read_records(tmp_path)] == ["a"]
    with ResultsWriter(tmp_path, RUN) as writer:
        assert writer.done == {"a"}
        writer.append(record("b"))
    assert (tmp_path / (EPISODES + ".partial")).read_bytes().startswith(b'{"key": "b", "env_id": "fbenv/Ma')
    assert [r["key"] for r in read_records(tmp_path)] == ["a", "b"]


def test_corruption_before_the_end_stops_with_the_line_number(tmp_path: Path) -> None:
    (tmp_path / EPISODES).write_text(json.dumps(record("a")) + "\nGARBAGE\n" + json.dumps(record("c")) + "\n")
    with pytest.raises(ResultsError, match=r"episodes.jsonl:2 .*damaged"):
        read_records(tmp_path)


def test_a_directory_of_another_run_is_refused(tmp_path: Path) -> None:
    ResultsWriter(tmp_path, RUN).close()
    with pytest.raises(ResultsError, match=r"differs in: agent.*another --out"):
        ResultsWriter(tmp_path, {**RUN, "agent": "b"})
    with pytest.raises(ResultsError, match="no result file"):
        read_records(tmp_path / "nowhere")


@pytest.mark.slow
def test_kill_9_mid_run_loses_no_finished_episode(tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = [sys.executable, "-m", "fbenv.cli", "eval", "--env", "Math-v0", "--feedback", "text", "binary",
               "--agent", "slow_agent:SlowAgent", "--episodes", "60", "--concurrency", "2", "--out", str(out),
               "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    file = out / EPISODES
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not file.exists() or file.read_bytes().count(b"\n") < 10):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = read_records(out)
    assert 10 <= len(before) < 120, "the run was not killed mid-way"
    finished_lines = file.read_bytes().split(b"\n")[: len(before)]

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    after = read_records(out)
    assert len(after) == 120 and len({r["key"] for r in after}) == 120
    assert file.read_bytes().split(b"\n")[: len(before)] == finished_lines  # kept byte for byte
    assert (out / "summary.md").exists() and (out / "success_by_turn.png").stat().st_size > 1000
