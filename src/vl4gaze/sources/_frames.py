"""Turn per-frame pixel annotations (VideoAttentionTarget, ChildPlay) into GazeSamples.

Video datasets annotate each tracked person per frame with a pixel head box and a pixel
gaze point. The readers parse their own file layouts into ``FrameAnnotation`` records
grouped by frame image; this module checks them against the image size, normalizes them
and fills ``others`` with the people of the same frame.

The frame is the image, so the social tasks pair people per frame: every sample of a
frame has the same ``image`` and its own ``person.index`` (0, 1, ... in annotation order).
A person (track id) annotated twice in one frame would pair with itself, so the second
annotation is a problem and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from vl4gaze.geometry import box_from_pixels
from vl4gaze.schema import GazeSample, InOut, Person, Point
from vl4gaze.sources._common import (
    ImageSizeFn,
    area_message,
    clip01,
    far_out,
    no_area,
    size_problem,
)
from vl4gaze.sources.problems import ProblemLog


@dataclass(frozen=True)
class FrameAnnotation:
    """One person in one frame, in pixels, with the file line it came from."""

    file: str
    line: int
    person: str
    head: tuple[float, float, float, float]
    #: The column names of the four head values (for error messages).
    head_fields: tuple[str, str, str, str]
    gaze: tuple[float, float] | None
    gaze_fields: tuple[str, str]
    inout: InOut
    flags: tuple[str, ...] = ()
    #: The column that repeats when a person is annotated twice in a frame.
    person_field: str | None = None


def frame_samples(
    *,
    source: str,
    split: str,
    image: str,
    frame_id: str,
    annotations: Sequence[FrameAnnotation],
    size_of: ImageSizeFn,
    log: ProblemLog,
) -> Iterator[GazeSample]:
    """Yield one sample per valid person of one frame; bad people become problems."""
    first = annotations[0]
    try:
        width, height = size_of(image)
    except OSError as error:
        log.add(first.file, first.line, "path",
                f"{size_problem(image, error)} ({len(annotations)} annotation(s) skipped)")
        return
    people: list[tuple[Person, FrameAnnotation]] = []
    first_line: dict[str, int] = {}
    for ann in annotations:
        if ann.person in first_line:
            log.add(ann.file, ann.line, ann.person_field,
                    f"person {ann.person!r} is annotated twice in frame {frame_id} (first at "
                    f"line {first_line[ann.person]}); this annotation is skipped")
            continue
        first_line[ann.person] = ann.line
        extents = (width, height, width, height)
        bad = next((i for i in range(4) if far_out(ann.head[i], extents[i])), None)
        if bad is not None:
            log.add(ann.file, ann.line, ann.head_fields[bad],
                    f"{ann.head_fields[bad]}={ann.head[bad]!r} is far outside the "
                    f"{width}x{height} image")
            continue
        if ann.gaze is not None:
            bad = next((i for i in range(2) if far_out(ann.gaze[i], (width, height)[i])), None)
            if bad is not None:
                log.add(ann.file, ann.line, ann.gaze_fields[bad],
                        f"{ann.gaze_fields[bad]}={ann.gaze[bad]!r} is far outside the "
                        f"{width}x{height} image")
                continue
        head = box_from_pixels(*ann.head, width, height)
        if no_area(head):
            log.add(ann.file, ann.line, ann.head_fields[2 if head.x2 <= head.x1 else 3],
                    area_message(head, width, height))
            continue
        people.append((Person(head=head, index=len(people)), ann))
    for person, ann in people:
        gaze = ()
        if ann.gaze is not None:
            gaze = (Point(clip01(ann.gaze[0] / width), clip01(ann.gaze[1] / height)),)
        yield GazeSample(
            image=image,
            width=width,
            height=height,
            source=source,
            source_id=f"{frame_id}#{ann.person}",
            split=split,
            person=person,
            gaze=gaze,
            inout=ann.inout,
            others=tuple(p for p, _ in people if p is not person),
            flags=ann.flags,
        )
