"""GOO (Tomas et al. 2021: GOO-Synth and GOO-Real) -> GazeSample with the gazed object.

GOO ships a pickled list of dicts: ``filename``, ``width``, ``height``, ``ann`` with
``bboxes`` ([xmin, ymin, xmax, ymax] per object) and ``labels``, ``gaze_item`` (the gazed
class), ``gazeIdx`` (index of the gazed box, -1 when not visible), ``gaze_cx``,
``gaze_cy`` (gaze point), ``hx``, ``hy`` (head / eye point), ``seg``; GOO-Synth also
``occluded``, ``pitch``, ``yaw``, ``roll``. All coordinates are at 640x480 scale, also for
GOO-Real whose images are 1920x1080, so they are normalized by 640x480 (as the reference
loader does). The head box is the last box of ``ann.bboxes`` when that box holds the head
point (GOO-Real), an explicit ``hbox`` when present, else a box of 0.3 x 0.3 of the image
around the head point (the reference loader's choice).

Unpickling can run arbitrary code, so the pickle is read with a restricted unpickler that
admits only plain containers and numbers, and numpy arrays, scalars and dtypes; anything
else is refused with a SourceError.

The spec is ``goo:PICKLE:IMAGES`` (``PICKLE`` alone takes the pickle's folder as IMAGES).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vl4gaze.schema import Box, Flag, GazeSample, InOut, Person, Point, SceneObject, Target
from vl4gaze.sources._common import FAR_OUT, ImageSizeFn, clip01, far_out, image_size, size_problem
from vl4gaze.sources.problems import ProblemLog, SourceError, SourceProblem

#: GOO stores every coordinate at this scale, whatever the image size.
SCALE_W, SCALE_H = 640.0, 480.0
#: Half the side of the head box made around the head point when none is stored.
HEAD_HALF = 0.15

_SAFE_GLOBALS = {
    (module, name)
    for module in ("builtins", "__builtin__")  # __builtin__: Python 2 names (protocol 2)
    for name in ("list", "dict", "tuple", "set", "frozenset", "int", "float", "complex",
                 "str", "bytes", "bytearray", "bool", "slice")
} | {
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # bytes written by protocol 2 pickles
    ("codecs", "encode"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    *((f"numpy.{core}.multiarray", name)
      for core in ("core", "_core") for name in ("_reconstruct", "scalar")),
    *((f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only builds plain containers, numbers, strings and numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: only plain containers and numpy arrays are "
            "allowed in a GOO pickle")


def load_pickle(path: str | Path) -> Any:
    """Load a pickle with the restricted unpickler (raises pickle.UnpicklingError)."""
    with open(path, "rb") as handle:
        return RestrictedUnpickler(handle).load()


def split_goo_path(path: str) -> tuple[Path, Path]:
    """``PICKLE:IMAGES`` (or just ``PICKLE``) -> (pickle file, image folder).

    The split is made at the first colon whose left side is an existing file, so paths
    that contain colons still work.
    """
    if os.path.isfile(path):
        return Path(path), Path(path).parent
    for i, char in enumerate(path):
        if char == ":" and os.path.isfile(path[:i]):
            return Path(path[:i]), Path(path[i + 1:] or ".")
    left, _, right = path.partition(":")
    return Path(left), Path(right or ".")


def read_goo(
    path: str,
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
    split: str | None = None,
    class_names: Sequence[str] | None = None,
    image_size_fn: ImageSizeFn | None = None,
) -> Iterator[GazeSample]:
    """Yield one GazeSample per record of a GOO pickle (``path`` is ``PICKLE:IMAGES``).

    ``split`` defaults to train/val/test as named in the pickle's file name (else
    "train"); ``class_names`` maps class ids to names (default ``class_<id>``).
    """
    log = ProblemLog(strict, problems)
    size_of = image_size_fn or image_size
    pickle_file, images = split_goo_path(path)
    name = str(pickle_file)
    try:
        records = load_pickle(pickle_file)
    except FileNotFoundError:
        log.add(name, None, None, "pickle file not found")
        return
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        log.add(name, None, None, f"cannot load the pickle safely: {error}")
        return
    if not isinstance(records, list):
        log.add(name, None, None, f"expected a list of dicts, found {type(records).__name__}")
        return
    split = split or _split_from_name(pickle_file.name)
    images_abs = os.path.abspath(images)
    for number, record in enumerate(records, start=1):
        try:
            sample = _sample(record, number, name, split, images_abs, class_names, size_of)
        except _RecordProblem as problem:
            log.add(name, number, problem.field, problem.message)
            continue
        yield sample


def _split_from_name(file_name: str) -> str:
    lowered = file_name.lower()
    for split in ("train", "val", "test"):
        if split in lowered:
            return split
    return "train"


class _RecordProblem(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _number(record: dict, key: str, scale: float) -> float:
    if key not in record:
        raise _RecordProblem(key, f"missing key {key!r}")
    try:
        value = float(record[key])
    except (TypeError, ValueError):
        raise _RecordProblem(key, f"{key}={record[key]!r} is not a number") from None
    if not np.isfinite(value):
        raise _RecordProblem(key, f"{key}={value!r} is not a finite number")
    if far_out(value, scale):
        raise _RecordProblem(key, f"{key}={value!r} is far outside the {SCALE_W:.0f}x"
                                  f"{SCALE_H:.0f} annotation scale")
    return value


def _box(values: Sequence[float]) -> Box:
    x1, x2 = sorted((values[0] / SCALE_W, values[2] / SCALE_W))
    y1, y2 = sorted((values[1] / SCALE_H, values[3] / SCALE_H))
    return Box(clip01(x1), clip01(y1), clip01(x2), clip01(y2))


def _sample(
    record: Any, number: int, file: str, split: str, images: str,
    class_names: Sequence[str] | None, size_of: ImageSizeFn,
) -> GazeSample:
    if not isinstance(record, dict):
        raise _RecordProblem(None, f"record is a {type(record).__name__}, not a dict")
    filename = str(record.get("filename") or "").replace("\\", "/")
    if not filename:
        raise _RecordProblem("filename", "missing or empty filename")
    gx, gy = _number(record, "gaze_cx", SCALE_W), _number(record, "gaze_cy", SCALE_H)
    hx, hy = _number(record, "hx", SCALE_W), _number(record, "hy", SCALE_H)
    ann = record.get("ann")
    if not isinstance(ann, dict):
        raise _RecordProblem("ann", "missing 'ann' dict with bboxes and labels")
    try:
        boxes = np.asarray(ann.get("bboxes"), dtype=float).reshape(-1, 4)
    except (TypeError, ValueError):
        raise _RecordProblem("ann.bboxes", "bboxes is not an N x 4 array of numbers") from None
    labels = np.asarray(ann.get("labels", []), dtype=object).reshape(-1)
    if len(labels) != len(boxes):
        raise _RecordProblem("ann.labels", f"{len(labels)} labels for {len(boxes)} boxes")
    if not np.isfinite(boxes).all() or (len(boxes) and (
            far_out(float(boxes[:, [0, 2]].min()), SCALE_W)
            or far_out(float(boxes[:, [0, 2]].max()), SCALE_W)
            or far_out(float(boxes[:, [1, 3]].min()), SCALE_H)
            or far_out(float(boxes[:, [1, 3]].max()), SCALE_H))):
        raise _RecordProblem("ann.bboxes", "a box is not finite or is far outside the "
                                           f"{SCALE_W:.0f}x{SCALE_H:.0f} annotation scale")
    gaze_idx = int(record.get("gazeIdx", -1))
    if gaze_idx >= len(boxes) or gaze_idx < -1:
        raise _RecordProblem("gazeIdx", f"gazeIdx={gaze_idx} but there are {len(boxes)} boxes")

    image = os.path.join(images, filename)
    try:
        width, height = size_of(image)
    except OSError as error:
        raise _RecordProblem("filename", size_problem(image, error)) from None

    def name_of(label: Any) -> str:
        index = int(label)
        if class_names is not None and 0 <= index < len(class_names):
            return class_names[index]
        return f"class_{index}"

    eye = Point(clip01(hx / SCALE_W), clip01(hy / SCALE_H))
    head_index = _head_index(boxes, hx, hy, gaze_idx)
    if "hbox" in ann or "hbox" in record:
        head = _box(np.asarray(ann.get("hbox", record.get("hbox")), dtype=float).reshape(4))
    elif head_index is not None:
        head = _box(boxes[head_index])
    else:
        head = Box(clip01(eye.x - HEAD_HALF), clip01(eye.y - HEAD_HALF),
                   clip01(eye.x + HEAD_HALF), clip01(eye.y + HEAD_HALF))
    objects = tuple(SceneObject(label=name_of(labels[i]), box=_box(boxes[i]))
                    for i in range(len(boxes)) if i != head_index)
    if gaze_idx >= 0:
        target = Target(label=name_of(labels[gaze_idx]), box=_box(boxes[gaze_idx]),
                        kind="object", rule="source")
    elif record.get("gaze_item") is not None:
        target = Target(label=name_of(record["gaze_item"]), kind="object", rule="source")
    else:
        target = Target()
    flags = (Flag.OCCLUDED.value,) if bool(record.get("occluded", False)) else ()
    return GazeSample(
        image=image,
        width=width,
        height=height,
        source="goo",
        source_id=f"{split}/{number}/{filename}",
        split=split,
        person=Person(head=head, eye=eye),
        gaze=(Point(clip01(gx / SCALE_W), clip01(gy / SCALE_H)),),
        inout=InOut.IN,
        target=target,
        objects=objects,
        flags=flags,
    )


def _head_index(boxes: np.ndarray, hx: float, hy: float, gaze_idx: int) -> int | None:
    """GOO-Real stores the head box last: use it when it holds the head point."""
    if len(boxes) < 2 or gaze_idx == len(boxes) - 1:
        return None
    x1, y1, x2, y2 = boxes[-1]
    margin = FAR_OUT * SCALE_W * 0.1
    inside = (min(x1, x2) - margin <= hx <= max(x1, x2) + margin
              and min(y1, y2) - margin <= hy <= max(y1, y2) + margin)
    return len(boxes) - 1 if inside else None


__all__ = ["RestrictedUnpickler", "SourceError", "load_pickle", "read_goo", "split_goo_path"]
