"""ChildPlay (Tafasca et al. 2023) -> GazeSample, keeping every gaze class as flags.

Layout: ``annotations/{train,val,test}/{clip}.csv``, one CSV with a header per clip and
several people per frame. Clips are named ``{videoid}_{start}-{end}``, some with a
``-downsampled`` suffix; video ids may hold ``_`` and ``-``. ``frame`` is the 1-based index
within the clip and the image is ``images/{clip}/{videoid}_{start + frame - 1}.jpg``; for a
``-downsampled`` clip too: the suffix is dropped before the name is split and the mapping
stays ``start + frame - 1`` (idiap/sharingan, src/datasets/childplay.py,
``ChildPlayDataset.__getitem__``, commit 006b69dfb70e83aa8b073d0a8ead10325022f687).
Columns used: clip, frame, person_id, bbox_x, bbox_y, bbox_width, bbox_height (head,
pixels), gaze_class, gaze_x, gaze_y (pixels).

The non-visible gaze classes are exactly what the ambiguity task needs, so none is dropped:
``eyes_closed`` -> Flag.EYES_CLOSED (no gaze point), ``inside_occluded`` -> Flag.OCCLUDED,
``inside_uncertain`` -> Flag.UNCERTAIN, ``gaze_shift`` -> Flag.GAZE_SHIFT (in/out unknown),
``outside_frame`` -> InOut.OUT (no gaze point).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from vl4gaze.schema import Flag, GazeSample, InOut
from vl4gaze.sources._common import (
    ImageSizeFn,
    check_file,
    csv_rows,
    image_size,
    inside_root,
    outside_message,
    to_float,
)
from vl4gaze.sources._frames import FrameAnnotation, frame_samples
from vl4gaze.sources.problems import ProblemLog, SourceProblem

REQUIRED = ("frame", "person_id", "bbox_x", "bbox_y", "bbox_width", "bbox_height",
            "gaze_class", "gaze_x", "gaze_y")
HEAD_FIELDS = ("bbox_x", "bbox_y", "bbox_width", "bbox_height")
GAZE_FIELDS = ("gaze_x", "gaze_y")

#: ``{videoid}_{start}-{end}`` with an optional ``-downsampled`` (the reference strips
#: ``-downsample``, so both spellings) and a greedy video id (it may contain ``_``).
CLIP_NAME = re.compile(r"(?P<video>.+)_(?P<start>\d+)-(?P<end>\d+)(?:-downsampled?)?")

#: gaze_class -> (in/out, flags, whether the gaze point is kept)
GAZE_CLASSES: dict[str, tuple[InOut, tuple[str, ...], bool]] = {
    "inside_visible": (InOut.IN, (), True),
    "outside_frame": (InOut.OUT, (), False),
    "gaze_shift": (InOut.UNKNOWN, (Flag.GAZE_SHIFT.value,), True),
    "inside_occluded": (InOut.IN, (Flag.OCCLUDED.value,), True),
    "inside_uncertain": (InOut.IN, (Flag.UNCERTAIN.value,), True),
    "eyes_closed": (InOut.UNKNOWN, (Flag.EYES_CLOSED.value,), False),
}


def read_childplay(
    path: str,
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
    splits: tuple[str, ...] = ("train", "val", "test"),
    image_size_fn: ImageSizeFn | None = None,
    allow_outside_root: bool = False,
) -> Iterator[GazeSample]:
    """Yield one GazeSample per person per annotated frame of a ChildPlay root.

    A ``clip`` column whose value leads out of ``images/`` is refused unless
    ``allow_outside_root``."""
    log = ProblemLog(strict, problems)
    size_of = image_size_fn or image_size
    root = Path(os.path.abspath(path))
    if not (root / "annotations").is_dir():
        log.add(str(root), None, None,
                "no annotations/ folder (expected annotations/{split}/*.csv)")
        return
    for split in splits:
        images = str(root / "images")
        for file in sorted((root / "annotations" / split).glob("*.csv")):
            if not check_file(file, log, what="clip file"):
                continue  # a directory named x.csv, a symlink loop, no permission
            frames: dict[tuple[str, int], list[FrameAnnotation]] = {}
            for clip, frame, ann in _read_clip(file, log):
                rel = os.path.join(clip, frame_image(clip, frame))
                if inside_root(images, rel, allow_outside=allow_outside_root) is None:
                    log.add(ann.file, ann.line, "clip", outside_message(rel, images))
                    continue
                frames.setdefault((clip, frame), []).append(ann)
            for (clip, frame), people in frames.items():
                yield from frame_samples(
                    source="childplay",
                    split=split,
                    image=os.path.normpath(os.path.join(images, clip, frame_image(clip, frame))),
                    frame_id=f"{split}/{clip}/{frame}",
                    annotations=sorted(people, key=lambda a: a.person),
                    size_of=size_of,
                    log=log,
                )


@lru_cache(maxsize=4096)
def parse_clip(clip: str) -> tuple[str, int, int] | None:
    """``videoid_start-end[-downsampled]`` -> (video id, start, end); None if not so named."""
    match = CLIP_NAME.fullmatch(clip)
    if match is None:
        return None
    return match["video"], int(match["start"]), int(match["end"])


def frame_image(clip: str, frame: int) -> str:
    """The image file name of 1-based ``frame`` of ``clip`` (a name parse_clip accepts)."""
    parsed = parse_clip(clip)
    if parsed is None:
        raise ValueError(f"clip {clip!r} is not named videoid_start-end")
    video, start, _ = parsed
    return f"{video}_{start + frame - 1}.jpg"


def _read_clip(file: Path, log: ProblemLog) -> Iterator[tuple[str, int, FrameAnnotation]]:
    name = str(file)
    rows = csv_rows(file, log)
    _, header = next(rows, (1, []))
    header = [h.strip() for h in header]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        log.add(name, 1, missing[0], f"header lacks column(s) {', '.join(missing)}")
        return
    twice = next((h for i, h in enumerate(header) if h and h in header[:i]), None)
    if twice is not None:  # which of the two holds the value? refuse rather than guess
        log.add(name, 1, twice, f"header names column {twice!r} twice; the file is not read")
        return
    col = {h: i for i, h in enumerate(header)}
    for line, row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            log.add(name, line, None,
                    f"expected {len(header)} fields as in the header, found {len(row)}")
            continue
        clip = (row[col["clip"]].strip() if "clip" in col else "") or file.stem
        if parse_clip(clip) is None:
            log.add(name, line, "clip" if "clip" in col else None,
                    f"clip {clip!r} is not named videoid_start-end[-downsampled]")
            continue
        text = row[col["frame"]].strip()
        frame = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0
        if frame < 1:
            log.add(name, line, "frame",
                    f"frame={text!r} is not a 1-based frame index within the clip")
            continue
        parsed = _parse_row(row, col, name, line, log)
        if parsed is None:
            continue
        yield clip, frame, parsed


def _parse_row(
    row: list[str], col: dict[str, int], file: str, line: int, log: ProblemLog
) -> FrameAnnotation | None:
    gaze_class = row[col["gaze_class"]].strip()
    if gaze_class not in GAZE_CLASSES:
        log.add(file, line, "gaze_class",
                f"gaze_class={gaze_class!r} is not one of {', '.join(GAZE_CLASSES)}")
        return None
    inout, flags, keep_gaze = GAZE_CLASSES[gaze_class]
    head: list[float] = []
    for field in HEAD_FIELDS:
        try:
            head.append(to_float(row[col[field]]))
        except ValueError:
            log.add(file, line, field, f"{field}={row[col[field]]!r} is not a number")
            return None
    x, y, w, h = head
    if w < 0 or h < 0:
        field = "bbox_width" if w < 0 else "bbox_height"
        log.add(file, line, field, f"{field}={min(w, h)!r} is negative")
        return None
    gaze: tuple[float, float] | None = None
    if keep_gaze:
        texts = [row[col[field]].strip() for field in GAZE_FIELDS]
        try:
            gx, gy = (to_float(t) for t in texts)
        except ValueError:
            if gaze_class == "inside_visible":
                bad = 0 if not _is_number(texts[0]) else 1
                log.add(file, line, GAZE_FIELDS[bad],
                        f"{GAZE_FIELDS[bad]}={texts[bad]!r} is not a number "
                        f"(required for {gaze_class})")
                return None
        else:
            if gx >= 0 and gy >= 0:
                gaze = (gx, gy)
            elif gaze_class == "inside_visible":
                log.add(file, line, "gaze_x" if gx < 0 else "gaze_y",
                        f"negative gaze point ({gx}, {gy}) for {gaze_class}")
                return None
    return FrameAnnotation(
        file=file,
        line=line,
        person=row[col["person_id"]].strip(),
        head=(x, y, x + w, y + h),
        head_fields=("bbox_x", "bbox_y", "bbox_x+bbox_width", "bbox_y+bbox_height"),
        gaze=gaze,
        gaze_fields=GAZE_FIELDS,
        inout=inout if gaze is not None or inout is not InOut.IN else InOut.UNKNOWN,
        flags=flags,
        person_field="person_id",
    )


def _is_number(text: str) -> bool:
    try:
        to_float(text)
    except ValueError:
        return False
    return True
