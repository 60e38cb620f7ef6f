"""Report stage: tables, plots and an HTML gallery of evaluated runs (see DESIGN.md).

The names below load on first use, so importing ``vl4gaze.report.config`` (the CLI's
option help) does not import the plotting stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOME = {"Run": "runs", "RunError": "runs", "load_run": "runs", "load_runs": "runs",
         "write_report": "writer", "ReportConfig": "config"}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'vl4gaze.report' has no attribute {name!r}")
    return getattr(import_module(f"vl4gaze.report.{_HOME[name]}"), name)
