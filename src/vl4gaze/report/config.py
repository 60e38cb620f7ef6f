"""``ReportConfig``: the options of a report as one frozen, validated record.

Light on purpose (no plotting imports): the CLI reads its help text at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from vl4gaze.config_fields import help_of, option


@dataclass(frozen=True)
class ReportConfig:
    """What ``vl4gaze report`` writes for a set of runs."""

    max_items_per_task: int | None = option(
        40, help="Gallery items per task (None: all; the CLI's 0).")
    title: str = option("vl4gaze report", help="Title of index.html.")

    def __post_init__(self) -> None:
        n = self.max_items_per_task
        if n is not None and (not isinstance(n, int) or n < 1):
            raise ValueError(f"max_items_per_task={n!r} must be an integer >= 1 (or None: "
                             "every item)")
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError(f"title={self.title!r} must be a non-empty string")


def report_help(name: str) -> str:
    """A ReportConfig field's help text (for the CLI's options)."""
    return help_of(ReportConfig, name)
