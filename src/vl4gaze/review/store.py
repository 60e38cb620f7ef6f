"""Review decisions in ``BENCH/review.sqlite``: append-only history, latest per item wins.

Why SQLite (stdlib ``sqlite3``, WAL mode): the review tool may be open in several tabs or
by several people on one machine, a decision must survive a crash the moment it is
acknowledged, and the history of who changed what stays queryable with plain SQL. Every
call opens its own short-lived connection, so the store is safe to use from the web
server's worker threads without a shared handle.

A store that is not one (garbage bytes, a directory, another program's database, a
truncated file) is a :class:`StoreError`: one line naming the file and what to do, never
a traceback. A zero-byte file is an empty SQLite database and simply becomes the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: What a reviewer can decide about an item.
STATUSES = ("accept", "fix", "reject")
#: The filter value for items with no decision yet.
UNREVIEWED = "unreviewed"
STORE_FILE = "review.sqlite"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    fixed_answer TEXT,
    fixed_target TEXT,
    note TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions (item_id, seq);
"""
_COLUMNS = "item_id, status, fixed_answer, fixed_target, note, reviewer, updated_at"
_NEEDED = {"seq", *(c.strip() for c in _COLUMNS.split(","))}


class StoreError(ValueError):
    """``review.sqlite`` cannot be used as the decision store (the message says why)."""


@dataclass(frozen=True)
class Decision:
    """One reviewer's verdict on one item (``fixed_*`` only for ``fix``)."""

    item_id: str
    status: str
    fixed_answer: str | None = None
    fixed_target: dict[str, Any] | None = None
    note: str = ""
    reviewer: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decision(row: tuple) -> Decision:
    item_id, status, answer, target, note, reviewer, updated_at = row
    return Decision(item_id, status, answer, None if target is None else json.loads(target),
                    note, reviewer, updated_at)


class ReviewStore:
    """The decisions table of one benchmark (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a review store (SQLite "
                             "file); move it away to start a new one")
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(decisions)")}
            if not columns >= _NEEDED:
                missing = ", ".join(sorted(_NEEDED - columns))
                raise StoreError(f"{self.path}: its decisions table lacks {missing}: not a "
                                 "vl4gaze review store; move it away to start a new one")

    @classmethod
    def for_bench(cls, bench: Path) -> ReviewStore:
        """The store beside a benchmark's data: ``BENCH/review.sqlite``."""
        return cls(Path(bench) / STORE_FILE)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
                yield db
        except sqlite3.DatabaseError as err:  # also OperationalError ("unable to open")
            raise StoreError(f"{self.path}: not a usable review store ({err}); move it "
                             "away to start a new one, or restore it from a backup") from None

    def record(self, item_id: str, status: str, *, fixed_answer: str | None = None,
               fixed_target: dict[str, Any] | None = None, note: str = "",
               reviewer: str = "") -> Decision:
        """Append a decision (earlier ones stay in the history) and return it."""
        if status not in STATUSES:
            raise ValueError(f"status={status!r}: expected one of {', '.join(STATUSES)}")
        if status != "fix" and (fixed_answer is not None or fixed_target is not None):
            raise ValueError(f"status={status!r} cannot carry a fixed answer or target")
        if status == "fix" and fixed_answer is None and fixed_target is None:
            raise ValueError("status='fix' needs a fixed_answer or a fixed_target")
        decision = Decision(item_id, status, fixed_answer, fixed_target, note, reviewer,
                            datetime.now(UTC).isoformat(timespec="milliseconds"))
        target = None if fixed_target is None else json.dumps(fixed_target, sort_keys=True)
        with self._connect() as db:
            db.execute(f"INSERT INTO decisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (item_id, status, fixed_answer, target, note, reviewer,
                        decision.updated_at))
        return decision

    def latest(self) -> dict[str, Decision]:
        """The current decision of every reviewed item (the last one recorded wins)."""
        query = (f"SELECT {_COLUMNS} FROM decisions WHERE seq IN "
                 "(SELECT MAX(seq) FROM decisions GROUP BY item_id)")
        with self._connect() as db:
            return {row[0]: _decision(row) for row in db.execute(query)}

    def get(self, item_id: str) -> Decision | None:
        """The current decision of one item, or None."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM decisions WHERE item_id = ? "
                             "ORDER BY seq DESC LIMIT 1", (item_id,)).fetchone()
        return None if row is None else _decision(row)

    def history(self, item_id: str) -> list[Decision]:
        """Every decision ever recorded for an item, oldest first."""
        with self._connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM decisions WHERE item_id = ? "
                              "ORDER BY seq", (item_id,)).fetchall()
        return [_decision(row) for row in rows]
