"""Reviewed decisions -> the benchmark: fixes checked and applied, a cleaned copy written.

The rest of the pipeline reads only benchmark directories, so the review feeds it the
simplest way: ``export_reviewed`` writes a copy of BENCH with rejected items removed and
fixed answers / targets applied (same Parquet schema, images, manifest with review
counts). Item ids are kept, so a decision, a prediction and an item still join on ``id``.
"""

from __future__ import annotations

import dataclasses
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
from vl4gaze.review.store import STATUSES, UNREVIEWED, Decision, ReviewStore
from vl4gaze.schema import QAItem
from vl4gaze.tasks import fixes, registry


def check_fixed_target(task: object, target: dict[str, Any]) -> dict[str, Any]:
    """Validate the fields a fix of one of ``task``'s items may change, as that task reads
    them (``label`` is free text for object, yes / no for mutual): a field its
    ``target_type`` does not have is refused (nothing would read it), and the task checks
    each value (``TaskSpec.check_target``: normalized coordinates, known labels)."""
    spec = registry.get(task)
    if spec.target_type is not None:
        fields = [f.name for f in dataclasses.fields(spec.target_type)]
        for key in target:
            if key not in fields:
                raise ValueError(f"fixed_target.{key}: a {spec.name} target has no such "
                                 f"field (its fields: {', '.join(fields)})")
    if spec.check_target is not None:
        for key, value in target.items():
            spec.check_target(key, value)
    return target


def clickable(task: object) -> bool:
    """Whether a reviewer can click the true gaze point of ``task``'s items."""
    return registry.get(task).fix_point is not None


def point_fix(item: QAItem, x: float, y: float) -> tuple[str, dict[str, Any]]:
    """The answer and target changes when a reviewer clicks the true gaze point: the
    item's task says how (``TaskSpec.fix_point``; point items get the point as their only
    annotation, direction items as the gaze end). Other tasks have no point to fix."""
    x, y = fixes.pair("point", [x, y])
    fix = registry.get(item.task).fix_point
    if fix is None:
        raise ValueError(f"item {item.id}: a {item.task} item has no gaze point to set")
    return fix(item, x, y)


def answer_fix(item: QAItem, answer: str) -> tuple[str, dict[str, Any]]:
    """A typed answer fix as the scorer will read it: (canonical answer, target changes).

    The item's task decides (``TaskSpec.fix_answer``): a direction fix must be one of the
    eight names, a point fix a point in the image in the item's format, a social fix a
    choice its scorer reads (yes / no; the other person or nobody), written as the build
    writes it (the scorers read these from the target, not the answer text). Other tasks
    keep the text as written.
    """
    fix = registry.get(item.task).fix_answer
    return fix(item, answer) if fix is not None else (answer, {})


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
