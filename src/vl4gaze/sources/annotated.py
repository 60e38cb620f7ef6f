"""Reader for ``annotated:DIR``: the samples ``vl4gaze annotate`` wrote, back as GazeSamples.

``DIR/samples.jsonl`` holds one ``GazeSample.to_json()`` per line. Image paths are absolute
as written; a relative one (a folder moved with its images) is taken relative to DIR.
A bad line is reported with its file, line and the field pydantic names.

Image paths must lie inside DIR or inside a folder of the sources that
``DIR/annotation_report.json`` names (the datasets ``annotate`` read); any other path
(``/etc/passwd``, ``../../x.jpg``) is refused unless ``allow_outside_root``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from vl4gaze.schema import GazeSample
from vl4gaze.sources._common import (
    MAX_JSON_LINE,
    area_message,
    check_file,
    exists_at_all,
    inside_root,
    json_line,
    no_area,
    outside_message,
    text_lines,
)
from vl4gaze.sources.problems import ProblemLog, SourceProblem

SAMPLES_FILE = "samples.jsonl"
REPORT_FILE = "annotation_report.json"


def _source_roots(folder: Path) -> list[str]:
    """The dataset folders the annotation report names (where absolute paths may point)."""
    try:
        sources = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    roots = []
    for spec in sources if isinstance(sources, list) else []:
        _, _, path = str(spec).partition(":")
        for part in path.split(":") if path else []:
            absolute = os.path.abspath(part)
            roots.append(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))
    return roots


def _confined(image: str, roots: list[str]) -> str | None:
    for root in roots:
        rel = os.path.relpath(os.path.normpath(image), root) if os.path.isabs(image) else image
        inside = inside_root(root, rel)
        if inside is not None:
            return inside
    return None


def read_annotated(
    path: str,
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
    allow_outside_root: bool = False,
) -> Iterator[GazeSample]:
    """Yield the annotated samples of DIR (or of a samples.jsonl file named directly)."""
    log = ProblemLog(strict, problems)
    target = Path(path)
    file = target if exists_at_all(target) and not target.is_dir() else target / SAMPLES_FILE
    if not exists_at_all(file):
        log.add(str(file), None, None, f"no {SAMPLES_FILE} here: run `vl4gaze annotate` first")
        return
    if not check_file(file, log):
        return
    root = file.parent.resolve()
    roots = [str(root), *_source_roots(root)]
    for line, text in enumerate(text_lines(file, log, MAX_JSON_LINE), start=1):
        if not text.strip():
            continue
        try:
            json_line(text)
            sample = GazeSample.from_json(text)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or None
            log.add(str(file), line, field, first.get("msg", str(error)))
            continue
        except (ValueError, TypeError, KeyError) as error:
            log.add(str(file), line, None, str(error))
            continue
        image = sample.image if allow_outside_root else _confined(sample.image, roots)
        if image is None:
            log.add(str(file), line, "image", outside_message(sample.image, str(root)))
            continue
        if not os.path.isabs(image):
            image = str(root / image)
        if image != sample.image:
            sample = replace(sample, image=image)
        if no_area(sample.person.head):
            log.add(str(file), line, "person.head", area_message(sample.person.head))
            continue
        yield sample
