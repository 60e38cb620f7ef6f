"""The cyclic garbage collector paused around stages that make millions of small objects
which live to the end of the stage and form no cycles (a build's rows and records, a
scoring run's parsed answers): each collection would rescan all of them, and did take
about half of scoring's parse time and ~8 % of a GazeFollow-sized build (BENCHMARKS.md).
Reference counting still frees everything that is not in a cycle."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside; the collector is re-enabled on the way out (also
    after an error) if it was enabled, and left off if it was not."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
