"""On-disk cache of VLM annotation answers, so that a rerun costs no model call.

An answer is keyed by what determines it: the image's content hash (not its path, so a
moved folder still hits), the gaze point and person box (rounded to 1e-4), the prompt's id
and version, and the model's name. SQLite (stdlib) keeps it one file, safe to reopen and
to share between runs; failures are not cached, so a rerun retries them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any

from vl4gaze.schema import content_id


@lru_cache(maxsize=1 << 14)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def image_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of an image file's bytes (memoized while the file's size and mtime hold)."""
    stat = os.stat(path)
    return _file_sha256(os.fspath(path), stat.st_size, stat.st_mtime_ns)


def cache_key(
    image_sha: str,
    point: tuple[float, float] | None,
    head: tuple[float, float, float, float] | None,
    prompt_id: str,
    model: str,
) -> str:
    """The cache key of one question about one marked image."""
    def rounded(values: tuple[float, ...] | None) -> list[float] | None:
        return None if values is None else [round(v, 4) for v in values]

    return content_id(image_sha, rounded(point), rounded(head), prompt_id, model, length=32)


class AnnotationCache:
    """A key -> JSON value store in one SQLite file; ``None`` path keeps it in memory."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = None if path is None else Path(path)
        self._db = sqlite3.connect(":memory:" if path is None else os.fspath(path))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        self._db.commit()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Any | None:
        row = self._db.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)",
            (key, json.dumps(value, sort_keys=True)),
        )
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AnnotationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
