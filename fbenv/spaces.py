"""A text space for language agents: any unicode string up to a maximum length.

Gymnasium's ``Text`` space only contains strings over a fixed character set (alphanumerics by
default), so an ordinary sentence with a space or a comma is outside it. Agents speak unicode, so
:class:`UnicodeText` contains every ``str`` up to ``max_length`` characters.

It also registers itself with Gymnasium's vector utilities, so ``gym.make_vec`` works in both
modes: sync vector envs batch observations as tuples of strings, and async ones pass them through
shared memory as length-prefixed arrays of code points (any character survives the round trip).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from types import ModuleType
from typing import Any, overload

import numpy as np
from gymnasium.spaces import Space
from gymnasium.vector.utils import (
    batch_space,
    concatenate,
    create_empty_array,
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)
from gymnasium.vector.utils.space_utils import _batch_space_custom, _concatenate_custom

# What ``sample`` draws from: printable ASCII plus a few characters beyond it, so that samples
# exercise the unicode paths of whatever consumes them.
_SAMPLE_ALPHABET = tuple(
    [chr(c) for c in range(32, 127)] + list("\n\téßøλπ→≤√∑中文😀")
)


class UnicodeText(Space[str]):
    """Every Python ``str`` of at most ``max_length`` characters.

    ``sample()`` draws short strings (at most ``sample_max_length`` characters, default 64) from a
    mixed ASCII/unicode alphabet; it is meant for smoke tests such as ``check_env``, not as a
    uniform distribution over the space.
    """

    def __init__(
        self,
        max_length: int,
        *,
        sample_max_length: int = 64,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive int, got {max_length!r}")
        self.max_length = max_length
        self.sample_max_length = min(sample_max_length, max_length)
        super().__init__(dtype=str, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Strings have no fixed-size numeric form."""
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A short random string drawn with this space's generator."""
        if mask is not None or probability is not None:
            raise NotImplementedError("UnicodeText.sample takes no mask or probability")
        length = int(self.np_random.integers(0, self.sample_max_length + 1))
        picks = self.np_random.integers(0, len(_SAMPLE_ALPHABET), size=length)
        return "".join(_SAMPLE_ALPHABET[i] for i in picks)

    def contains(self, x: Any) -> bool:
        """True for any ``str`` of at most ``max_length`` characters."""
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnicodeText) and other.max_length == self.max_length

    def to_jsonable(self, sample_n: Any) -> list[str]:
        """Strings are already JSON-able."""
        return list(sample_n)

    def from_jsonable(self, sample_n: list[str]) -> list[str]:
        """Strings come back as they are."""
        return list(sample_n)


# --- vector-env support -------------------------------------------------------------------------
# Sync vector envs: a batch of strings is a tuple, as Gymnasium does for its own Text space.
batch_space.register(UnicodeText)(_batch_space_custom)
concatenate.register(UnicodeText)(_concatenate_custom)


@create_empty_array.register(UnicodeText)
def _empty_unicode(space: UnicodeText, n: int = 1, fn: Any = np.zeros) -> tuple[str, ...]:
    return tuple("" for _ in range(n))

# No ``iterate`` registration on purpose: Gymnasium iterates a Tuple of unregistered subspaces
# item by item, which is what a batch of strings needs.


# Async vector envs: slot i holds [length, code point 0, ..., code point max_length-1].
@create_shared_memory.register(UnicodeText)
def _shared_unicode(space: UnicodeText, n: int = 1, ctx: ModuleType = mp) -> Any:
    return ctx.Array(np.dtype(np.int32).char, n * (space.max_length + 1))


@write_to_shared_memory.register(UnicodeText)
def _write_unicode(space: UnicodeText, index: int, value: str, shared_memory: Any) -> None:
    width = space.max_length + 1
    if len(value) > space.max_length:
        raise ValueError(f"string of {len(value)} characters does not fit {space!r}")
    buffer = np.frombuffer(shared_memory.get_obj(), dtype=np.int32)
    slot = buffer[index * width : (index + 1) * width]
    slot[0] = len(value)
    slot[1 : 1 + len(value)] = np.frombuffer(value.encode("utf-32-le", "surrogatepass"), dtype=np.int32)


@read_from_shared_memory.register(UnicodeText)
def _read_unicode(space: UnicodeText, shared_memory: Any, n: int = 1) -> SharedStrings:
    return SharedStrings(space, shared_memory, n)


class SharedStrings(Sequence[str]):
    """A live view of the strings in a shared-memory buffer.

    AsyncVectorEnv reads its observation buffer once, at construction, and relies on the result
    being a *view* that later writes show through (true of numpy arrays). A tuple of decoded
    strings would be a stale snapshot, so this decodes on access instead; ``deepcopy`` (what the
    vector env returns to users by default) gives a plain tuple snapshot.
    """

    def __init__(self, space: UnicodeText, shared_memory: Any, n: int) -> None:
        self._rows = np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape(n, space.max_length + 1)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(len(self))[index])
        row = self._rows[index]
        return row[1 : 1 + int(row[0])].tobytes().decode("utf-32-le", "surrogatepass")

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (Sequence, SharedStrings)) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"SharedStrings({tuple(self)!r})"
