"""Helpers to look inside Dash component trees in tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(node: Any) -> Iterator[Any]:
    """Every component under `node` (itself included), depth first."""
    if isinstance(node, list | tuple):
        for child in node:
            yield from walk(child)
        return
    if not hasattr(node, "_prop_names"):
        return
    yield node
    for prop in ("children", "label"):
        yield from walk(getattr(node, prop, None))
    for option in getattr(node, "options", None) or []:
        if isinstance(option, dict):
            yield from walk(option.get("label"))


def text(node: Any) -> str:
    """All the text under `node`, joined by spaces."""
    parts: list[str] = []

    def collect(n: Any) -> None:
        if isinstance(n, str | int | float) and not isinstance(n, bool):
            parts.append(str(n))
        elif isinstance(n, list | tuple):
            for c in n:
                collect(c)
        elif hasattr(n, "_prop_names"):
            collect(getattr(n, "children", None))

    collect(node)
    return " ".join(parts)


def by_class(node: Any, cls: str) -> list[Any]:
    """Components under `node` whose className holds `cls`."""
    return [c for c in walk(node) if cls in (getattr(c, "className", None) or "").split()]


def by_id(node: Any, component_id: str) -> Any | None:
    """The component with this id under `node`, or None."""
    return next((c for c in walk(node) if getattr(c, "id", None) == component_id), None)
