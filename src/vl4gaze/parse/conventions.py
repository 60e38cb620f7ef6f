"""Coordinate conventions: which scale decides plain numbers, and which model family wrote them.

A convention is one of two kinds (see ``vl4gaze.parse.points`` for the rule table):

- a *scale* (``norm``, ``norm1000``, ``pixel``, ``percent``) forces every plain number
  into that scale, whatever the question asked;
- a *family* (``qwen2.5-vl``, ``molmo``, ``llava-crop``...) names how a model family writes
  its own native forms (Qwen JSON ``point_2d`` / ``bbox_2d``) and what part of the image it
  sees (``Family.view``); plain numbers still follow the format the question asked for
  (``target.format``). ``auto`` is the family that knows no native form.

VLM families disagree on how they write a point (docs/models.md, "How families write points,
and what they see"). ``convention_for_model`` looks a model spec up in ``KNOWN_MODELS``; an
unknown model gets ``"auto"``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Conventions that force the scale of plain numbers.
SCALES: tuple[str, ...] = ("norm", "norm1000", "pixel", "percent")


@dataclass(frozen=True)
class Family:
    """What a model family's answers mean beyond the question's own format.

    ``json_scale``: the scale of Qwen-style ``point_2d`` / ``bbox_2d`` JSON (``input-pixel``
    = pixels of the processor's resized input), None where that JSON is not native (then it
    is read as plain numbers). ``view``: what the model sees of the image: ``full`` (the
    whole image, resized), ``pad`` (padded to a centred square, LLaVA-1.5's
    ``expand2square``), ``crop`` (shortest edge resized, centre square cropped: CLIP's
    processor in the HF ports); normalized answers are in that view.
    """

    json_scale: str | None = None
    view: str = "full"


FAMILIES: dict[str, Family] = {
    "auto": Family(),
    "qwen2-vl": Family(),  # <|box_start|>(x1,y1),(x2,y2)<|box_end|>, 0-1000: a tag
    "qwen2.5-vl": Family(json_scale="input-pixel"),
    "qwen3-vl": Family(json_scale="norm1000"),
    "glm-v": Family(json_scale="norm1000"),
    "internvl": Family(),  # <box>[[x1, y1, x2, y2]]</box>, 0-1000: a tag
    "molmo": Family(),  # <point x= y=> in percent: a tag
    "paligemma": Family(),  # <locYYYY><locXXXX>, 1024 bins: a tag
    "llava-pad": Family(view="pad"),  # liuhaotian/llava-v1.5-*: image_aspect_ratio "pad"
    "llava-crop": Family(view="crop"),  # llava-hf/llava-1.5-*: CLIPImageProcessor crop
}

#: Every convention ``parse_point`` accepts: ``auto``, the scales, the families.
CONVENTIONS: tuple[str, ...] = ("auto", *SCALES, *(f for f in FAMILIES if f != "auto"))

#: Known model families, first match wins (searched in the lower-cased model spec).
#: Order matters: "qwen2.5-vl" before "qwen2-vl", the original LLaVA repo before the port.
KNOWN_MODELS: tuple[tuple[str, str], ...] = (
    (r"qwen2\.5-?vl", "qwen2.5-vl"),  # JSON point_2d / bbox_2d, pixels of the resized input
    (r"qwen3-?vl", "qwen3-vl"),  # same JSON keys, 0-1000 grid
    (r"qwen2-?vl|qwen-?vl", "qwen2-vl"),
    (r"internvl", "internvl"),
    (r"glm-?4(\.\d)?v|glm-?v", "glm-v"),
    (r"molmo", "molmo"),
    (r"paligemma", "paligemma"),
    (r"liuhaotian/llava-v1\.5|llava-v1\.5", "llava-pad"),
    (r"llava-1\.5|bakllava", "llava-crop"),
)


def convention_for_model(model: str) -> str:
    """The family of a known model, or ``"auto"`` (the documented fallback)."""
    name = model.lower()
    for pattern, convention in KNOWN_MODELS:
        if re.search(pattern, name):
            return convention
    return "auto"


def image_processor_config(path: Path) -> dict[str, Any] | None:
    """The image processor settings saved in a local model folder (its
    ``preprocessor_config.json``, else the ``image_processor`` part of
    ``processor_config.json``), None when there are none or they cannot be read."""
    for name in ("preprocessor_config.json", "processor_config.json"):
        file = Path(path) / name
        if not file.is_file():
            continue
        try:
            config = json.loads(file.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(config, dict):
            return None
        inner = config.get("image_processor", config)
        return inner if isinstance(inner, dict) else None
    return None


def llava_view_of(path: Path) -> str | None:
    """``llava-pad`` / ``llava-crop`` as a local model folder's image processor config says
    (``do_pad`` first, as ``LlavaImageProcessor`` applies it), None when it cannot tell."""
    config = image_processor_config(path) or {}
    if config.get("do_pad") or config.get("image_aspect_ratio") == "pad":
        return "llava-pad"
    if config.get("do_center_crop"):
        return "llava-crop"
    return None


def qwen_resize_of(path: Path) -> dict[str, int] | None:
    """The resize settings of a local Qwen-VL model folder's image processor, as keyword
    arguments of :func:`qwen25vl_input_size` (``factor`` = patch size x merge size,
    ``min_pixels``, ``max_pixels``), or None when the folder does not say.

    A checkpoint saved with other settings than the released ones (Qwen's README suggests
    ``min_pixels=256*28*28, max_pixels=1280*28*28``) sees other pixels, and answers in them.
    Both spellings are read: ``min_pixels`` / ``max_pixels`` and transformers 5's
    ``size: {shortest_edge, longest_edge}``.
    """
    config = image_processor_config(path)
    if config is None:
        return None
    size = config.get("size") if isinstance(config.get("size"), dict) else {}
    out: dict[str, int] = {}
    lo = config.get("min_pixels", size.get("shortest_edge"))
    hi = config.get("max_pixels", size.get("longest_edge"))
    if isinstance(lo, int):
        out["min_pixels"] = lo
    if isinstance(hi, int):
        out["max_pixels"] = hi
    patch, merge = config.get("patch_size"), config.get("merge_size")
    if isinstance(patch, int) and isinstance(merge, int):
        out["factor"] = patch * merge
    return out or None


def check_convention(convention: str) -> str:
    """Return ``convention`` or raise a ValueError listing the valid ones."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown point convention {convention!r}; use one of {CONVENTIONS}")
    return convention


def family_of(convention: str) -> Family:
    """The family a convention stands for (a scale convention knows no native form)."""
    return FAMILIES.get(convention, FAMILIES["auto"])


def from_view(x: float, y: float, width: int, height: int, view: str) -> tuple[float, float]:
    """A normalized point in the square the model saw -> normalized in the original image.

    ``pad``: the image pasted into a ``max(w, h)`` square at offset ``(S - w) // 2,
    (S - h) // 2`` (haotian-liu/LLaVA ``llava/mm_utils.py`` ``expand2square``; transformers'
    ``LlavaImageProcessor(do_pad=True)`` the same); ``crop``: the centred ``min(w, h)``
    square (``CLIPImageProcessor``: resize shortest edge, centre crop).

    >>> from_view(0.5, 0.5, 640, 480, "pad"), from_view(0.0, 0.0, 640, 480, "crop")
    ((0.5, 0.5), (0.125, 0.0))
    """
    if view == "full" or width == height:
        return x, y
    if view == "pad":
        side = max(width, height)
        return (x * side - (side - width) // 2) / width, (y * side - (side - height) // 2) / height
    if view == "crop":
        side = min(width, height)
        return (x * side + (width - side) / 2) / width, (y * side + (height - side) / 2) / height
    raise ValueError(f"unknown view {view!r}; expected full, pad or crop")


def to_view(x: float, y: float, width: int, height: int, view: str) -> tuple[float, float]:
    """The inverse of :func:`from_view`: where an original point lies in the model's square."""
    if view == "full" or width == height:
        return x, y
    if view == "pad":
        side = max(width, height)
        return (x * width + (side - width) // 2) / side, (y * height + (side - height) // 2) / side
    if view == "crop":
        side = min(width, height)
        return (x * width - (width - side) / 2) / side, (y * height - (height - side) / 2) / side
    raise ValueError(f"unknown view {view!r}; expected full, pad or crop")


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
    The result is a fixed point: resizing it again gives it back.

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
