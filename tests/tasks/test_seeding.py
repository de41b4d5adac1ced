"""ItemRandom: per-instance randomness that depends on the instance key alone."""

from __future__ import annotations

from collections import Counter

from fbenv.tasks.seeding import ItemRandom, item_key


def test_same_key_same_draws_and_different_keys_differ() -> None:
    def draws(rng: ItemRandom) -> list[int]:
        return [rng.randint(1, 999) for _ in range(50)]

    assert draws(ItemRandom("task", 1, 7)) == draws(ItemRandom("task", 1, 7))
    assert draws(ItemRandom(item_key(b"task", 3))) == draws(ItemRandom(item_key(b"task", 3)))
    assert draws(ItemRandom("task", 1, 7)) != draws(ItemRandom("task", 1, 8))
    assert draws(ItemRandom(item_key(b"task", 3))) != draws(ItemRandom(item_key(b"task", 4)))


def test_draws_stay_in_range_and_are_roughly_uniform_across_refills() -> None:
    rng = ItemRandom("uniform")
    counts = Counter(rng.randint(-2, 2) for _ in range(20_000))  # many refills of the pool
    assert set(counts) == {-2, -1, 0, 1, 2}
    assert all(3_600 < n < 4_400 for n in counts.values())
    assert {rng.choice("abc") for _ in range(100)} == {"a", "b", "c"}
    assert all(0 <= rng.below(7) < 7 for _ in range(1000))
    hits = sum(rng.chance(0.25) for _ in range(20_000))
    assert 4_600 < hits < 5_400
