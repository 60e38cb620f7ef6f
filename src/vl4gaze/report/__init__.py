"""Report stage: tables, plots and an HTML gallery of evaluated runs (see DESIGN.md)."""

from vl4gaze.report.runs import Run, RunError, load_run, load_runs
from vl4gaze.report.writer import write_report

__all__ = ["Run", "RunError", "load_run", "load_runs", "write_report"]
