"""Reader for ``annotated:DIR``: the samples ``vl4gaze annotate`` wrote, back as GazeSamples.

``DIR/samples.jsonl`` holds one ``GazeSample.to_json()`` per line. Image paths are absolute
as written; a relative one (a folder moved with its images) is taken relative to DIR.
A bad line is reported with its file, line and the field pydantic names.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from vl4gaze.schema import GazeSample
from vl4gaze.sources.problems import ProblemLog, SourceProblem

SAMPLES_FILE = "samples.jsonl"


def read_annotated(
    path: str,
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
) -> Iterator[GazeSample]:
    """Yield the annotated samples of DIR (or of a samples.jsonl file named directly)."""
    log = ProblemLog(strict, problems)
    target = Path(path)
    file = target if target.is_file() else target / SAMPLES_FILE
    if not file.is_file():
        log.add(str(file), None, None, f"no {SAMPLES_FILE} here: run `vl4gaze annotate` first")
        return
    root = file.parent.resolve()
    with open(file, encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                sample = GazeSample.from_json(text)
            except ValidationError as error:
                first = error.errors()[0]
                field = ".".join(str(p) for p in first.get("loc", ())) or None
                log.add(str(file), line, field, first.get("msg", str(error)))
                continue
            if not os.path.isabs(sample.image):
                sample = replace(sample, image=str(root / sample.image))
            yield sample
