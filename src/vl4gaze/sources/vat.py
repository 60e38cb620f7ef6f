"""VideoAttentionTarget (Chong et al. 2020) -> GazeSample.

Layout: ``images/{show}/{clip}/{frame}`` and ``annotations/{train,test}/{show}/{clip}/
{person}.txt``, one file per tracked person, lines ``frame,xmin,ymin,xmax,ymax,gazex,gazey``
in pixels without a header. ``gazex,gazey = -1,-1`` means the gaze leaves the frame; as in
the reference evaluation, a single negative coordinate is clamped to 0 (in frame).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from vl4gaze.schema import GazeSample, InOut
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

FIELDS = ("frame", "xmin", "ymin", "xmax", "ymax", "gazex", "gazey")
HEAD_FIELDS = ("xmin", "ymin", "xmax", "ymax")
GAZE_FIELDS = ("gazex", "gazey")


def read_vat(
    path: str,
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
    splits: tuple[str, ...] = ("train", "test"),
    image_size_fn: ImageSizeFn | None = None,
    allow_outside_root: bool = False,
) -> Iterator[GazeSample]:
    """Yield one GazeSample per person per annotated frame of a VideoAttentionTarget root.

    A frame name that leads out of the clip's image folder is refused unless
    ``allow_outside_root``."""
    log = ProblemLog(strict, problems)
    size_of = image_size_fn or image_size
    root = Path(os.path.abspath(path))
    annotations = root / "annotations"
    if not annotations.is_dir():
        log.add(str(root), None, None, "no annotations/ folder (expected annotations/{train,test})")
        return
    for split in splits:
        for clip_dir in _clip_dirs(annotations, split, log):
            show, clip = clip_dir.parent.name, clip_dir.name
            frames: dict[str, list[FrameAnnotation]] = {}
            image_dir = str(root / "images" / show / clip)
            for person_file in sorted(clip_dir.glob("*.txt")):
                if not check_file(person_file, log, what="person file"):
                    continue  # a directory named s00.txt, a loop, no permission
                for frame, ann in _read_person(person_file, log):
                    image = inside_root(image_dir, frame, allow_outside=allow_outside_root)
                    if image is None:
                        log.add(ann.file, ann.line, "frame", outside_message(frame, image_dir))
                        continue
                    if "./" in frame or "//" in frame:  # one frame, however it is spelled
                        image = os.path.normpath(image)
                    frames.setdefault(image, []).append(ann)
            for image in sorted(frames):
                frame = os.path.relpath(image, image_dir)
                yield from frame_samples(
                    source="vat",
                    split=split,
                    image=image,
                    frame_id=f"{split}/{show}/{clip}/{frame}",
                    annotations=frames[image],
                    size_of=size_of,
                    log=log,
                )


def _read_person(file: Path, log: ProblemLog) -> Iterator[tuple[str, FrameAnnotation]]:
    name = str(file)
    for line, row in csv_rows(file, log):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(FIELDS):
            log.add(name, line, None,
                    f"expected {len(FIELDS)} comma-separated fields "
                    f"({','.join(FIELDS)}), found {len(row)}")
            continue
        frame = row[0].strip()
        if not frame:
            log.add(name, line, "frame", "empty frame name")
            continue
        values: list[float] = []
        for field, text in zip(FIELDS[1:], row[1:], strict=True):
            try:
                values.append(to_float(text))
            except ValueError:
                log.add(name, line, field, f"{field}={text!r} is not a number")
                break
        else:
            gx, gy = values[4], values[5]
            if gx == -1 and gy == -1:
                gaze, inout = None, InOut.OUT
            else:  # the reference evaluation clamps a single negative value to 0
                gaze, inout = (max(gx, 0.0), max(gy, 0.0)), InOut.IN
            yield frame, FrameAnnotation(
                file=name,
                line=line,
                person=file.stem,
                head=(values[0], values[1], values[2], values[3]),
                head_fields=HEAD_FIELDS,
                gaze=gaze,
                gaze_fields=GAZE_FIELDS,
                inout=inout,
                person_field="frame",  # a person file naming one frame twice
            )


def _clip_dirs(annotations: Path, split: str, log: ProblemLog) -> list[Path]:
    """The ``annotations/{split}/{show}/{clip}`` folders; an entry there that is a broken
    link or a link loop, or a folder that cannot be listed, is a reported problem (it
    would otherwise drop a clip without a word)."""
    out = []
    for path in sorted(annotations.glob(f"{split}/*/*")):
        if path.is_dir():
            if os.access(path, os.R_OK | os.X_OK):
                out.append(path)
            else:
                log.add(str(path), None, None, "clip folder cannot be read (permission)")
        elif path.is_symlink() and not path.exists():
            log.add(str(path), None, None, "clip folder is a broken link or a link loop")
    return out
