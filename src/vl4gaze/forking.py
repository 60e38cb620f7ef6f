"""Forked worker processes for the CPU-bound stages (build, score): how many, and whether
this process may fork at all.

A fork shares the driver's records copy-on-write, so a worker needs no pickled input,
only its share's indices; it hands back compact results (Arrow tables, task blocks,
rows). Not forked: platforms without ``fork``, and a process that has imported torch,
whose OpenMP thread pool does not survive a fork (a child that computes with it can
hang) - ``vl4gaze eval`` scores in one process for that reason, ``vl4gaze score`` and
``vl4gaze build`` (which never import it) use both cores.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def worker_count(workers: int | None) -> int:
    """``workers``, or by default this process's CPUs, at most 2 (the stages gain little
    beyond two: the driver's reading and writing stay on one core)."""
    if workers is None:
        return min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers={workers}: must be >= 1")
    return workers


def can_fork() -> bool:
    """The platform forks and this process has not imported torch."""
    return "fork" in multiprocessing.get_all_start_methods() and "torch" not in sys.modules
