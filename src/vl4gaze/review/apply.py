"""Reviewed decisions -> the benchmark: fixes checked and applied, a cleaned copy written.

The rest of the pipeline reads only benchmark directories, so the review feeds it the
simplest way: ``export_reviewed`` writes a copy of BENCH with rejected items removed and
fixed answers / targets applied (same Parquet schema, images, manifest with review
counts). Item ids are kept, so a decision, a prediction and an item still join on ``id``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vl4gaze.build import (
    PLAN_FILE,
    SCHEMA,
    atomic_write_text,
    counts_of,
    dataset_card,
    write_parquet,
)
from vl4gaze.geometry import DIRECTIONS, direction_of_angle, format_point, gaze_angle
from vl4gaze.review.store import STATUSES, UNREVIEWED, Decision, ReviewStore
from vl4gaze.schema import AmbiguityReason, Point, QAItem

_PAIRS = ("mean", "eye", "gaze")


def _unit(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"fixed_target.{field}: {value!r} is not a number in [0, 1]")
    return float(value)


def _pair(field: str, value: Any) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"fixed_target.{field}: expected [x, y], got {value!r}")
    return [_unit(f"{field}[{i}]", v) for i, v in enumerate(value)]


def check_fixed_target(target: dict[str, Any]) -> dict[str, Any]:
    """Validate the fields a fix may change (normalized coordinates, known labels)."""
    for key, value in target.items():
        if key in _PAIRS:
            _pair(key, value)
        elif key == "points":
            if not isinstance(value, list) or not value:
                raise ValueError(f"fixed_target.points: expected [[x, y], ...], got {value!r}")
            for i, p in enumerate(value):
                _pair(f"points[{i}]", p)
        elif key == "box" and value is not None:
            if not isinstance(value, list) or len(value) != 4:
                raise ValueError(f"fixed_target.box: expected [x1, y1, x2, y2], got {value!r}")
            x1, y1, x2, y2 = (_unit(f"box[{i}]", v) for i, v in enumerate(value))
            if x2 < x1 or y2 < y1:
                raise ValueError(f"fixed_target.box: corners out of order in {value!r}")
        elif key == "direction" and value not in DIRECTIONS:
            raise ValueError(f"fixed_target.direction: {value!r} is not one of "
                             f"{', '.join(DIRECTIONS)}")
        elif key == "ambiguous" and not isinstance(value, bool):
            raise ValueError(f"fixed_target.ambiguous: {value!r} is not true/false")
        elif key == "reason" and value is not None and value not in set(AmbiguityReason):
            raise ValueError(f"fixed_target.reason: {value!r} is not one of "
                             f"{', '.join(AmbiguityReason)} or null")
    return target


def point_fix(item: QAItem, x: float, y: float) -> tuple[str, dict[str, Any]]:
    """The answer and target changes when a reviewer clicks the true gaze point.

    Point items get the clicked point as their only annotation (in the item's answer
    format); direction items get it as the gaze end, with angle and class recomputed
    from the eye as the build does. Other tasks have no point to fix.
    """
    x, y = _pair("point", [x, y])
    t = item.target
    if item.task == "point":
        fmt = t.get("format") or "norm"
        return (format_point(x, y, fmt, item.width, item.height),
                {"points": [[x, y]], "mean": [x, y]})
    if item.task == "direction" and t.get("eye") is not None:
        eye = Point(*t["eye"])
        angle = gaze_angle(eye, Point(x, y), item.width, item.height)
        direction = direction_of_angle(angle)
        return direction, {"gaze": [x, y], "angle_deg": round(angle, 3), "direction": direction}
    raise ValueError(f"item {item.id}: a {item.task} item has no gaze point to set")


def answer_fix(item: QAItem, answer: str) -> tuple[str, dict[str, Any]]:
    """A typed answer fix as the scorer will read it: (canonical answer, target changes).

    The scorer reads a direction item's class and a point item's points from the target,
    not from the answer text, so such fixes must say something the target can hold: one
    of the eight direction names, or a point inside the image in the item's format.
    Other tasks keep the text as written.
    """
    if item.task == "direction":
        direction = answer.strip().lower()
        if direction not in DIRECTIONS:
            raise ValueError(f"a direction fix must be one of {', '.join(DIRECTIONS)}; "
                             f"got {answer!r}")
        return direction, {"direction": direction}
    if item.task == "point":
        from vl4gaze.parse.points import parse_point

        fmt = item.target.get("format") or "norm"
        parsed = parse_point(answer, fmt if fmt != "norm1000" else "norm1000",
                             (item.width, item.height))
        if parsed is None:
            raise ValueError(f"a point fix must be a point inside the image in the "
                             f"question's format ({fmt}); got {answer!r}")
        return point_fix(item, parsed.x, parsed.y)
    return answer, {}


def apply_decision(row: dict[str, Any], decision: Decision | None) -> dict[str, Any] | None:
    """One benchmark row (``target`` as a dict) after its decision; None when rejected."""
    if decision is None or decision.status == "accept":
        return row
    if decision.status == "reject":
        return None
    fixed = dict(row)
    if decision.fixed_answer is not None:
        fixed["answer"] = decision.fixed_answer
    if decision.fixed_target is not None:
        fixed["target"] = {**row["target"], **decision.fixed_target}
    return fixed


def apply_decisions(rows: list[dict[str, Any]], decisions: dict[str, Decision], *,
                    reviewed_only: bool = False) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Rows after their decisions, and how many items each status (and unreviewed) had."""
    kept: list[dict[str, Any]] = []
    tally: Counter[str] = Counter()
    for row in rows:
        decision = decisions.get(row["id"])
        tally[decision.status if decision else UNREVIEWED] += 1
        if decision is None and reviewed_only:
            continue
        out = apply_decision(row, decision)
        if out is not None:
            kept.append(out)
    return kept, tally


def _place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)  # same disk: no second copy of the pixels
    except OSError:
        shutil.copy2(src, dest)


def export_reviewed(bench: Path, out: Path, *, reviewed_only: bool = False) -> dict[str, Any]:
    """Write OUT: BENCH with its review applied; returns OUT's manifest.

    Rejected items are dropped (and unreviewed ones too with ``reviewed_only``), fixes are
    applied and validated as ``QAItem``s, images the kept items show are hard-linked (or
    copied), and the manifest gets fresh counts plus a ``review`` section.
    """
    bench, out = Path(bench), Path(out)
    if out.resolve() == bench.resolve():
        raise ValueError(f"{out}: the export must go to a new directory, not BENCH itself")
    decisions = ReviewStore.for_bench(bench).latest()
    (out / "data").mkdir(parents=True, exist_ok=True)
    tables: dict[str, pa.Table] = {}
    tally: Counter[str] = Counter()
    images: set[str] = set()
    for path in sorted((bench / "data").glob("*.parquet")):
        rows = pq.read_table(path).to_pylist()
        for row in rows:
            row["target"] = json.loads(row["target"])
        kept, counts = apply_decisions(rows, decisions, reviewed_only=reviewed_only)
        tally.update(counts)
        for n, row in enumerate(kept, start=1):
            try:
                QAItem.from_dict(row)
            except ValueError as err:
                raise ValueError(f"{path}: row {n} (id {row['id']!r}) after review: {err}"
                                 ) from err
            row["target"] = json.dumps(row["target"], sort_keys=True, separators=(",", ":"))
            images.add(row["image"])
        tables[path.stem] = pa.Table.from_pylist(kept, schema=SCHEMA)
        write_parquet(tables[path.stem], out / "data" / path.name)
    for image in sorted(images):
        if (bench / image).exists():
            _place(bench / image, out / image)
    if (bench / PLAN_FILE).exists():
        shutil.copyfile(bench / PLAN_FILE, out / PLAN_FILE)
    manifest = _manifest(bench, out, tables, tally, reviewed_only)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    review = manifest["review"]
    (out / "README.md").write_text(
        dataset_card(manifest) + "\n## Review\n\n"
        f"Reviewed with `vl4gaze review` from `{review['from']}`: "
        + ", ".join(f"{k} {v}" for k, v in review["decisions"].items())
        + f"; {review['removed']} item(s) removed.\n")
    return manifest


def _manifest(bench: Path, out: Path, tables: dict[str, pa.Table], tally: Counter[str],
              reviewed_only: bool) -> dict[str, Any]:
    manifest_path = bench / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    before = manifest.get("counts", {}).get("total")
    counts = counts_of(tables)
    digest = hashlib.sha256()  # as build does: over the Parquet files in name order
    for path in sorted((out / "data").glob("*.parquet")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    manifest.update(counts=counts, splits=sorted(tables), content_hash=digest.hexdigest())
    for key, default in (("name", "vl4gaze"), ("version", ""), ("seed", 0), ("sources", []),
                         ("person_ref", ""), ("point_format", ""), ("options", {}),
                         ("samples", 0), ("skipped", {})):
        manifest.setdefault(key, default)
    manifest["review"] = {
        "from": str(bench.resolve()),
        "decisions": {s: tally.get(s, 0) for s in (*STATUSES, UNREVIEWED)},
        "reviewed_only": reviewed_only,
        "removed": (before if before is not None else sum(tally.values())) - counts["total"],
    }
    return manifest
