"""Which coordinate convention a model writes points in, and the image size it saw.

VLM families disagree on how they write a point (see REFERENCES.md, "How VLMs write
points and boxes"): normalized floats, a 0-1000 grid, pixels of the resized input,
percent, or 1024 location bins. ``convention_for_model`` looks a model spec up in a
table of known families; an unknown model gets ``"auto"``, which infers the scale from
the numbers themselves (see ``vl4gaze.parse.points``).
"""

from __future__ import annotations

import math
import re

#: Every convention ``parse_point`` accepts.
CONVENTIONS: tuple[str, ...] = (
    "auto",
    "norm",
    "norm1000",
    "pixel",
    "percent",
    "molmo",
    "paligemma",
    "qwen2.5-vl",
)

#: Known model families, first match wins (searched in the lower-cased model spec).
#: Order matters: "qwen2.5-vl" must be tried before the plain "qwen2-vl" pattern.
KNOWN_MODELS: tuple[tuple[str, str], ...] = (
    (r"qwen2\.5-?vl", "qwen2.5-vl"),  # JSON point_2d / bbox_2d, pixels of the resized input
    (r"qwen3-?vl", "norm1000"),  # same JSON keys, 0-1000 grid
    (r"qwen2-?vl|qwen-?vl", "norm1000"),  # <|box_start|>(x1,y1),(x2,y2)<|box_end|>
    (r"internvl", "norm1000"),  # <box>[[x1, y1, x2, y2]]</box>
    (r"glm-?4(\.\d)?v|glm-?v", "norm1000"),
    (r"molmo", "molmo"),  # <point x="61.5" y="40.6"> in percent
    (r"paligemma", "paligemma"),  # <locYYYY><locXXXX>, 1024 bins, y first
    (r"llava", "norm"),  # [0, 1] floats
)


def convention_for_model(model: str) -> str:
    """The convention of a known model family, or ``"auto"`` (the documented fallback)."""
    name = model.lower()
    for pattern, convention in KNOWN_MODELS:
        if re.search(pattern, name):
            return convention
    return "auto"


def check_convention(convention: str) -> str:
    """Return ``convention`` or raise a ValueError listing the valid ones."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown point convention {convention!r}; use one of {CONVENTIONS}")
    return convention


def qwen25vl_input_size(
    width: int,
    height: int,
    *,
    factor: int = 28,
    min_pixels: int = 56 * 56,
    max_pixels: int = 12845056,
) -> tuple[int, int]:
    """The (w, h) Qwen2.5-VL's processor resizes an image to (its ``smart_resize``).

    Qwen2.5-VL answers in pixels of this resized image, so its points must be divided
    by this size, not by the original one. Defaults are those of the released
    processors (``min_pixels=3136``, ``max_pixels=12845056``, 14-pixel patches merged 2x2).

    >>> qwen25vl_input_size(640, 480)
    (644, 476)
    """
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return (w_bar, h_bar)
