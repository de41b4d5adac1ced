"""How ``--ray`` cuts episodes into shards (the Ray run itself is tested in test_runner.py)."""

from __future__ import annotations

import pytest

from fbenv.eval.distributed import SHARD_SIZE, shard_sizes, split_shards


@pytest.mark.parametrize("episodes", [1, 2, 5, 15, 16, 17, 31, 33, 100, 800, 810, 1001])
@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_shards_cover_every_episode_in_even_sizes(episodes: int, workers: int) -> None:
    sizes = shard_sizes(episodes, workers)
    assert sum(sizes) == episodes
    assert all(1 <= size <= SHARD_SIZE for size in sizes)
    assert max(sizes) - min(sizes) <= 1  # no small closing shards: each costs a batched agent a full shard's calls
    if episodes >= workers:
        assert len(sizes) % workers == 0  # equal workers get equal work
    else:
        assert sizes == [1] * episodes


def test_as_few_shards_as_the_size_cap_allows() -> None:
    assert shard_sizes(800, 2) == [SHARD_SIZE] * 50
    assert len(shard_sizes(810, 2)) == 52  # 51 would do, but not in equal halves
    assert shard_sizes(17, 1) == [9, 8]
    assert shard_sizes(0, 2) == []


def test_shards_keep_the_episodes_in_order() -> None:
    specs = list(range(37))
    shards = split_shards(specs, 2)  # type: ignore[arg-type]
    assert [len(shard) for shard in shards] == shard_sizes(37, 2)
    assert [spec for shard in shards for spec in shard] == specs
