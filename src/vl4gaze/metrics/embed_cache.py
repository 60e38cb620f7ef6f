"""Sentence vectors kept on disk across runs, one per (model, text).

Scoring a run embeds every distinct object answer and reference; the next run of the same
benchmark (another model, a re-score) repeats most of them. ``EmbeddingStore`` keeps each
vector in one SQLite file (``$VL4GAZE_EMBEDDINGS_CACHE``, else
``$VL4GAZE_CACHE/embeddings.sqlite``, else ``~/.cache/vl4gaze/embeddings.sqlite``; the
value ``off`` turns it off), keyed by the model's name and the SHA-256 of the text.
SQLite's locking makes concurrent writers safe, and a killed process leaves only
committed rows (each batch is one transaction). A cache that cannot be opened or written
(read-only home, a corrupt file) is left out with one warning: scoring goes on without it.

The vector of a text is the one the first run computed; the model itself can differ in
the last bits with the batch a text was encoded in, so cached and fresh similarities
agree to ~1e-7, not always bit for bit.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

#: How many keys one SELECT asks for (SQLite's default limit is 32,766 variables).
_BATCH = 500


def default_path() -> Path | None:
    """Where the store lives (None: turned off with ``VL4GAZE_EMBEDDINGS_CACHE=off``)."""
    env = os.environ.get("VL4GAZE_EMBEDDINGS_CACHE")
    if env:
        return None if env.lower() in ("off", "0", "none") else Path(env)
    root = os.environ.get("VL4GAZE_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "vl4gaze") / "embeddings.sqlite"


def text_key(text: str) -> str:
    """The SHA-256 of the text's UTF-8 bytes (hex)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingStore:
    """float32 vectors of texts under one model name, in one SQLite file."""

    def __init__(self, path: Path, model: str) -> None:
        self.path, self.model = Path(path), model
        self._db: sqlite3.Connection | None = None
        self._failed = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and not self._failed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                     check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, "
                           "key TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL, "
                           "PRIMARY KEY (model, key))")
                self._db = db
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
        return self._db

    def _give_up(self, exc: Exception) -> None:
        self._failed = True
        if self._db is not None:
            self._db.close()
            self._db = None
        warnings.warn(f"{self.path}: embedding cache left out ({exc})", stacklevel=3)

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those texts that have one."""
        db = self._connect()
        if db is None:
            return {}
        keys = {text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        todo = list(keys)
        try:
            for start in range(0, len(todo), _BATCH):
                part = todo[start:start + _BATCH]
                rows = db.execute(
                    f"SELECT key, dim, vec FROM vectors WHERE model = ? AND key IN "
                    f"({','.join('?' * len(part))})", (self.model, *part)).fetchall()
                for key, dim, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape == (dim,):  # a torn row is skipped, never trusted
                        found[keys[key]] = vec
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}
        return found

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store these texts' vectors (one transaction; existing rows are kept)."""
        db = self._connect()
        if db is None or not vectors:
            return
        rows = [(self.model, text_key(t), int(v.shape[0]),
                 np.ascontiguousarray(v, dtype=np.float32).tobytes())
                for t, v in vectors.items()]
        try:
            with db:  # BEGIN ... COMMIT, or ROLLBACK on an error
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            self._give_up(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
