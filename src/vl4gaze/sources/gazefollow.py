"""GazeFollow (extended release of Chong et al. 2018) -> GazeSample.

The release has two comma-separated files without a header:

- ``train_annotations_release.txt``: 17 fields, one row per person; ``in_or_out`` is
  1 (gaze inside the frame), 0 (outside) or -1 (invalid: skipped, recorded as a problem
  of kind "invalid").
- ``test_annotations_release.txt``: 16 fields (no ``in_or_out``; every test person is
  in-frame); each annotator of a person is its own row. Rows are grouped into one person
  by (path, eye_x), the value of eye_x as a number, exactly as the reference loaders do,
  so item counts compare with published ones: ejcgt/attention-target-detection
  ``dataset.py`` (``GazeFollow.__init__``: ``groupby(['path', 'eye_x'])``, commit
  acd264a3c9e6002b71244dea8c1873e5c5818500) and fkryan/gazelle
  ``data_prep/preprocess_gazefollow.py`` (``groupby(["path", "eye_x"])``, the head box of
  the group's first row, commit c8457130ee0221845de3485d6b2a5a6198912cf3). The person
  takes the eye and head box of its first row; a row of the group whose eye_y or head
  box differs (a finer grouping would split it) is reported as a warning.

Body box, eye and gaze are normalized; the head box is in pixels, so each image's size is
read from its header (lazily, cached). Head boxes with swapped corners are put in order
and clipped to the image. Nothing uses the body box: a value there that is not a number or
lies out of range is a warning, and the row is kept.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vl4gaze.schema import GazeSample, InOut, Person, trusted
from vl4gaze.sources._common import (
    FAR_OUT,
    ImageSizeFn,
    area_message,
    check_file,
    clipped_box,
    clipped_point,
    csv_rows,
    exists_at_all,
    far_out,
    image_size,
    inside_root,
    no_area,
    outside_message,
    size_problem,
    to_float,
)
from vl4gaze.sources.problems import INVALID, WARNING, ProblemLog, SourceProblem

TRAIN_FILE = "train_annotations_release.txt"
TEST_FILE = "test_annotations_release.txt"

TRAIN_FIELDS: tuple[str, ...] = (
    "path", "id", "body_x", "body_y", "body_w", "body_h", "eye_x", "eye_y", "gaze_x",
    "gaze_y", "head_xmin", "head_ymin", "head_xmax", "head_ymax", "in_or_out", "source",
    "original_name",
)
TEST_FIELDS: tuple[str, ...] = tuple(f for f in TRAIN_FIELDS if f != "in_or_out")

_BODY = ("body_x", "body_y", "body_w", "body_h")  # read by nothing: checked, never fatal
_NORMALIZED = ("eye_x", "eye_y", "gaze_x", "gaze_y")
_PIXELS = ("head_xmin", "head_ymin", "head_xmax", "head_ymax")


@dataclass
class _Row:
    """The parts of one annotation row that a sample needs."""

    line: int
    eye: tuple[float, float]
    gaze: tuple[float, float]
    head: tuple[float, float, float, float]
    inout: InOut


@dataclass
class _PersonRows:
    """All rows of one person (one per annotator in the test split)."""

    rows: list[_Row] = field(default_factory=list)


def read_gazefollow(
    path: str,
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
    splits: tuple[str, ...] = ("train", "test"),
    image_size_fn: ImageSizeFn | None = None,
    allow_outside_root: bool = False,
) -> Iterator[GazeSample]:
    """Yield one GazeSample per person of a GazeFollow release directory.

    ``path`` is the release root (holding both annotation files and the image folders) or
    one annotation file (its folder is then the image root). ``image_size_fn`` replaces
    the header read (benchmarks, tests). Image paths that leave the root (absolute, ``..``)
    are refused unless ``allow_outside_root``.
    """
    log = ProblemLog(strict, problems)
    size_of = image_size_fn or image_size
    target = Path(path)
    if exists_at_all(target) and not os.path.isdir(target):
        if not check_file(target, log):
            return
        files = [(_split_of(target), target)]
        root = target.parent
    else:
        root = target
        files = [(s, root / (TRAIN_FILE if s == "train" else TEST_FILE)) for s in splits]
        # Something that is there but is no readable file (a directory, a symlink loop,
        # no permission) is reported, never taken for an absent file.
        present = [(s, f) for s, f in files if exists_at_all(f)]
        if not present:
            log.add(str(root), None, None, f"no {TRAIN_FILE} or {TEST_FILE} in this folder")
            return
        files = [(s, f) for s, f in present if check_file(f, log)]
    root_abs = os.path.abspath(root)
    for split, file in files:
        images = _parse_file(file, split, log, root_abs, allow_outside_root)
        yield from _samples(images, split, str(file), root_abs, size_of, log)


def _split_of(file: Path) -> str:
    return "test" if "test" in file.name else "train"


def _parse_file(file: Path, split: str, log: ProblemLog, root: str,
                allow_outside_root: bool = False) -> dict[str, dict]:
    """Parse and check every row; return image path -> person key -> rows, in file order."""
    fields = TRAIN_FIELDS if split == "train" else TEST_FIELDS
    n_fields = len(fields)
    index = {name: i for i, name in enumerate(fields)}
    i_head = [index[name] for name in _PIXELS]
    i_norm = [index[name] for name in _NORMALIZED]
    i_body = [index[name] for name in _BODY]
    k_eye_x, k_eye_y = _NORMALIZED.index("eye_x"), _NORMALIZED.index("eye_y")
    k_gaze_x, k_gaze_y = _NORMALIZED.index("gaze_x"), _NORMALIZED.index("gaze_y")
    lo, hi = -FAR_OUT, 1 + FAR_OUT
    i_inout = index.get("in_or_out")
    name = str(file)
    images: dict[str, dict] = {}
    for line, row in csv_rows(file, log):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != n_fields:
            log.add(name, line, None,
                    f"expected {n_fields} comma-separated fields ({split} format), "
                    f"found {len(row)}")
            continue
        image = row[0].strip()
        if not image:
            log.add(name, line, "path", "empty image path")
            continue
        if inside_root(root, image, allow_outside=allow_outside_root) is None:
            log.add(name, line, "path", outside_message(image, root))
            continue
        if "./" in image or "//" in image:  # one image, however it is spelled: its people
            image = os.path.normpath(image)  # are grouped (and paired) together
        inout = InOut.IN  # checked first: -1 rows may hold anything
        if i_inout is not None:
            text = row[i_inout].strip()
            if text not in ("1", "0", "-1", "1.0", "0.0", "-1.0"):
                log.add(name, line, "in_or_out", f"in_or_out={text!r} is not 1, 0 or -1")
                continue
            flag = int(float(text))
            if flag == -1:
                log.add(name, line, "in_or_out",
                        "row marked invalid by the release (in_or_out = -1); skipped",
                        kind=INVALID)
                continue
            inout = InOut.IN if flag == 1 else InOut.OUT
        try:  # fast path: every number parses and lies in range
            norm = [float(row[i]) for i in i_norm]
            head = [float(row[i]) for i in i_head]
            ok = (math.isfinite(sum(head) + sum(norm))
                  and lo <= min(norm) and max(norm) <= hi)
        except ValueError:
            ok = False
        if not ok:
            _report_numbers(row, fields, i_norm, i_head, name, line, log)
            continue
        try:
            body_ok = all(lo <= float(row[i]) <= hi for i in i_body)
        except ValueError:
            body_ok = False
        if not body_ok:
            _report_body(row, fields, i_body, name, line, log)
        eye = (norm[k_eye_x], norm[k_eye_y])
        parsed = _Row(line, eye, (norm[k_gaze_x], norm[k_gaze_y]), tuple(head), inout)
        # Test: one person per (path, eye_x) as the reference loaders group, one row per
        # annotator. Train: one row per person (the line keeps duplicates apart).
        key = eye[0] if split == "test" else (eye, line)
        person = images.setdefault(image, {}).setdefault(key, _PersonRows())
        if person.rows:
            _check_same_person(person.rows[0], parsed, name, log)
        person.rows.append(parsed)
    return images


def _report_body(
    row: list[str], fields: tuple[str, ...], i_body: list[int], file: str, line: int,
    log: ProblemLog,
) -> None:
    """The body box is read by nothing: a bad value there is a warning, the row is kept."""
    for i in i_body:
        try:
            value = to_float(row[i])
        except ValueError:
            log.add(file, line, fields[i], f"{fields[i]}={row[i]!r} is not a number "
                    "(the body box is not used; row kept)", kind=WARNING)
            return
        if far_out(value):
            log.add(file, line, fields[i], f"{fields[i]}={value!r} is far outside the "
                    "normalized range [0, 1] (the body box is not used; row kept)",
                    kind=WARNING)
            return


def _check_same_person(first: _Row, row: _Row, file: str, log: ProblemLog) -> None:
    """Warn where a finer grouping than (path, eye_x) would split this test person."""
    if row.eye[1] != first.eye[1]:
        log.add(file, row.line, "eye_y",
                f"same path and eye_x as line {first.line} but eye_y={row.eye[1]!r} (not "
                f"{first.eye[1]!r}): grouped as one person by (path, eye_x) as the "
                "reference loaders do; a finer grouping would split it", kind=WARNING)
        return
    bad = next((i for i in range(4) if row.head[i] != first.head[i]), None)
    if bad is not None:
        log.add(file, row.line, _PIXELS[bad],
                f"same path and eye point as line {first.line} but {_PIXELS[bad]}="
                f"{row.head[bad]!r} (not {first.head[bad]!r}): grouped as one person by "
                f"(path, eye_x) with line {first.line}'s head box, as the reference loaders "
                "do; a finer grouping would split it", kind=WARNING)


def _report_numbers(
    row: list[str], fields: tuple[str, ...], i_norm: list[int], i_head: list[int], file: str,
    line: int, log: ProblemLog,
) -> None:
    """The slow path: find the first field that is not a number or far out of range."""
    for i in i_norm + i_head:
        try:
            value = to_float(row[i])
        except ValueError:
            log.add(file, line, fields[i], f"{fields[i]}={row[i]!r} is not a number")
            return
        if i in i_norm and far_out(value):
            log.add(file, line, fields[i],
                    f"{fields[i]}={value!r} is far outside the normalized range [0, 1]")
            return
    log.add(file, line, None, "numbers too large to add up (overflow)")  # e.g. 1e308 values


def _samples(
    images: dict[str, dict], split: str, file: str, root: str, size_of: ImageSizeFn,
    log: ProblemLog,
) -> Iterator[GazeSample]:
    for rel, people in images.items():
        absolute = os.path.join(root, rel)
        first_line = min(rows.rows[0].line for rows in people.values())
        try:
            width, height = size_of(absolute)
        except OSError as error:
            n_rows = sum(len(rows.rows) for rows in people.values())
            log.add(file, first_line, "path",
                    f"{size_problem(absolute, error)} ({n_rows} row(s) skipped)")
            continue
        if not (isinstance(width, int) and isinstance(height, int) and width > 0
                and height > 0):
            log.add(file, first_line, "path", f"image size {width!r}x{height!r} of "
                    f"{absolute} is not a positive pixel count")
            continue
        # Every value below is checked here or when its row was parsed (numbers finite and
        # near range, then clipped; boxes ordered): the records are built without a
        # second validation (``schema.trusted``), which was most of reading's time.
        persons: list[tuple[Person, _PersonRows]] = []
        for rows in people.values():
            first = rows.rows[0]
            x1, y1, x2, y2 = first.head
            bad = next((name for name, value, extent in zip(
                _PIXELS, first.head, (width, height, width, height), strict=True)
                if far_out(value, extent)), None)
            if bad is not None:
                value = first.head[_PIXELS.index(bad)]
                log.add(file, first.line, bad,
                        f"{bad}={value!r} is far outside the {width}x{height} image")
                continue
            head = clipped_box(x1, y1, x2, y2, width, height)
            if no_area(head):
                log.add(file, first.line, "head_xmax" if head.x2 <= head.x1 else "head_ymax",
                        area_message(head, width, height))
                continue
            eye = clipped_point(*first.eye)
            persons.append((trusted(Person, head=head, eye=eye, index=len(persons)), rows))
        for person, rows in persons:
            first = rows.rows[0]
            gaze = ()
            if first.inout is InOut.IN:
                gaze = tuple(clipped_point(*r.gaze) for r in rows.rows)
            yield trusted(
                GazeSample,
                image=absolute,
                width=width,
                height=height,
                source="gazefollow",
                source_id=f"{rel}#{person.index}",
                split=split,
                person=person,
                gaze=gaze,
                inout=first.inout,
                others=tuple(p for p, _ in persons if p is not person),
            )
