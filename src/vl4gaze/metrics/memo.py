"""Memoised pure functions of one answer (parsers, per-pair text metrics).

A benchmark run repeats answers ("down", "It cannot be answered: ...", "a cup") across
thousands of items; each distinct (answer, parse-relevant context) is read once per
process. The memo is an ``lru_cache`` (bounded), so it never changes a result: the
functions it wraps are pure and return immutable values. ``disabled()`` turns every memo
off (tests compare scores with and without it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import lru_cache, wraps
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_enabled = True
_cleared: list[Callable[[], None]] = []


def memo(maxsize: int = 1 << 17, max_chars: int = 512) -> Callable[[F], F]:
    """Decorator: ``lru_cache(maxsize)`` of a pure function with hashable arguments,
    bypassed while ``disabled()`` and for a string argument longer than ``max_chars``
    (long answers rarely repeat; the memo's memory stays ~maxsize x max_chars)."""

    def wrap(fn: F) -> F:
        cached = lru_cache(maxsize=maxsize)(fn)
        _cleared.append(cached.cache_clear)

        @wraps(fn)
        def call(*args: Any) -> Any:
            if _enabled:
                for a in args:
                    if type(a) is str and len(a) > max_chars:
                        return fn(*args)
                try:
                    return cached(*args)
                except TypeError:  # an unhashable argument (or fn's own TypeError)
                    return fn(*args)
            return fn(*args)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return wrap


def clear() -> None:
    """Empty every memo (frees the memory a large run filled them with)."""
    for fn in _cleared:
        fn()


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Compute everything afresh inside the block (and clear the memos first)."""
    global _enabled
    previous, _enabled = _enabled, False
    clear()
    try:
        yield
    finally:
        _enabled = previous
