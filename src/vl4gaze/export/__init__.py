"""Exports of a benchmark directory for other tools.

- ``lmms-eval``: a task folder (one YAML per VL4Gaze task, a group YAML, utils.py that
  asks with ``vl4gaze.prompting.build_messages`` and scores with ``vl4gaze.score``) over
  per-task Parquet files.
- ``vlmevalkit``: a TSV (index, image as base64, question, answer, ...), a dataset
  class file (a subclass of VLMEvalKit's ``ImageBaseDataset``) and a launcher.
- ``sharegpt``: LLaMA-Factory / ms-swift style JSON (``messages`` with ``<image>`` tags,
  ``images`` list) and a ``dataset_info.json``.
- ``trl``: JSON Lines with conversational ``messages`` (image / text content parts) and
  ``images`` for TRL's SFTTrainer.

- ``hf``: a Hugging Face dataset folder (Parquet with an ``Image()`` column per task and
  split, a dataset card) that ``datasets.load_dataset(OUT)`` reads.

Every export first renders the images a build left out (``images="none"``) and is
self-contained: images inside OUT, every path relative, so OUT can be moved or shared.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

#: Export name -> module (each has ``export(bench: Path, out: Path, **options) -> Path``).
EXPORTERS: dict[str, str] = {
    "lmms-eval": "vl4gaze.export.lmms_eval",
    "vlmevalkit": "vl4gaze.export.vlmevalkit",
    "sharegpt": "vl4gaze.export.sharegpt",
    "trl": "vl4gaze.export.trl",
    "hf": "vl4gaze.export.hf",
}


def export_benchmark(bench: Path, to: str, out: Path, **options: Any) -> Path:
    """Export the benchmark at ``bench`` in format ``to`` into ``out``; returns the main
    file or folder written. ``options`` go to the exporter (lmms-eval: ``shots``,
    ``seed``, ``max_new_tokens``)."""
    if to not in EXPORTERS:
        raise ValueError(f"unknown export format {to!r}; expected one of {', '.join(EXPORTERS)}")
    bench = Path(bench)
    if not (bench / "data").is_dir():
        raise FileNotFoundError(f"{bench}: no data/ folder: not a benchmark directory")
    if not any(pq.read_metadata(path).num_rows for path in (bench / "data").glob("*.parquet")):
        raise ValueError(f"{bench}: the benchmark holds no items: nothing to export")
    return import_module(EXPORTERS[to]).export(bench, Path(out), **options)
