"""Per-instance randomness for procedural tasks: instance ``i`` depends on (task config, seed, i) alone.

reasoning-gym seeds a ``random.Random(seed + i)`` per item; seeding a Mersenne Twister costs ~6 µs,
more than generating a small arithmetic problem, and neighbouring seeds give correlated streams.
:class:`ItemRandom` instead hashes the item's key with BLAKE2b (stable across platforms and Python
versions) into a 512-bit pool and draws small integers from it by division, re-hashing with a
counter when the pool runs low. A draw costs about a tenth of a microsecond; the bias of
``pool mod n`` is below 2^-400 for the ranges tasks draw from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_POOL_BYTES = 64
_LOW_WATER = 1 << 128  # refill before the pool is too small to draw from without bias


def item_key(prefix: bytes, index: int) -> bytes:
    """The key of instance ``index`` of a task whose constant part (name, config, seed) is ``prefix``."""
    return prefix + b"/" + str(index).encode()


class ItemRandom:
    """A small, fast, deterministic generator for one procedural instance.

    Args:
        *key: what identifies the instance, e.g. ``("arithmetic", difficulty, seed, index)``; a
            single ``bytes`` key is used as it is (tasks precompute the constant part, see
            :func:`item_key`).
    """

    __slots__ = ("_counter", "_key", "_pool")

    def __init__(self, *key: object) -> None:
        self._key = key[0] if len(key) == 1 and isinstance(key[0], bytes) else repr(key).encode()
        self._counter = 0
        self._pool = 0
        self._refill()

    def _refill(self) -> None:
        digest = hashlib.blake2b(self._key + self._counter.to_bytes(8, "little"), digest_size=_POOL_BYTES).digest()
        self._pool = int.from_bytes(digest, "little")
        self._counter += 1

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if self._pool < _LOW_WATER:
            self._refill()
        self._pool, value = divmod(self._pool, n)
        return value

    def randint(self, low: int, high: int) -> int:
        """A uniform integer in [low, high], both ends included (as ``random.randint``)."""
        if self._pool < _LOW_WATER:  # below(), inlined: generators call this on every reset
            self._refill()
        self._pool, value = divmod(self._pool, high - low + 1)
        return low + value

    def choice(self, items: Sequence[T]) -> T:
        """A uniform pick from a non-empty sequence."""
        if self._pool < _LOW_WATER:
            self._refill()
        self._pool, value = divmod(self._pool, len(items))
        return items[value]

    def chance(self, probability: float) -> bool:
        """True with the given probability (to a resolution of 2^-32)."""
        return self.below(1 << 32) < probability * (1 << 32)
