"""Exports of a benchmark directory for other tools.

- ``lmms-eval``: a task folder (one YAML per VL4Gaze task, a group YAML, utils.py whose
  ``process_results`` calls ``vl4gaze.score.score_one``) over per-task Parquet files.
- ``vlmevalkit``: a TSV (index, image as base64, question, answer, ...) and a dataset
  class file (a subclass of VLMEvalKit's ``ImageBaseDataset``).
- ``sharegpt``: LLaMA-Factory / ms-swift style JSON (``messages`` with ``<image>`` tags,
  ``images`` list) and a ``dataset_info.json``.
- ``trl``: JSON Lines with conversational ``messages`` (image / text content parts) and
  ``images`` for TRL's SFTTrainer.

Every export first renders the images a build left out (``images="none"``).
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import pyarrow.parquet as pq

#: Export name -> module (each has ``export(bench: Path, out: Path) -> Path``).
EXPORTERS: dict[str, str] = {
    "lmms-eval": "vl4gaze.export.lmms_eval",
    "vlmevalkit": "vl4gaze.export.vlmevalkit",
    "sharegpt": "vl4gaze.export.sharegpt",
    "trl": "vl4gaze.export.trl",
}


def export_benchmark(bench: Path, to: str, out: Path) -> Path:
    """Export the benchmark at ``bench`` in format ``to`` into ``out``; returns the main
    file or folder written."""
    if to not in EXPORTERS:
        raise ValueError(f"unknown export format {to!r}; expected one of {', '.join(EXPORTERS)}")
    bench = Path(bench)
    if not (bench / "data").is_dir():
        raise FileNotFoundError(f"{bench}: no data/ folder: not a benchmark directory")
    if not any(pq.read_metadata(path).num_rows for path in (bench / "data").glob("*.parquet")):
        raise ValueError(f"{bench}: the benchmark holds no items: nothing to export")
    return import_module(EXPORTERS[to]).export(bench, Path(out))
