"""Small name registries for tasks and simulators.

Registered env kwargs are *names*, not objects, so ``env.spec.to_json()`` round-trips and a result
file can say exactly what produced it. A name maps to a ``"package.module:Attr"`` string that is
imported only when first used (so ``import fbenv`` never pulls in reasoning-gym or math-verify), or
to the object itself. Any ``"package.module:Attr"`` string that is not a registered name is loaded
as a user's own class.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def load_object(path: str) -> Any:
    """Import ``"package.module:Attr"`` and return the attribute, with errors that say what failed."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{path!r} is not of the form 'package.module:Attr'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import module {module_name!r} for {path!r}: {error}") from error
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as error:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r} (from {path!r})") from error
    return obj


class Registry(Generic[T]):
    """Names → objects (or lazy ``"module:Attr"`` strings), with duplicate and unknown-name errors.

    With ``entry_point_group``, separately installed packages add names through that entry-point
    group (``[project.entry-points."fbenv.simulators"] polite = "pkg.module:Class"``); they are
    discovered on first listing or first unknown name, and imported only when used.
    """

    def __init__(self, what: str, entry_point_group: str | None = None) -> None:
        self.what = what
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._info: dict[str, dict[str, Any]] = {}
        self._plugins_loaded = entry_point_group is None

    def _load_plugins(self) -> None:
        """Register the names installed packages declare in the entry-point group (once)."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group=self.entry_point_group):
            if point.name not in self._entries:  # built-in names win over plug-ins
                self.register(point.name, point.value, plugin=point.dist.name if point.dist else "?")

    def register(self, name: str, target: T | str, **info: Any) -> None:
        """Add ``name``; ``target`` is the object or its ``"module:Attr"`` path; ``info`` is metadata."""
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._entries[name] = target
        self._info[name] = dict(info)

    def get(self, name: str) -> T:
        """The object for a registered name or a ``"module:Attr"`` path.

        Raises:
            ValueError: the name is unknown; the message lists the known names.
        """
        if name not in self._entries and ":" not in name:
            self._load_plugins()
        if name in self._entries:
            target = self._entries[name]
            if isinstance(target, str):
                target = load_object(target)
                self._entries[name] = target
            return target  # type: ignore[return-value]
        if ":" in name:
            return load_object(name)
        raise ValueError(
            f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._entries))} "
            f"(or give a 'package.module:Class' path)"
        )

    def info(self, name: str) -> dict[str, Any]:
        """The metadata a name was registered with."""
        return dict(self._info.get(name, {}))

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)
