"""Checks a reviewer's fixed target fields share, whatever the task (``TaskSpec.check_target``).

Errors name the field as the review's JSON does (``fixed_target.mean[1]: ...``), so the
page (or any client) can say which value to correct.
"""

from __future__ import annotations

from typing import Any


def unit(field: str, value: Any) -> float:
    """A normalized coordinate: a number (not a bool) in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"fixed_target.{field}: {value!r} is not a number in [0, 1]")
    return float(value)


def pair(field: str, value: Any) -> list[float]:
    """A normalized point ``[x, y]``."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"fixed_target.{field}: expected [x, y], got {value!r}")
    return [unit(f"{field}[{i}]", v) for i, v in enumerate(value)]


def pairs(field: str, value: Any) -> list[list[float]]:
    """A non-empty list of normalized points."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"fixed_target.{field}: expected [[x, y], ...], got {value!r}")
    return [pair(f"{field}[{i}]", p) for i, p in enumerate(value)]


def box(field: str, value: Any) -> list[float] | None:
    """A normalized box ``[x1, y1, x2, y2]`` with its corners in order, or None."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4:
        raise ValueError(f"fixed_target.{field}: expected [x1, y1, x2, y2], got {value!r}")
    x1, y1, x2, y2 = (unit(f"{field}[{i}]", v) for i, v in enumerate(value))
    if x2 < x1 or y2 < y1:
        raise ValueError(f"fixed_target.{field}: corners out of order in {value!r}")
    return [x1, y1, x2, y2]
