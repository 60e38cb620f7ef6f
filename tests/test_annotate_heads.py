"""Head detection with the detectors that ship their weights, on a real photo with a face."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image
from skimage import data

from vl4gaze.annotate.heads import detect_heads

#: The astronaut's face in skimage.data.astronaut() (512 x 512), in pixels.
FACE_CENTRE = (222, 112)


@pytest.mark.parametrize("method", ["haar", "lbp"])
def test_finds_the_astronauts_head(method):
    heads = detect_heads(data.astronaut(), method=method)
    if method == "haar":
        assert len(heads) == 1
    # LBP also fires on a small patch of the suit: the largest detection is the face.
    found = max(heads, key=lambda d: d.head.area)
    head = found.head
    cx, cy = head.center.x * 512, head.center.y * 512
    assert abs(cx - FACE_CENTRE[0]) < 30 and abs(cy - FACE_CENTRE[1]) < 40
    x, y, w, h = found.face_px
    assert head.width * 512 > w and head.height * 512 > h  # the head is bigger than the face
    assert head.x1 * 512 <= x and head.y1 * 512 <= y


def test_accepts_pil_images_and_paths_alike(tmp_path):
    image = Image.fromarray(data.astronaut()).resize((256, 256))
    path = tmp_path / "astronaut.png"
    image.save(path)
    assert detect_heads(image) == detect_heads(path) == detect_heads(np.asarray(image))


def test_no_face_in_a_blank_picture_and_unknown_method():
    assert detect_heads(np.full((200, 300), 128, dtype=np.uint8)) == []
    with pytest.raises(ValueError, match="unknown head detector"):
        detect_heads(data.astronaut(), method="yolo")


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None,
                    reason="mediapipe is installed")
def test_mediapipe_is_optional_and_says_how_to_get_it():
    with pytest.raises(ImportError, match="mediapipe"):
        detect_heads(data.astronaut(), method="mediapipe")
