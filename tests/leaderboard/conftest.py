"""Fixtures: a board with the tiny test suite, and real runs of it bundled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from lb_helpers import TINY_SUITE, write_suite

from fbenv.eval.runner import EvalConfig, run_eval
from fbenv.leaderboard.bundle import make_bundle, write_bundle
from fbenv.leaderboard.suites import load_suite

AGENTS = ("oracle", "random", "lb_helpers:WrongThenOracle", "lb_helpers:ToolThenOracle")


@pytest.fixture(scope="session")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A leaderboards directory holding the tiny suite (tests copy it before changing it)."""
    root = tmp_path_factory.mktemp("board")
    write_suite(root, TINY_SUITE)
    return root


def run_suite(board: Path, name: str, agent: str, out: Path) -> Path:
    """Run suite ``name`` of ``board`` with ``agent`` into ``out``."""
    suite = load_suite(name, board)
    config = EvalConfig(envs=[], feedback=[], agent=agent, out=str(out), max_turns=suite.max_turns,
                        suite=suite.ref(), concurrency=8)
    run_eval(config, progress=False, specs=suite.plan())
    return out


@pytest.fixture(scope="session")
def runs(board: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Results directories of the tiny suite, one per agent in :data:`AGENTS`."""
    root = tmp_path_factory.mktemp("runs")
    return {agent: run_suite(board, "tiny", agent, root / agent.replace(":", "_")) for agent in AGENTS}


@pytest.fixture(scope="session")
def bundles(board: Path, runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bundle files of the runs, by agent."""
    root = tmp_path_factory.mktemp("bundles")
    return {agent: write_bundle(make_bundle(path, board), root / f"{path.name}.json.gz")
            for agent, path in runs.items()}


@pytest.fixture
def fresh_board(tmp_path: Path) -> Path:
    """A new board with the tiny suite and no submissions (for submit and build)."""
    root = tmp_path / "fresh"
    write_suite(root, TINY_SUITE)
    return root
