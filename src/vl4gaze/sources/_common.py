"""Helpers shared by the dataset readers: image sizes, number parsing, range checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

from PIL import Image

#: How far outside the image (as a fraction of its side) a coordinate may lie before it
#: is reported as impossible; anything nearer is annotation noise and clipped.
FAR_OUT = 0.1

#: ``image_size(path) -> (width, height)``; raises OSError when the image is missing or
#: unreadable. Readers take one as an option so benchmarks and tests can skip the files.
ImageSizeFn = Callable[[str], tuple[int, int]]


@lru_cache(maxsize=1 << 18)
def image_size(path: str) -> tuple[int, int]:
    """Width and height from the image header only (PIL decodes no pixels); cached."""
    with Image.open(path) as image:
        return image.size


def size_problem(path: str, error: OSError) -> str:
    """A short message for an image that could not be opened."""
    if isinstance(error, FileNotFoundError):
        return f"image not found: {path}"
    return f"image cannot be read: {path} ({error.__class__.__name__}: {error})"


def to_float(text: str) -> float:
    """Parse a number, rejecting NaN and infinities (they are never valid coordinates)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def far_out(value: float, extent: float = 1.0) -> bool:
    """Whether ``value`` lies further than FAR_OUT outside [0, extent]."""
    return value < -FAR_OUT * extent or value > (1 + FAR_OUT) * extent


def clip01(value: float) -> float:
    return min(1.0, max(0.0, value))
