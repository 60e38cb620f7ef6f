"""Head detection in a user's own photos, with detectors that ship their weights.

Nothing can be downloaded at run time, so the detectors are those whose models come inside
their packages: OpenCV's Haar cascade (``cv2.data.haarcascades``; OpenCV < 5, default),
scikit-image's LBP cascade, and optionally mediapipe's face detector (0.10.21 ships its
model; not a dependency, imported only when asked for). All three find *faces*; a head box
is the face box grown by ``HEAD_GROW`` (hair above, ears and chin around), which is what
gaze datasets annotate. Overlapping detections are merged by non-maximum suppression.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from vl4gaze.geometry import box_from_pixels, box_iou
from vl4gaze.schema import Box

METHODS = ("haar", "lbp", "mediapipe")

#: Face box -> head box: fraction of the face width added left and right, and of the face
#: height added above (hair) and below (chin).
HEAD_GROW = (0.2, 0.35, 0.15)


@dataclass(frozen=True)
class Detection:
    """One detected head: its normalized box and the detector's face box in pixels."""

    head: Box
    face_px: tuple[int, int, int, int]  # x, y, width, height
    score: float = 1.0


def detect_heads(
    image: Image.Image | np.ndarray | str | os.PathLike[str],
    *,
    method: str = "haar",
    min_face: float = 0.04,
    iou_merge: float = 0.3,
) -> list[Detection]:
    """Find the heads in one image, left to right.

    ``min_face`` is the smallest face side to look for, as a fraction of the image's shorter
    side (smaller faces are too small to say where they look). Raises ValueError for an
    unknown method and ImportError (with what to install) when its package is missing.
    """
    if method not in METHODS:
        raise ValueError(f"unknown head detector {method!r} (choose from {', '.join(METHODS)})")
    rgb = _rgb_array(image)
    height, width = rgb.shape[:2]
    min_side = max(12, round(min_face * min(width, height)))
    faces = _DETECTORS[method](rgb, min_side)
    detections = [
        Detection(_head_box(x, y, w, h, width, height), (x, y, w, h), score)
        for x, y, w, h, score in faces
    ]
    kept = _suppress(detections, iou_merge)
    return sorted(kept, key=lambda d: (d.head.x1, d.head.y1))


def _rgb_array(image: Image.Image | np.ndarray | str | os.PathLike[str]) -> np.ndarray:
    if isinstance(image, np.ndarray):
        array = image
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        return np.ascontiguousarray(array[..., :3]).astype(np.uint8, copy=False)
    if not isinstance(image, Image.Image):
        with Image.open(image) as opened:
            return np.asarray(opened.convert("RGB"))
    return np.asarray(image.convert("RGB"))


def _head_box(x: int, y: int, w: int, h: int, width: int, height: int) -> Box:
    side, top, bottom = HEAD_GROW
    return box_from_pixels(
        max(0.0, x - side * w),
        max(0.0, y - top * h),
        min(float(width), x + w + side * w),
        min(float(height), y + h + bottom * h),
        width,
        height,
    )


def _suppress(detections: list[Detection], iou_merge: float) -> list[Detection]:
    """Greedy non-maximum suppression: keep the largest (then highest-scored) of overlaps."""
    order = sorted(detections, key=lambda d: (-d.score, -d.head.area, d.head.x1, d.head.y1))
    kept: list[Detection] = []
    for det in order:
        if all(box_iou(det.head, other.head) < iou_merge for other in kept):
            kept.append(det)
    return kept


Faces = list[tuple[int, int, int, int, float]]


def _haar(rgb: np.ndarray, min_side: int) -> Faces:
    import cv2

    if not hasattr(cv2, "CascadeClassifier"):
        raise ImportError("OpenCV >= 5 has no CascadeClassifier: install opencv-python-headless<5")
    classifier = _haar_classifier()
    gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    found = classifier.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
    )
    return [(int(x), int(y), int(w), int(h), 1.0) for x, y, w, h in found]


_HAAR: list = []


def _haar_classifier():
    import cv2

    if not _HAAR:
        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        classifier = cv2.CascadeClassifier(path)
        if classifier.empty():
            raise OSError(f"OpenCV's Haar cascade could not be loaded from {path}")
        _HAAR.append(classifier)
    return _HAAR[0]


def _lbp(rgb: np.ndarray, min_side: int) -> Faces:
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    detector = Cascade(lbp_frontal_face_cascade_filename())
    side = min(rgb.shape[:2])
    found = detector.detect_multi_scale(
        img=rgb, scale_factor=1.2, step_ratio=1, min_size=(min_side, min_side),
        max_size=(side, side),
    )
    return [(int(f["c"]), int(f["r"]), int(f["width"]), int(f["height"]), 1.0) for f in found]


def _mediapipe(rgb: np.ndarray, min_side: int) -> Faces:
    try:
        import mediapipe as mp
    except ImportError as error:  # optional: only mediapipe 0.10.21 ships the face model
        raise ImportError(
            "the mediapipe head detector needs `pip install mediapipe==0.10.21`"
        ) from error
    height, width = rgb.shape[:2]
    faces: Faces = []
    with mp.solutions.face_detection.FaceDetection(
        model_selection=1, min_detection_confidence=0.5
    ) as detector:
        result = detector.process(rgb)
    for det in result.detections or []:
        rel = det.location_data.relative_bounding_box
        x, y = round(rel.xmin * width), round(rel.ymin * height)
        w, h = round(rel.width * width), round(rel.height * height)
        if min(w, h) >= min_side:
            faces.append((max(0, x), max(0, y), w, h, float(det.score[0])))
    return faces


_DETECTORS: dict[str, Callable[[np.ndarray, int], Faces]] = {
    "haar": _haar,
    "lbp": _lbp,
    "mediapipe": _mediapipe,
}
