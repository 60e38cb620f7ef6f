"""Progress for long stages: a rich bar on a terminal, plain lines in a log.

A bar is invisible in SLURM, nohup or CI logs (rich draws nothing until the end when
stderr is not a terminal), so there :class:`ProgressLog` prints one line every
``interval`` seconds instead: items done, rate and the time left::

    eval tiny: 120/400 items (30%), 2.10 items/s, 2m13s left

The interval is ``VL4GAZE_PROGRESS_SECONDS`` (default 30).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import suppress
from importlib import import_module
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

DEFAULT_INTERVAL_S = 30.0


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("VL4GAZE_PROGRESS_SECONDS", DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class ProgressLog:
    """Counts done items and reports them on a bar (terminal) or as plain lines (log).

    Use as a context manager; call :meth:`advance` as items finish. ``enabled=False``
    reports nothing. ``unit`` names what is counted.
    """

    def __init__(self, label: str, total: int | None, *, enabled: bool = True,
                 console: Console | None = None, unit: str = "items",
                 interval: float | None = None, stream: IO[str] | None = None) -> None:
        self.label, self.total, self.unit, self.enabled = label, total, unit, enabled
        self.console = console or Console(stderr=True)
        self.stream = stream or sys.stderr
        self.interval = _interval() if interval is None else interval
        self.done = 0
        self._bar: Progress | None = None
        self._task = None
        self._start = self._last = 0.0

    def __enter__(self) -> ProgressLog:
        self._start = self._last = time.monotonic()
        if self.enabled and self.console.is_terminal:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def update(self, done: int) -> None:
        """Set the number of items done so far."""
        self.done = done
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._line(now)

    def line(self) -> str:
        """The plain progress line for the current count."""
        return self._text(time.monotonic())

    def _text(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done:,}"
        if self.total:
            text += f"/{self.total:,} {self.unit} ({self.done / self.total:.0%})"
        else:
            text += f" {self.unit}"
        text += f", {rate:.2f} {self.unit}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", {_duration((self.total - self.done) / rate)} left"
        return text

    def _line(self, now: float) -> None:
        print(self._text(now), file=self.stream, flush=True)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled and self.done and exc_type is None:
            self._line(time.monotonic())  # the closing count, so a log shows the end


def quiet_library_bars() -> None:
    """Without a terminal, turn off the redrawn tqdm bars of transformers, the Hub and
    datasets (loading weights, saving shards, casting a dataset): in a log file they are
    one endless line. Libraries not imported yet read the environment variables; those
    already imported are told directly."""
    if sys.stderr.isatty():
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:
        with suppress(ImportError):
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
    for module in ("huggingface_hub", "datasets"):
        if module in sys.modules:
            with suppress(ImportError, AttributeError):
                import_module("huggingface_hub.utils" if module == "huggingface_hub"
                              else module).disable_progress_bars()
