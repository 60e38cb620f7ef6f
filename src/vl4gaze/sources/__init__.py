"""Dataset readers: each turns one published format into GazeSample records.

A source is named ``KIND:PATH`` (``gazefollow:ROOT``, ``gazeworld:DIR``, ...). Readers
are imported lazily so that reading one format never pays for another's dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module

from vl4gaze.schema import GazeSample
from vl4gaze.sources.problems import SourceError, SourceProblem

__all__ = ["READERS", "SourceError", "SourceProblem", "parse_spec", "read_source", "reader_for"]

#: kind -> "module:function"; the function takes the PATH part and yields GazeSamples.
READERS: dict[str, str] = {
    "gazefollow": "vl4gaze.sources.gazefollow:read_gazefollow",
    "vat": "vl4gaze.sources.vat:read_vat",
    "childplay": "vl4gaze.sources.childplay:read_childplay",
    "goo": "vl4gaze.sources.goo:read_goo",
    "gazeworld": "vl4gaze.sources.gazeworld:read_gazeworld",
    "images": "vl4gaze.sources.images:read_images",
    "annotated": "vl4gaze.sources.annotated:read_annotated",
}


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``KIND:PATH`` and check the kind is known."""
    kind, sep, path = spec.partition(":")
    if not sep or not path:
        raise ValueError(f"source {spec!r} is not KIND:PATH (kinds: {', '.join(READERS)})")
    if kind not in READERS:
        raise ValueError(f"unknown source kind {kind!r} in {spec!r} (kinds: {', '.join(READERS)})")
    return kind, path


def reader_for(kind: str) -> Callable[..., Iterator[GazeSample]]:
    module_name, _, func = READERS[kind].partition(":")
    return getattr(import_module(module_name), func)


def read_source(spec: str, **options) -> Iterator[GazeSample]:
    """Read every GazeSample of a source named ``KIND:PATH``."""
    kind, path = parse_spec(spec)
    return reader_for(kind)(path, **options)
