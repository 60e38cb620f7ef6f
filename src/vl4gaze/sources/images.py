"""A folder of one's own photos -> GazeSample, with heads found by a shipped face detector.

``images:DIR`` walks DIR (recursively, sorted) for .jpg/.jpeg/.png/.bmp/.webp/.tif files and
finds every head with ``vl4gaze.annotate.heads`` (OpenCV Haar by default). Without gaze
labels each person is a sample with ``inout = unknown`` and no gaze point: enough for the
ambiguity and description questions, never a scored point. Gaze labels may come from a
sidecar, in order of precedence:

- ``DIR/<path/stem>.gaze.json`` next to an image:
  ``{"units": "norm" | "px", "people": [{"head": [x1, y1, x2, y2], "gaze": [x, y] | null,
  "inout": "in" | "out" | "unknown", "description": "..."}]}``;
- ``DIR/gaze.csv`` with a header: ``image`` (path relative to DIR, required), ``gaze_x``,
  ``gaze_y``, ``inout``, ``head_x1``, ``head_y1``, ``head_x2``, ``head_y2``,
  ``description``, ``units`` (each optional; one row per person).

A labelled person with a head box is taken as given (detections overlapping it are the same
person); one without a head box is given the image's single unclaimed detected head, and is
reported as a problem when there is not exactly one. Coordinates are normalized unless
``units`` is ``px``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vl4gaze.geometry import box_from_pixels, box_iou
from vl4gaze.schema import Box, GazeSample, InOut, Person, Point
from vl4gaze.sources._common import (
    MAX_JSON_LINE,
    check_file,
    clip01,
    csv_rows,
    exists_at_all,
    far_out,
    image_size,
    json_line,
    size_problem,
    to_float,
)
from vl4gaze.sources.problems import INVALID, ProblemLog, SourceProblem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
CSV_SIDECAR = "gaze.csv"
JSON_SUFFIX = ".gaze.json"
HEAD_FIELDS = ("head_x1", "head_y1", "head_x2", "head_y2")
#: A labelled head and a detected one are the same person above this overlap.
SAME_HEAD_IOU = 0.3


@dataclass
class _Label:
    """One person as a sidecar describes them, before the image size is known."""

    file: str
    line: int | None
    head: tuple[float, float, float, float] | None
    gaze: tuple[float, float] | None
    inout: InOut | None
    description: str | None
    pixels: bool


def read_images(
    path: str,
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
    detector: str = "haar",
    min_face: float = 0.04,
    allow_outside_root: bool = False,
) -> Iterator[GazeSample]:
    """Yield one GazeSample per person found in the photos under ``path``.

    Only files found under ``path`` are read: gaze.csv names are matched against them, so
    ``allow_outside_root`` (accepted like every reader's) changes nothing here."""
    from vl4gaze.annotate.heads import detect_heads

    log = ProblemLog(strict, problems)
    root = Path(path).resolve()
    if not root.is_dir():
        log.add(str(root), None, None, "not a folder of images")
        return
    files = sorted(
        p for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    csv_labels = _read_csv(root / CSV_SIDECAR, log)
    for file in files:
        rel = file.relative_to(root).as_posix()
        labels = _read_json(file.with_name(file.stem + JSON_SUFFIX), log)
        if labels is None:
            labels = csv_labels.pop(rel, [])
        try:
            width, height = image_size(str(file))
            found = [d.head for d in detect_heads(file, method=detector, min_face=min_face)]
        except OSError as error:
            log.add(str(file), None, None, size_problem(str(file), error))
            continue
        except (ValueError, RuntimeError) as error:  # a detector that cannot decode it
            log.add(str(file), None, None, f"image cannot be decoded: {error}")
            continue
        people = _people(labels, found, width, height, rel, log)
        if not people:
            log.add(str(file), None, None, "no head found (and no sidecar label)", kind=INVALID)
            continue
        persons = [Person(head=head, description=desc, index=i)
                   for i, (head, _, _, desc) in enumerate(people)]
        for person, (_, gaze, inout, _) in zip(persons, people, strict=True):
            yield GazeSample(
                image=str(file), width=width, height=height, source="images",
                source_id=f"{rel}#{person.index}", split="test", person=person,
                gaze=() if gaze is None else (gaze,),
                inout=inout,
                others=tuple(p for p in persons if p is not person),
            )
    for rel, labels in csv_labels.items():
        log.add(labels[0].file, labels[0].line, "image", f"no image {rel!r} in {root}")


def _people(
    labels: list[_Label], detected: list[Box], width: int, height: int, rel: str,
    log: ProblemLog,
) -> list[tuple[Box, Point | None, InOut, str | None]]:
    """Merge sidecar people and detected heads into (head, gaze, inout, description), left
    to right."""
    people: list[tuple[Box, Point | None, InOut, str | None]] = []
    free = list(detected)
    headless: list[tuple[_Label, Point | None, InOut]] = []
    for label in labels:
        gaze = _point(label, width, height, log)
        if gaze is False:
            continue
        inout = label.inout or (InOut.IN if gaze is not None else InOut.UNKNOWN)
        if inout is not InOut.IN:
            gaze = None
        if label.head is None:
            headless.append((label, gaze, inout))
            continue
        head = _box(label, width, height, log)
        if head is None:
            continue
        free = [d for d in free if box_iou(d, head) < SAME_HEAD_IOU]
        people.append((head, gaze, inout, label.description))
    for label, gaze, inout in headless:
        if len(free) != 1:
            log.add(label.file, label.line, "head_x1",
                    f"{rel}: {len(free)} unclaimed heads were detected, so a label without a "
                    "head box cannot be placed; give head_x1..head_y2")
            continue
        people.append((free.pop(), gaze, inout, label.description))
    people.extend((head, None, InOut.UNKNOWN, None) for head in free)
    return sorted(people, key=lambda p: (p[0].x1, p[0].y1))


def _point(label: _Label, width: int, height: int, log: ProblemLog) -> Point | bool | None:
    """The label's gaze point, None when not given, False when invalid (reported)."""
    if label.gaze is None:
        return None
    x, y = label.gaze
    if label.pixels:
        x, y = x / width, y / height
    for name, value in (("gaze_x", x), ("gaze_y", y)):
        if far_out(value):
            log.add(label.file, label.line, name,
                    f"{name}={value!r} is outside the image (normalized; set units=px for "
                    "pixels)")
            return False
    return Point(clip01(x), clip01(y))


def _box(label: _Label, width: int, height: int, log: ProblemLog) -> Box | None:
    assert label.head is not None
    x1, y1, x2, y2 = label.head
    if not label.pixels:
        x1, y1, x2, y2 = x1 * width, y1 * height, x2 * width, y2 * height
    for name, value, extent in zip(HEAD_FIELDS, (x1, y1, x2, y2),
                                   (width, height, width, height), strict=True):
        if far_out(value, extent):
            log.add(label.file, label.line, name, f"{name} lies outside the {width}x{height} image")
            return None
    if x2 <= x1 or y2 <= y1:
        log.add(label.file, label.line, "head_x2",
                "head box has no area (need x1 < x2 and y1 < y2)")
        return None
    return box_from_pixels(x1, y1, x2, y2, width, height)


def _inout(text: str | None, file: str, line: int | None, log: ProblemLog) -> InOut | bool | None:
    if text is None or not str(text).strip():
        return None
    try:
        return InOut(str(text).strip().lower())
    except ValueError:
        log.add(file, line, "inout", f"inout={text!r} is not in, out or unknown")
        return False


def _read_csv(file: Path, log: ProblemLog) -> dict[str, list[_Label]]:
    """image (relative path) -> its labelled people, from DIR/gaze.csv."""
    labels: dict[str, list[_Label]] = {}
    if not exists_at_all(file) or not check_file(file, log, what=CSV_SIDECAR):
        return labels
    name = str(file)
    rows = csv_rows(file, log)
    _, header = next(rows, (1, []))
    header = [h.strip() for h in header]
    if "image" not in header:
        log.add(name, 1, "image", "gaze.csv needs a header with an 'image' column")
        return labels
    twice = next((h for i, h in enumerate(header) if h and h in header[:i]), None)
    if twice is not None:
        log.add(name, 1, twice, f"header names column {twice!r} twice; the file is not read")
        return labels
    for line, values in rows:
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        if len(values) > len(header):
            log.add(name, line, None, f"{len(values)} fields for the header's "
                    f"{len(header)}")
            continue
        row = dict(zip(header, values, strict=False))
        image = (row.get("image") or "").strip()
        if not image:
            log.add(name, line, "image", "empty image path")
            continue
        label = _label(row, name, line, log)
        if label is not None:
            labels.setdefault(Path(image).as_posix(), []).append(label)
    return labels


def _label(row: dict, file: str, line: int | None, log: ProblemLog) -> _Label | None:
    def number(key: str) -> float | None:
        text = row.get(key)
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        return to_float(str(text))

    units = (row.get("units") or "norm").strip().lower()
    if units not in ("norm", "px"):
        log.add(file, line, "units", f"units={units!r} is not norm or px")
        return None
    values: dict[str, float | None] = {}
    for key in ("gaze_x", "gaze_y", *HEAD_FIELDS):
        try:
            values[key] = number(key)
        except ValueError:
            log.add(file, line, key, f"{key}={row.get(key)!r} is not a number")
            return None
    gaze_given = [values["gaze_x"] is not None, values["gaze_y"] is not None]
    if any(gaze_given) and not all(gaze_given):
        log.add(file, line, "gaze_y" if gaze_given[0] else "gaze_x", "give both gaze_x and gaze_y")
        return None
    head_given = [values[k] is not None for k in HEAD_FIELDS]
    if any(head_given) and not all(head_given):
        missing = HEAD_FIELDS[head_given.index(False)]
        log.add(file, line, missing, "give all four head_x1, head_y1, head_x2, head_y2")
        return None
    inout = _inout(row.get("inout"), file, line, log)
    if inout is False:
        return None
    description = str(row.get("description") or "").strip() or None
    return _Label(
        file, line,
        tuple(values[k] for k in HEAD_FIELDS) if all(head_given) else None,  # type: ignore[arg-type]
        (values["gaze_x"], values["gaze_y"]) if all(gaze_given) else None,  # type: ignore[arg-type]
        inout, description, units == "px",
    )


def _read_json(file: Path, log: ProblemLog) -> list[_Label] | None:
    """The people of one image's JSON sidecar; None when there is none."""
    if not exists_at_all(file):
        return None
    if not check_file(file, log, what="gaze sidecar"):
        return []
    name = str(file)
    try:
        if os.path.getsize(file) > MAX_JSON_LINE:
            raise ValueError(f"larger than {MAX_JSON_LINE:,} bytes")
        data = json_line(file.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as error:
        log.add(name, None, None, f"not UTF-8 text (byte {error.start + 1})")
        return []
    except (OSError, ValueError) as error:
        log.add(name, None, None, f"not a valid gaze sidecar: {error}")
        return []
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        log.add(name, None, "people", "a gaze sidecar needs a 'people' list")
        return []
    labels: list[_Label] = []
    for i, person in enumerate(data["people"]):
        where = f"people[{i}]"
        if not isinstance(person, dict):
            log.add(name, None, where, "not an object")
            continue
        row: dict[str, object] = {"units": data.get("units", "norm"),
                                  "inout": person.get("inout"),
                                  "description": person.get("description")}
        for key, size, fields in (("head", 4, HEAD_FIELDS), ("gaze", 2, ("gaze_x", "gaze_y"))):
            value = person.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or len(value) != size:
                log.add(name, None, f"{where}.{key}", f"{key} must be a list of {size} numbers")
                break
            row.update(zip(fields, (str(v) for v in value), strict=True))
        else:
            label = _label(row, name, None, _PrefixedLog(log, where))
            if label is not None:
                labels.append(label)
    return labels


class _PrefixedLog(ProblemLog):
    """Routes problems of one JSON entry with the entry's position in the field name."""

    def __init__(self, log: ProblemLog, where: str) -> None:
        super().__init__(log.strict, log.problems)
        self.where = where

    def add(self, file: str, line: int | None, field: str | None, message: str,
            kind: str = "error") -> None:
        super().add(file, line, f"{self.where}.{field}" if field else self.where, message, kind)
