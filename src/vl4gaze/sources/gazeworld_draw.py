"""Drawing GazeWorld with PIL primitives: the object vocabulary, people and the room.

Everything is drawn flat and large on purpose: a small vision encoder must be able to
read the cues (which way a face points, what an object is, which colour it has) at
448 px, and a person must be able to answer the four questions by looking. Each object
kind is drawn inside its box so that the box is tight enough to be the ground truth.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
PixelBox = tuple[float, float, float, float]

#: The named colours used for objects and shirts (the colour attribute in descriptions).
COLORS: dict[str, RGB] = {
    "red": (215, 38, 38),
    "orange": (245, 135, 20),
    "yellow": (240, 205, 25),
    "green": (40, 155, 60),
    "blue": (35, 85, 215),
    "purple": (135, 55, 185),
    "pink": (240, 115, 175),
    "black": (30, 30, 30),
}
OUTLINE: RGB = (35, 35, 35)
WHITE: RGB = (250, 250, 250)
LEAF: RGB = (45, 140, 55)
SKINS: tuple[RGB, ...] = ((250, 215, 180), (225, 180, 140), (185, 130, 90), (130, 85, 55))
HAIRS: tuple[RGB, ...] = ((35, 25, 20), (90, 55, 30), (150, 100, 50), (60, 60, 65))
WALLS: tuple[RGB, ...] = ((236, 232, 220), (222, 232, 236), (236, 226, 226), (228, 236, 222))
FLOORS: tuple[RGB, ...] = ((190, 160, 120), (170, 170, 175), (200, 180, 150))
#: How far the nose tip sticks out from the head centre, in head radii.
NOSE = 1.8
#: Objects small enough to be held in front of the body (the target of a downward gaze).
HOLDABLE = frozenset({"mug", "cup", "book", "phone", "apple", "banana", "ball", "pen", "key",
                      "bottle", "hat", "shoe", "car", "clock", "bag"})
#: Where the floor starts, as a fraction of the image height.
FLOOR_Y = 0.7


def shade(color: RGB, factor: float) -> RGB:
    """A darker (factor < 1) or lighter (factor > 1, towards white) version of a colour."""
    if factor <= 1:
        return (int(color[0] * factor), int(color[1] * factor), int(color[2] * factor))
    t = factor - 1
    return tuple(int(c + (255 - c) * t) for c in color)  # type: ignore[return-value]


def _line_width(box: PixelBox) -> int:
    return max(2, round(min(box[2] - box[0], box[3] - box[1]) / 22))


# --- objects ---------------------------------------------------------------------------
# Each drawer fills (x1, y1, x2, y2) with its object in colour ``c``.

Drawer = Callable[[ImageDraw.ImageDraw, PixelBox, RGB], None]


def _mug(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.ellipse((x1 + 0.52 * w, y1 + 0.25 * h, x2, y1 + 0.75 * h), outline=OUTLINE,
              width=max(3, round(0.14 * w)))
    d.ellipse((x1 + 0.58 * w, y1 + 0.31 * h, x2 - 0.06 * w, y1 + 0.69 * h), outline=c,
              width=max(2, round(0.08 * w)))
    d.rectangle((x1, y1 + 0.1 * h, x1 + 0.74 * w, y2), fill=c, outline=OUTLINE, width=lw)
    d.ellipse((x1, y1, x1 + 0.74 * w, y1 + 0.2 * h), fill=shade(c, 0.6), outline=OUTLINE,
              width=lw)


def _cup(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    for k in (0.35, 0.6):  # steam
        x = x1 + k * w
        d.line([(x, y1), (x + 0.06 * w, y1 + 0.08 * h), (x, y1 + 0.16 * h)], fill=(150, 150, 150),
               width=lw)
    d.ellipse((x2 - 0.3 * w, y1 + 0.35 * h, x2 - 0.02 * w, y1 + 0.62 * h), outline=OUTLINE,
              width=max(2, round(0.07 * w)))
    d.ellipse((x1, y2 - 0.2 * h, x2, y2), fill=shade(c, 1.5), outline=OUTLINE, width=lw)
    d.polygon([(x1 + 0.1 * w, y1 + 0.28 * h), (x2 - 0.2 * w, y1 + 0.28 * h),
               (x2 - 0.32 * w, y2 - 0.12 * h), (x1 + 0.22 * w, y2 - 0.12 * h)],
              fill=c, outline=OUTLINE, width=lw)


def _book(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.rectangle((x1 + 0.1 * w, y1 + 0.04 * h, x2, y2), fill=WHITE, outline=OUTLINE, width=lw)
    d.rectangle((x1, y1, x2 - 0.1 * w, y2 - 0.04 * h), fill=c, outline=OUTLINE, width=lw)
    d.rectangle((x1, y1, x1 + 0.16 * w, y2 - 0.04 * h), fill=shade(c, 0.6), outline=OUTLINE,
                width=lw)
    d.rectangle((x1 + 0.3 * w, y1 + 0.2 * h, x2 - 0.22 * w, y1 + 0.38 * h), fill=WHITE,
                outline=OUTLINE, width=max(1, lw - 1))


def _laptop(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.rectangle((x1 + 0.1 * w, y1, x2 - 0.1 * w, y1 + 0.66 * h), fill=c, outline=OUTLINE,
                width=lw)
    d.rectangle((x1 + 0.17 * w, y1 + 0.09 * h, x2 - 0.17 * w, y1 + 0.58 * h),
                fill=(175, 215, 245))
    d.polygon([(x1 + 0.1 * w, y1 + 0.66 * h), (x2 - 0.1 * w, y1 + 0.66 * h), (x2, y2),
               (x1, y2)], fill=shade(c, 0.7), outline=OUTLINE, width=lw)
    for k in (0.76, 0.87):
        d.line([(x1 + 0.15 * w, y1 + k * h), (x2 - 0.15 * w, y1 + k * h)], fill=shade(c, 1.5),
               width=max(1, lw - 1))


def _plant(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    bx, by = x1 + 0.5 * w, y1 + 0.6 * h
    for ang in (100, 130, 160, 70, 40, 20):
        a = math.radians(ang)
        length = 0.55 * h if 50 < ang < 140 else 0.45 * w
        tx, ty = bx + length * math.cos(a), by - length * math.sin(a)
        nx, ny = -math.sin(a) * 0.09 * w, -math.cos(a) * 0.09 * w
        mx, my = (bx + tx) / 2, (by + ty) / 2
        d.polygon([(bx, by), (mx + nx, my + ny), (tx, ty), (mx - nx, my - ny)], fill=LEAF,
                  outline=shade(LEAF, 0.6))
    d.polygon([(x1 + 0.12 * w, y1 + 0.58 * h), (x2 - 0.12 * w, y1 + 0.58 * h),
               (x2 - 0.25 * w, y2), (x1 + 0.25 * w, y2)], fill=c, outline=OUTLINE, width=lw)


def _clock(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    cx, cy, r = x1 + w / 2, y1 + h / 2, min(w, h) / 2
    lw = _line_width(b)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c, outline=OUTLINE, width=lw)
    ri = 0.78 * r
    d.ellipse((cx - ri, cy - ri, cx + ri, cy + ri), fill=WHITE, outline=OUTLINE, width=1)
    for k in range(12):
        a = math.radians(k * 30)
        d.line([(cx + 0.62 * r * math.cos(a), cy + 0.62 * r * math.sin(a)),
                (cx + 0.74 * r * math.cos(a), cy + 0.74 * r * math.sin(a))], fill=OUTLINE,
               width=max(1, lw - 1))
    d.line([(cx, cy), (cx, cy - 0.6 * r)], fill=OUTLINE, width=lw + 1)
    d.line([(cx, cy), (cx + 0.42 * r, cy + 0.1 * r)], fill=OUTLINE, width=lw + 1)


def _ball(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    lw = _line_width(b)
    for k in range(6):
        d.pieslice(b, k * 60, k * 60 + 60, fill=c if k % 2 == 0 else WHITE)
    w = x2 - x1
    d.ellipse((x1 + 0.4 * w, y1 + 0.4 * w, x2 - 0.4 * w, y2 - 0.4 * w), fill=shade(c, 0.7))
    d.ellipse(b, outline=OUTLINE, width=lw)


def _lamp(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    cx = x1 + w / 2
    d.rectangle((cx - 0.05 * w, y1 + 0.4 * h, cx + 0.05 * w, y2 - 0.05 * h), fill=(90, 90, 90))
    d.ellipse((x1 + 0.2 * w, y2 - 0.12 * h, x2 - 0.2 * w, y2), fill=(70, 70, 70),
              outline=OUTLINE, width=1)
    d.polygon([(x1 + 0.25 * w, y1), (x2 - 0.25 * w, y1), (x2, y1 + 0.45 * h),
               (x1, y1 + 0.45 * h)], fill=c, outline=OUTLINE, width=lw)
    d.ellipse((cx - 0.12 * w, y1 + 0.42 * h, cx + 0.12 * w, y1 + 0.52 * h), fill=(255, 240, 150))


def _bottle(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.rectangle((x1 + 0.3 * w, y1, x2 - 0.3 * w, y1 + 0.1 * h), fill=OUTLINE)
    d.rectangle((x1 + 0.33 * w, y1 + 0.1 * h, x2 - 0.33 * w, y1 + 0.28 * h), fill=c,
                outline=OUTLINE, width=max(1, lw - 1))
    d.polygon([(x1 + 0.33 * w, y1 + 0.27 * h), (x2 - 0.33 * w, y1 + 0.27 * h),
               (x2, y1 + 0.42 * h), (x1, y1 + 0.42 * h)], fill=c, outline=OUTLINE, width=lw)
    d.rounded_rectangle((x1, y1 + 0.4 * h, x2, y2), radius=0.15 * w, fill=c, outline=OUTLINE,
                        width=lw)
    d.rectangle((x1 + lw, y1 + 0.55 * h, x2 - lw, y1 + 0.75 * h), fill=WHITE)


def _phone(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.rounded_rectangle(b, radius=0.18 * w, fill=c, outline=OUTLINE, width=lw)
    d.rectangle((x1 + 0.14 * w, y1 + 0.12 * h, x2 - 0.14 * w, y2 - 0.16 * h),
                fill=(185, 220, 245))
    d.ellipse((x1 + 0.42 * w, y2 - 0.12 * h, x2 - 0.42 * w, y2 - 0.12 * h + 0.16 * w),
              fill=WHITE)


def _chair(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    dark = shade(c, 0.65)
    d.rectangle((x1 + 0.1 * w, y1 + 0.55 * h, x1 + 0.22 * w, y2), fill=dark, outline=OUTLINE,
                width=1)
    d.rectangle((x2 - 0.2 * w, y1 + 0.55 * h, x2 - 0.08 * w, y2), fill=dark, outline=OUTLINE,
                width=1)
    d.rounded_rectangle((x1 + 0.05 * w, y1, x1 + 0.3 * w, y1 + 0.62 * h), radius=0.06 * w,
                        fill=c, outline=OUTLINE, width=lw)
    d.rectangle((x1 + 0.05 * w, y1 + 0.5 * h, x2, y1 + 0.63 * h), fill=c, outline=OUTLINE,
                width=lw)


def _apple(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    cx = x1 + w / 2
    d.line([(cx, y1 + 0.25 * h), (cx + 0.05 * w, y1)], fill=(100, 60, 20), width=lw + 1)
    d.polygon([(cx + 0.05 * w, y1 + 0.12 * h), (cx + 0.25 * w, y1), (cx + 0.4 * w, y1 + 0.05 * h),
               (cx + 0.2 * w, y1 + 0.17 * h)], fill=LEAF, outline=OUTLINE)
    d.ellipse((x1, y1 + 0.18 * h, cx + 0.06 * w, y2), fill=c, outline=OUTLINE, width=lw)
    d.ellipse((cx - 0.06 * w, y1 + 0.18 * h, x2, y2), fill=c, outline=OUTLINE, width=lw)
    d.ellipse((x1 + 0.06 * w, y1 + 0.24 * h, x2 - 0.06 * w, y2 - 0.04 * h), fill=c)
    d.ellipse((x1 + 0.2 * w, y1 + 0.35 * h, x1 + 0.35 * w, y1 + 0.55 * h), fill=shade(c, 1.5))


def _banana(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    thick = max(4, round(0.42 * h))
    arc_box = (x1, y1 - 1.1 * h, x2, y2)
    d.arc(arc_box, 20, 160, fill=OUTLINE, width=thick + 4)
    d.arc((x1 + 2, y1 - 1.1 * h + 2, x2 - 2, y2 - 2), 22, 158, fill=c, width=thick)
    d.ellipse((x1 + 0.02 * w, y1 + 0.08 * h, x1 + 0.14 * w, y1 + 0.3 * h), fill=(90, 60, 20))
    d.ellipse((x2 - 0.14 * w, y1 + 0.08 * h, x2 - 0.02 * w, y1 + 0.3 * h), fill=(90, 60, 20))


def _vase(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    cx = x1 + w / 2
    pts = [(cx - 0.3 * w, y1), (cx - 0.2 * w, y1 + 0.2 * h), (x1, y1 + 0.55 * h),
           (cx - 0.25 * w, y2), (cx + 0.25 * w, y2), (x2, y1 + 0.55 * h),
           (cx + 0.2 * w, y1 + 0.2 * h), (cx + 0.3 * w, y1)]
    d.polygon(pts, fill=c, outline=OUTLINE, width=lw)
    d.line([(x1 + 0.12 * w, y1 + 0.55 * h), (x2 - 0.12 * w, y1 + 0.55 * h)], fill=WHITE,
           width=lw + 1)
    d.ellipse((cx - 0.3 * w, y1 - 0.04 * h, cx + 0.3 * w, y1 + 0.06 * h), fill=shade(c, 0.55),
              outline=OUTLINE, width=1)


def _umbrella(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    cx = x1 + w / 2
    d.line([(cx, y1 + 0.3 * h), (cx, y2 - 0.12 * h)], fill=OUTLINE, width=lw + 1)
    d.arc((cx, y2 - 0.24 * h, cx + 0.26 * w, y2), 0, 180, fill=OUTLINE, width=lw + 1)
    d.pieslice((x1, y1, x2, y1 + 0.9 * h), 180, 360, fill=c, outline=OUTLINE, width=lw)
    for k in (0.25, 0.75):
        d.line([(cx, y1), (x1 + k * w, y1 + 0.45 * h)], fill=shade(c, 0.6), width=lw)
    d.ellipse((cx - 0.04 * w, y1 - 0.02 * h, cx + 0.04 * w, y1 + 0.06 * h), fill=OUTLINE)


def _hat(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.ellipse((x1, y1 + 0.6 * h, x2, y2), fill=shade(c, 0.75), outline=OUTLINE, width=lw)
    d.rounded_rectangle((x1 + 0.2 * w, y1, x2 - 0.2 * w, y1 + 0.8 * h), radius=0.12 * w, fill=c,
                        outline=OUTLINE, width=lw)
    d.rectangle((x1 + 0.2 * w + lw, y1 + 0.52 * h, x2 - 0.2 * w - lw, y1 + 0.66 * h),
                fill=OUTLINE)


def _shoe(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.polygon([(x1, y1), (x1 + 0.35 * w, y1), (x1 + 0.45 * w, y1 + 0.3 * h),
               (x2 - 0.12 * w, y1 + 0.45 * h), (x2, y1 + 0.65 * h), (x2, y2 - 0.18 * h),
               (x1, y2 - 0.18 * h)], fill=c, outline=OUTLINE, width=lw)
    d.rounded_rectangle((x1, y2 - 0.22 * h, x2, y2), radius=0.08 * h, fill=WHITE,
                        outline=OUTLINE, width=lw)
    for k in (0.38, 0.5, 0.62):
        d.line([(x1 + k * w, y1 + 0.25 * h + k * 0.3 * h), (x1 + k * w + 0.06 * w,
                 y1 + 0.12 * h + k * 0.3 * h)], fill=WHITE, width=lw)


def _bag(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.arc((x1 + 0.25 * w, y1, x2 - 0.25 * w, y1 + 0.7 * h), 180, 360, fill=OUTLINE,
          width=max(3, round(0.07 * w)))
    d.polygon([(x1 + 0.12 * w, y1 + 0.35 * h), (x2 - 0.12 * w, y1 + 0.35 * h), (x2, y2),
               (x1, y2)], fill=c, outline=OUTLINE, width=lw)
    d.rectangle((x1 + 0.42 * w, y1 + 0.45 * h, x2 - 0.42 * w, y1 + 0.58 * h), fill=(225, 190, 60),
                outline=OUTLINE, width=1)


def _key(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    cy = y1 + 0.45 * h
    d.rectangle((x1 + 0.4 * w, cy - 0.1 * h, x2, cy + 0.1 * h), fill=c, outline=OUTLINE, width=1)
    for k in (0.72, 0.88):
        d.rectangle((x1 + k * w, cy, x1 + (k + 0.08) * w, y2), fill=c, outline=OUTLINE, width=1)
    d.ellipse((x1, y1, x1 + 0.45 * w, y1 + 0.9 * h), fill=c, outline=OUTLINE, width=lw)
    d.ellipse((x1 + 0.13 * w, y1 + 0.25 * h, x1 + 0.3 * w, y1 + 0.65 * h),
              fill=(236, 232, 220), outline=OUTLINE, width=1)


def _pen(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.polygon([(x2 - 0.2 * w, y1 + 0.2 * h), (x2, y1 + 0.5 * h), (x2 - 0.2 * w, y1 + 0.8 * h)],
              fill=(235, 205, 160), outline=OUTLINE, width=1)
    d.polygon([(x2 - 0.07 * w, y1 + 0.38 * h), (x2, y1 + 0.5 * h), (x2 - 0.07 * w, y1 + 0.62 * h)],
              fill=OUTLINE)
    d.rounded_rectangle((x1, y1 + 0.2 * h, x2 - 0.2 * w, y1 + 0.8 * h), radius=0.2 * h, fill=c,
                        outline=OUTLINE, width=lw)
    d.rectangle((x1 + 0.08 * w, y1, x1 + 0.35 * w, y1 + 0.22 * h), fill=(150, 150, 150),
                outline=OUTLINE, width=1)


def _guitar(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    cx = x1 + w / 2
    d.rectangle((cx - 0.1 * w, y1 + 0.1 * h, cx + 0.1 * w, y1 + 0.55 * h), fill=(110, 70, 35),
                outline=OUTLINE, width=1)
    d.rectangle((cx - 0.16 * w, y1, cx + 0.16 * w, y1 + 0.12 * h), fill=(70, 45, 20),
                outline=OUTLINE, width=1)
    d.ellipse((x1, y1 + 0.55 * h, x2, y2), fill=c, outline=OUTLINE, width=lw)
    d.ellipse((x1 + 0.14 * w, y1 + 0.36 * h, x2 - 0.14 * w, y1 + 0.7 * h), fill=c,
              outline=OUTLINE, width=lw)
    d.ellipse((x1 + 0.06 * w, y1 + 0.6 * h, x2 - 0.06 * w, y2 - 0.06 * h), fill=c)
    d.ellipse((cx - 0.17 * w, y1 + 0.6 * h, cx + 0.17 * w, y1 + 0.6 * h + 0.34 * w), fill=OUTLINE)
    d.line([(cx, y1 + 0.05 * h), (cx, y2 - 0.1 * h)], fill=(220, 220, 220), width=1)


def _tv(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.polygon([(x1 + 0.3 * w, y2), (x1 + 0.4 * w, y1 + 0.8 * h), (x2 - 0.4 * w, y1 + 0.8 * h),
               (x2 - 0.3 * w, y2)], fill=(60, 60, 60))
    d.rectangle((x1, y1, x2, y1 + 0.84 * h), fill=c, outline=OUTLINE, width=lw)
    d.rectangle((x1 + 0.08 * w, y1 + 0.1 * h, x2 - 0.08 * w, y1 + 0.74 * h), fill=(40, 50, 70))
    d.line([(x1 + 0.2 * w, y1 + 0.6 * h), (x1 + 0.45 * w, y1 + 0.2 * h)], fill=(110, 125, 150),
           width=lw + 1)


def _car(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    d.polygon([(x1 + 0.22 * w, y1 + 0.42 * h), (x1 + 0.32 * w, y1), (x2 - 0.3 * w, y1),
               (x2 - 0.15 * w, y1 + 0.42 * h)], fill=c, outline=OUTLINE, width=lw)
    d.polygon([(x1 + 0.3 * w, y1 + 0.38 * h), (x1 + 0.36 * w, y1 + 0.1 * h),
               (x2 - 0.33 * w, y1 + 0.1 * h), (x2 - 0.22 * w, y1 + 0.38 * h)],
              fill=(185, 220, 245))
    d.rounded_rectangle((x1, y1 + 0.38 * h, x2, y1 + 0.8 * h), radius=0.1 * h, fill=c,
                        outline=OUTLINE, width=lw)
    for k in (0.25, 0.75):
        cx, r = x1 + k * w, 0.2 * h
        d.ellipse((cx - r, y2 - 2 * r, cx + r, y2), fill=OUTLINE)
        d.ellipse((cx - 0.45 * r, y2 - 1.45 * r, cx + 0.45 * r, y2 - 0.55 * r),
                  fill=(170, 170, 170))


def _kite(d: ImageDraw.ImageDraw, b: PixelBox, c: RGB) -> None:
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    lw = _line_width(b)
    cx = x1 + 0.5 * w
    top, mid, bot = (cx, y1), y1 + 0.3 * h, y1 + 0.72 * h
    d.line([(cx, bot), (cx - 0.15 * w, y1 + 0.82 * h), (cx + 0.1 * w, y1 + 0.9 * h),
            (cx - 0.05 * w, y2)], fill=OUTLINE, width=max(1, lw - 1))
    for fy in (0.83, 0.95):
        yy = y1 + fy * h
        d.polygon([(cx - 0.1 * w, yy - 0.04 * h), (cx + 0.1 * w, yy + 0.04 * h),
                   (cx + 0.1 * w, yy - 0.04 * h), (cx - 0.1 * w, yy + 0.04 * h)], fill=c)
    d.polygon([top, (x2, mid), (cx, bot), (x1, mid)], fill=c, outline=OUTLINE, width=lw)
    d.line([top, (cx, bot)], fill=shade(c, 0.55), width=max(1, lw - 1))
    d.line([(x1, mid), (x2, mid)], fill=shade(c, 0.55), width=max(1, lw - 1))


@dataclass(frozen=True)
class ObjectKind:
    """One entry of the vocabulary: how to draw it and how it is shaped and named."""

    label: str
    draw: Drawer
    #: Width / height of its box.
    aspect: float
    #: Relative size (1 = the typical object size of the scene).
    scale: float = 1.0
    #: Colours it may have (default: every colour).
    colors: tuple[str, ...] = tuple(COLORS)
    #: How the colour enters its description.
    template: str = "a {color} {label}"

    def describe(self, color: str) -> str:
        """``a red mug``, ``an orange ball``, ``a plant in a blue pot``."""
        text = self.template.format(color=color, label=self.label)
        return re.sub(r"\ba (?=[aeiou])", "an ", text)


KINDS: dict[str, ObjectKind] = {k.label: k for k in (
    ObjectKind("mug", _mug, 1.15, 0.85),
    ObjectKind("cup", _cup, 1.1, 0.9),
    ObjectKind("book", _book, 0.78),
    ObjectKind("laptop", _laptop, 1.3, 1.15),
    ObjectKind("plant", _plant, 0.85, 1.1, template="a plant in a {color} pot"),
    ObjectKind("clock", _clock, 1.0),
    ObjectKind("ball", _ball, 1.0, 0.9),
    ObjectKind("lamp", _lamp, 0.7, 1.15),
    ObjectKind("bottle", _bottle, 0.42, 1.05),
    ObjectKind("phone", _phone, 0.56, 0.85),
    ObjectKind("chair", _chair, 0.8, 1.2),
    ObjectKind("apple", _apple, 1.0, 0.8, colors=("red", "green", "yellow")),
    ObjectKind("banana", _banana, 1.8, 0.9, colors=("yellow", "green")),
    ObjectKind("vase", _vase, 0.65, 1.05),
    ObjectKind("umbrella", _umbrella, 1.0, 1.1),
    ObjectKind("hat", _hat, 1.25),
    ObjectKind("shoe", _shoe, 1.6, 0.95),
    ObjectKind("bag", _bag, 1.0),
    ObjectKind("key", _key, 1.8, 0.85),
    ObjectKind("pen", _pen, 3.2, 0.9),
    ObjectKind("guitar", _guitar, 0.45, 1.3),
    ObjectKind("tv", _tv, 1.35, 1.2),
    ObjectKind("car", _car, 1.7, 0.95, template="a {color} toy car"),
    ObjectKind("kite", _kite, 0.7, 1.1),
)}


def draw_object(d: ImageDraw.ImageDraw, label: str, box: PixelBox, color: str) -> None:
    """Draw one object of the vocabulary filling ``box`` (pixels)."""
    KINDS[label].draw(d, box, COLORS[color])


# --- people ----------------------------------------------------------------------------


def body_box(cx: float, cy: float, r: float) -> PixelBox:
    """The pixel box of a person's torso and arms, below a head of radius ``r``."""
    return (cx - 1.35 * r, cy + 0.85 * r, cx + 1.35 * r, cy + 4.0 * r)


def draw_body(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, shirt: RGB,
              skin: RGB) -> None:
    """Torso in the shirt colour, arms and hands: a big patch of colour for descriptions."""
    x1, y1, x2, y2 = body_box(cx, cy, r)
    d.rectangle((cx - 0.3 * r, cy + 0.6 * r, cx + 0.3 * r, cy + 1.1 * r), fill=skin,
                outline=OUTLINE, width=2)
    d.rounded_rectangle((x1 + 0.25 * r, y1 + 0.15 * r, x2 - 0.25 * r, y2), radius=0.45 * r,
                        fill=shirt, outline=OUTLINE, width=3)
    arm = shade(shirt, 0.75)
    for side in (-1, 1):
        sx = cx + side * 1.05 * r
        d.rounded_rectangle((min(sx, sx + side * 0.3 * r), y1 + 0.35 * r,
                             max(sx, sx + side * 0.3 * r), y2 - 0.6 * r), radius=0.14 * r,
                            fill=arm, outline=OUTLINE, width=2)
        hx = sx + side * 0.15 * r
        d.ellipse((hx - 0.22 * r, y2 - 0.75 * r, hx + 0.22 * r, y2 - 0.3 * r), fill=skin,
                  outline=OUTLINE, width=2)


def draw_head(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, skin: RGB, hair: RGB,
              state: str, angle_deg: float | None) -> None:
    """The head: the face disc and a thick nose wedge point where the person looks.

    ``angle_deg`` follows geometry.gaze_angle (0 right, 90 up, counter-clockwise).
    ``state`` is ``open`` (eyes with pupils turned to the target), ``closed`` (eyes drawn
    as lines) or ``hidden`` (face turned away: only hair shows).
    """
    if state == "hidden" or angle_deg is None:
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=hair, outline=OUTLINE, width=3)
        for k in (-0.45, 0.0, 0.45):  # strands on the back of the head
            d.arc((cx - r * 0.8 + k * r, cy - r * 0.75, cx + r * 0.8 + k * r, cy + r * 1.1), 200,
                  250, fill=shade(hair, 1.4), width=2)
        return
    a = math.radians(angle_deg)
    ux, uy = math.cos(a), -math.sin(a)  # pixel space, y down
    px, py = -uy, ux
    # The nose: a thick wedge sticking out of the head, drawn first so only its tip shows.
    bx, by = cx + 0.55 * r * ux, cy + 0.55 * r * uy
    tip = (cx + NOSE * r * ux, cy + NOSE * r * uy)
    d.polygon([(bx + 0.55 * r * px, by + 0.55 * r * py), tip,
               (bx - 0.55 * r * px, by - 0.55 * r * py)], fill=shade(skin, 0.85), outline=OUTLINE,
              width=3)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=hair, outline=OUTLINE, width=3)
    # The face disc sits on the side the person faces; hair shows behind it.
    fx, fy = cx + 0.27 * r * ux, cy + 0.27 * r * uy
    fr = 0.73 * r
    d.ellipse((fx - fr, fy - fr, fx + fr, fy + fr), fill=skin)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=OUTLINE, width=3)
    er = 0.25 * r
    for side in (-1, 1):
        ex = cx + 0.3 * r * ux + side * 0.48 * r * px
        ey = cy + 0.3 * r * uy + side * 0.48 * r * py
        if state == "closed":
            k = 0.8 * er
            d.line([(ex - k * px, ey - k * py), (ex + k * px, ey + k * py)], fill=OUTLINE,
                   width=max(3, round(0.13 * r)))
            continue
        d.ellipse((ex - er, ey - er, ex + er, ey + er), fill=WHITE, outline=OUTLINE, width=2)
        qx, qy = ex + 0.11 * r * ux, ey + 0.11 * r * uy
        pr = 0.14 * r
        d.ellipse((qx - pr, qy - pr, qx + pr, qy + pr), fill=OUTLINE)


def draw_room(d: ImageDraw.ImageDraw, size: int, wall: RGB, floor: RGB) -> None:
    """Wall, floor and skirting board: a plain background that never looks like an object."""
    fy = FLOOR_Y * size
    d.rectangle((0, 0, size, fy), fill=wall)
    d.rectangle((0, fy, size, size), fill=floor)
    d.line([(0, fy), (size, fy)], fill=shade(floor, 0.7), width=max(2, size // 150))


def render_record(record: dict[str, Any]) -> Image.Image:
    """Draw a scene from its annotation record alone, so picture and labels agree exactly.

    People further back (head higher up) are drawn first; objects last, since an object
    only ever overlaps the body of the person holding it.
    """
    w, h = record["width"], record["height"]
    image = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(image)
    draw_room(d, h, tuple(record["room"]["wall"]), tuple(record["room"]["floor"]))
    for p in sorted(record["people"], key=lambda p: (p["head"][1], p["index"])):
        x1, y1, x2, y2 = p["head"]
        cx, cy, r = (x1 + x2) / 2 * w, (y1 + y2) / 2 * h, (x2 - x1) / 2 * w
        skin, hair = tuple(p["skin"]), tuple(p["hair"])
        draw_body(d, cx, cy, r, COLORS[p["shirt"]], skin)
        draw_head(d, cx, cy, r, skin, hair, p["eyes"], p["face_deg"])
    for o in record["objects"]:
        x1, y1, x2, y2 = o["box"]
        draw_object(d, o["label"], (x1 * w, y1 * h, x2 * w, y2 * h), o["color"])
    return image


def draw_truth(record: dict[str, Any], image: Image.Image | None = None) -> Image.Image:
    """The scene with its ground truth drawn on top: head boxes, lines of sight, targets.

    For looking at pictures (docs, review); red lines end at the gaze point, or at the
    frame's edge when the gaze leaves the picture.
    """
    image = (image or render_record(record)).convert("RGB")
    w, h = image.size
    d = ImageDraw.Draw(image)
    for p in record["people"]:
        x1, y1, x2, y2 = p["head"]
        d.rectangle((x1 * w, y1 * h, x2 * w, y2 * h), outline=(0, 170, 255), width=2)
        gaze = p["gaze"] or p["gaze_beyond"]
        if p["eye"] is None or gaze is None:
            continue
        ex, ey, gx, gy = p["eye"][0] * w, p["eye"][1] * h, gaze[0] * w, gaze[1] * h
        d.line([(ex, ey), (gx, gy)], fill=(230, 0, 0), width=3)
        if p["gaze"] is not None:
            d.ellipse((gx - 5, gy - 5, gx + 5, gy + 5), fill=(230, 0, 0))
        box = p["target"]["box"]
        if box is not None:
            d.rectangle((box[0] * w, box[1] * h, box[2] * w, box[3] * h), outline=(230, 0, 0),
                        width=2)
    return image
