"""GOO (Tomas et al. 2021: GOO-Synth and GOO-Real) -> GazeSample with the gazed object.

GOO ships a pickled list of dicts: ``filename``, ``width``, ``height``, ``ann`` with
``bboxes`` ([xmin, ymin, xmax, ymax] per object) and ``labels``, ``gaze_item`` (the gazed
class, -1 when the item is not visible), ``gazeIdx`` (index of the gazed box, -1 when not
visible), ``gaze_cx``, ``gaze_cy`` (gaze point), ``hx``, ``hy`` (head / eye point), ``seg``;
GOO-Synth also ``occluded``, ``pitch``, ``yaw``, ``roll``.

- Class labels run 1-24 and name the grocery items of ``dataset/objectclasses.txt`` in
  order (name = ``GOO_CLASSES[label - 1]``); that file lists ``Head = 25`` last.
- In GOO-Real the head box is the box labelled -1 (the last one); a box labelled 25 is a
  head too. Without one the head box is 0.3 x 0.3 of the image around the head point, the
  reference loader's choice for GOO-Synth.
- All coordinates are at 640x480 scale, also for GOO-Real whose images are 1920x1080, so
  they are normalized by 640x480 whatever the image size, as the reference loaders do.

Reference: upeee/GOO-GAZE2021 (commit a6c3dcbfb7c6dd4a7cffa61c749123d9fad2b50e):
``dataset/objectclasses.txt``, ``dataset/gooreal-download.txt``,
``dataset/goosynth-download.txt`` (the record fields) and
``gazefollowing/dataloader/gazeobject.py``, ``gazefollowing/dataloader/chong.py``.

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
from vl4gaze.sources._common import (
    ImageSizeFn,
    area_message,
    check_file,
    clip01,
    far_out,
    image_size,
    inside_root,
    no_area,
    outside_message,
    size_problem,
)
from vl4gaze.sources.problems import ProblemLog, SourceError, SourceProblem

#: GOO stores every coordinate at this scale, whatever the image size.
SCALE_W, SCALE_H = 640.0, 480.0
#: Half the side of the head box made around the head point when none is stored.
HEAD_HALF = 0.15

#: The 24 grocery classes of upeee/GOO-GAZE2021 dataset/objectclasses.txt: label L is
#: GOO_CLASSES[L - 1].
GOO_CLASSES: tuple[str, ...] = (
    "Kellogg's Corn Flakes", "Honey Stars", "Koko Krunch", "Fita", "Mamon", "Buttercake",
    "Wafer", "Choco Crunchies", "iHop", "Butterlicious", "Pik-nik", "Pringles",
    "Super Fruits", "Locally Mango", "Camomille", "Oishi Prawn", "Kimchi Noodles", "Grahams",
    "Hansel", "Danisa", "Chocolate Chips", "Fresh Milk", "Bear brand", "Chuckie",
)
#: Labels of head boxes: -1 in GOO-Real, ``Head = 25`` in objectclasses.txt.
HEAD_LABELS = (-1, len(GOO_CLASSES) + 1)
#: ``gaze_item`` / ``gazeIdx`` of a record whose gazed item is not visible.
NO_ITEM = -1

_SAFE_GLOBALS = {
    (module, name)
    for module in ("builtins", "__builtin__")  # __builtin__: Python 2 names (protocol 2)
    for name in ("list", "dict", "tuple", "set", "frozenset", "int", "float", "complex",
                 "str", "bool", "slice")
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


#: ``bytes(n)`` / ``bytearray(n)`` allocate n bytes: a pickle could ask for a terabyte.
MAX_ALLOC = 1 << 24


def _bounded(kind: type) -> Any:
    def make(*args: Any) -> Any:
        if args and isinstance(args[0], int) and args[0] > MAX_ALLOC:
            raise pickle.UnpicklingError(f"{kind.__name__}({args[0]}) would allocate more "
                                         f"than {MAX_ALLOC:,} bytes")
        return kind(*args)
    return make


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only builds plain containers, numbers, strings and numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "__builtin__") and name in ("bytes", "bytearray"):
            return _bounded(bytes if name == "bytes" else bytearray)
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
    allow_outside_root: bool = False,
) -> Iterator[GazeSample]:
    """Yield one GazeSample per record of a GOO pickle (``path`` is ``PICKLE:IMAGES``).

    A ``filename`` that leads out of IMAGES is refused unless ``allow_outside_root``.

    ``split`` defaults to train/val/test as named in the pickle's file name (else
    "train"); ``class_names`` (24 names, label L is ``class_names[L - 1]``) replaces the
    names of objectclasses.txt.
    """
    log = ProblemLog(strict, problems)
    size_of = image_size_fn or image_size
    pickle_file, images = split_goo_path(path)
    name = str(pickle_file)
    if not check_file(pickle_file, log, what="GOO pickle"):
        return
    try:
        records = load_pickle(pickle_file)
    except OSError as error:
        log.add(name, None, None, f"cannot read the pickle: {error.strerror or error}")
        return
    except Exception as error:
        log.add(name, None, None, "cannot load the pickle safely: "
                f"{type(error).__name__}: {error}")
        return
    if not isinstance(records, list):
        log.add(name, None, None, f"expected a list of dicts, found {type(records).__name__}")
        return
    names = tuple(class_names) if class_names is not None else GOO_CLASSES
    if len(names) != len(GOO_CLASSES):
        raise ValueError(f"class_names has {len(names)} names; GOO has {len(GOO_CLASSES)} "
                         "classes (labels 1-24)")
    split = split or _split_from_name(pickle_file.name)
    images_abs = os.path.abspath(images)
    for number, record in enumerate(records, start=1):
        try:
            sample = _sample(record, number, name, split, images_abs, names, size_of,
                             allow_outside_root)
        except _RecordProblem as problem:
            log.add(name, number, problem.field, problem.message)
            continue
        except (TypeError, ValueError, KeyError, IndexError, OverflowError,
                AttributeError) as error:  # a value of a shape nothing expects
            log.add(name, number, None, f"malformed record: {type(error).__name__}: {error}")
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


def _label(value: Any, field: str, index: bool = False) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        what = "an index" if index else "a class label"
        raise _RecordProblem(field, f"{field} value {value!r} is not {what}") from None
    if index:
        if not np.isfinite(number) or number != int(number):
            raise _RecordProblem(field, f"{field}={value!r} is not a whole number")
        return int(number)
    if number != int(number) or not (1 <= number <= len(GOO_CLASSES)
                                     or int(number) in HEAD_LABELS or number == NO_ITEM):
        raise _RecordProblem(field, f"{field} value {value!r} is not a GOO class (1-24; "
                                    "-1 or 25 for the head)")
    return int(number)


_TRUE = ("true", "1", "yes", "1.0")
_FALSE = ("false", "0", "no", "0.0", "", "none")


def _flag(value: Any, field: str) -> bool:
    """A boolean as GOO may store it: bool, 0/1, numpy bool, or text ("False" is false)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None:
        return False
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    if isinstance(value, (str, bytes)):
        text = (value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
        text = text.strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    raise _RecordProblem(field, f"{field}={value!r} is not a boolean (True/False, 1/0)")


def _sample(
    record: Any, number: int, file: str, split: str, images: str,
    names: Sequence[str], size_of: ImageSizeFn, allow_outside_root: bool = False,
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
    raw_labels = np.asarray(ann.get("labels", []), dtype=object).reshape(-1)
    if len(raw_labels) != len(boxes):
        raise _RecordProblem("ann.labels", f"{len(raw_labels)} labels for {len(boxes)} boxes")
    labels = [_label(value, "ann.labels") for value in raw_labels]
    if not np.isfinite(boxes).all() or (len(boxes) and (
            far_out(float(boxes[:, [0, 2]].min()), SCALE_W)
            or far_out(float(boxes[:, [0, 2]].max()), SCALE_W)
            or far_out(float(boxes[:, [1, 3]].min()), SCALE_H)
            or far_out(float(boxes[:, [1, 3]].max()), SCALE_H))):
        raise _RecordProblem("ann.bboxes", "a box is not finite or is far outside the "
                                           f"{SCALE_W:.0f}x{SCALE_H:.0f} annotation scale")
    gaze_idx = _label(record.get("gazeIdx", NO_ITEM), "gazeIdx", index=True)
    if gaze_idx >= len(boxes) or gaze_idx < NO_ITEM:
        raise _RecordProblem("gazeIdx", f"gazeIdx={gaze_idx} but there are {len(boxes)} boxes")
    heads = [i for i, label in enumerate(labels) if label in HEAD_LABELS]
    if gaze_idx >= 0 and gaze_idx in heads:
        raise _RecordProblem("gazeIdx", f"gazeIdx={gaze_idx} is the head box "
                                        f"(label {labels[gaze_idx]})")
    gaze_item = record.get("gaze_item")
    item = NO_ITEM if gaze_item is None else _label(gaze_item, "gaze_item")
    if item in HEAD_LABELS[1:]:
        raise _RecordProblem("gaze_item", f"gaze_item={item} is the head class")

    image = inside_root(images, filename, allow_outside=allow_outside_root)
    if image is None:
        raise _RecordProblem("filename", outside_message(filename, images))
    try:
        width, height = size_of(image)
    except OSError as error:
        raise _RecordProblem("filename", size_problem(image, error)) from None

    eye = Point(clip01(hx / SCALE_W), clip01(hy / SCALE_H))
    head_index = heads[-1] if heads else None
    if "hbox" in ann or "hbox" in record:
        head = _box(np.asarray(ann.get("hbox", record.get("hbox")), dtype=float).reshape(4))
    elif head_index is not None:
        head = _box(boxes[head_index])
    else:
        head = Box(clip01(eye.x - HEAD_HALF), clip01(eye.y - HEAD_HALF),
                   clip01(eye.x + HEAD_HALF), clip01(eye.y + HEAD_HALF))
    if no_area(head):
        raise _RecordProblem("ann.hbox" if "hbox" in ann or "hbox" in record else
                             "ann.bboxes", area_message(head))
    objects = tuple(SceneObject(label=names[labels[i] - 1], box=_box(boxes[i]))
                    for i in range(len(boxes)) if i not in heads)
    if gaze_idx >= 0:
        target = Target(label=names[labels[gaze_idx] - 1], box=_box(boxes[gaze_idx]),
                        kind="object", rule="source")
    elif item != NO_ITEM:
        target = Target(label=names[item - 1], kind="object", rule="source")
    else:
        target = Target()  # the gazed item is not visible
    flags = (Flag.OCCLUDED.value,) if _flag(record.get("occluded", False), "occluded") else ()
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


__all__ = ["GOO_CLASSES", "RestrictedUnpickler", "SourceError", "load_pickle", "read_goo",
           "split_goo_path"]
