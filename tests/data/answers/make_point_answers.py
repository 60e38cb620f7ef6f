"""Writes points_<convention>.jsonl: realistic answers with the point they must parse to.

Run from the repository root: ``python tests/data/answers/make_point_answers.py``.
Expected values are computed here from the numbers put into each answer, never by
the parser, so the tables test the parser against an independent truth.
Each row: text, convention, image_size ([w, h] or null), hint, expected ([x, y] or
null), rule (the pattern prefix that must fire, or null).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

HERE = Path(__file__).parent

# (template, pattern). {x} / {y} are the point; {x1}..{y2} a box around it.
PROSE_POINT = [
    ("({x}, {y})", "tuple"),
    ("The person is looking at ({x}, {y}).", "tuple"),
    ("[{x}, {y}]", "tuple"),
    ("x={x}, y={y}", "named"),
    ("x: {x}\ny: {y}", "named"),
    ('{{"x": {x}, "y": {y}}}', "named"),
    ('```json\n{{"point": [{x}, {y}]}}\n```', "tuple"),
    ("**Gaze point:** ({x}, {y})", "tuple"),
    ("The gaze target is at approximately x = {x} and y = {y}.", "named"),
    ("Answer: {x}, {y}", "pair"),
    ("The x-coordinate is {x} and the y-coordinate is {y}.", "named"),
    ("Looking at the mug on the table, located around ({x},{y}).", "tuple"),
    ("- **x**: {x}\n- **y**: {y}", "named"),
    ("<answer>({x}, {y})</answer>", "tuple"),
    ("There are 2 people; the one in the red box looks at [{x}, {y}].", "tuple"),
    ("(x, y) = ({x}, {y})", "tuple"),
    ("She is looking at the book at {{{x}, {y}}}", "tuple"),
    ("The object box is [{x1}, {y1}, {x2}, {y2}].", "box"),
    ("Gaze: {x} , {y}", "pair"),
    ("| x | y |\n|---|---|\n| {x} | {y} |", "loose"),
]
NONE_ANSWERS = [
    "I cannot determine where the person is looking.",
    "The person is looking at the door.",
    "It cannot be answered: the gaze leaves the frame.",
    "",
]


def fmt_norm(v: float) -> str:
    return f"{v:.3f}"


def rows_plain(convention, n_values, to_text, to_norm, image_size=None, hint=None, seed=0):
    rng = random.Random(seed)
    rows = []
    for template, pattern in PROSE_POINT:
        for _ in range(n_values):
            x, y = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
            tx, ty = to_text(x, 0), to_text(y, 1)
            bx = {"x1": to_text(x - 0.05, 0), "y1": to_text(y - 0.04, 1),
                  "x2": to_text(x + 0.05, 0), "y2": to_text(y + 0.04, 1)}
            text = template.format(x=tx, y=ty, **bx)
            if pattern == "box":
                ex = (to_norm(bx["x1"], 0) + to_norm(bx["x2"], 0)) / 2
                ey = (to_norm(bx["y1"], 1) + to_norm(bx["y2"], 1)) / 2
            else:
                ex, ey = to_norm(tx, 0), to_norm(ty, 1)
            rows.append(dict(text=text, convention=convention, image_size=image_size,
                             hint=hint, expected=[ex, ey], rule=pattern))
    rows += [dict(text=t, convention=convention, image_size=image_size, hint=hint,
                  expected=None, rule=None) for t in NONE_ANSWERS]
    return rows


def norm_rows():
    return rows_plain("norm", 2, lambda v, _: fmt_norm(v), lambda s, _: float(s), seed=1)


def norm1000_rows():
    rows = rows_plain("norm1000", 2, lambda v, _: str(round(v * 1000)),
                      lambda s, _: int(s) / 1000, seed=2)
    rng = random.Random(20)
    for _ in range(6):
        x1, y1 = rng.randint(50, 500), rng.randint(50, 500)
        x2, y2 = x1 + rng.randint(10, 400), y1 + rng.randint(10, 400)
        exp = [(x1 + x2) / 2000, (y1 + y2) / 2000]
        rows.append(dict(text=f"<|object_ref_start|>the cup<|object_ref_end|><|box_start|>"
                              f"({x1},{y1}),({x2},{y2})<|box_end|>", convention="norm1000",
                         image_size=None, hint=None, expected=exp, rule="qwen2_box"))
        rows.append(dict(text=f"The person looks at <ref>the cup</ref><box>[[{x1}, {y1}, "
                              f"{x2}, {y2}]]</box>.", convention="norm1000", image_size=None,
                         hint=None, expected=exp, rule="internvl_box"))
    return rows


def pixel_rows():
    rows = []
    for i, (w, h) in enumerate([(640, 480), (1280, 720), (333, 500)]):
        rows += rows_plain("pixel", 1, lambda v, a, w=w, h=h: str(round(v * (w, h)[a])),
                           lambda s, a, w=w, h=h: int(s) / (w, h)[a], image_size=[w, h],
                           seed=30 + i)
    return rows


def percent_rows():
    rows = rows_plain("percent", 2, lambda v, _: f"{v * 100:.1f}",
                      lambda s, _: float(s) / 100, seed=4)
    rng = random.Random(41)
    for _ in range(8):
        x, y = rng.randint(5, 95), rng.randint(5, 95)
        rows.append(dict(text=f"About {x}% from the left and {y}% from the top of the image.",
                         convention="percent", image_size=None, hint=None,
                         expected=[x / 100, y / 100], rule="loose"))
        rows.append(dict(text=f"({x}%, {y}%)", convention="auto", image_size=None, hint="norm",
                         expected=[x / 100, y / 100], rule="tuple"))
    return rows


def molmo_rows():
    rng = random.Random(5)
    rows = []
    forms = [
        ('<point x="{x}" y="{y}" alt="gaze target">gaze target</point>', "molmo"),
        ('The person is looking at <point x="{x}" y="{y}" alt="the mug">the mug</point>.',
         "molmo"),
        ('<points x1="{x}" y1="{y}" x2="12.0" y2="88.0" alt="cups">cups</points>', "molmo"),
        ("<point y=\"{y}\" x=\"{x}\" alt='book'>book</point>", "molmo"),
        ('**Answer:** <point x="{x}" y="{y}" alt="target">target</point>', "molmo"),
        ("({x}, {y})", "tuple"),
    ]
    for template, pattern in forms:
        for _ in range(7):
            x, y = round(rng.uniform(3, 97), 1), round(rng.uniform(3, 97), 1)
            # plain numbers follow the asked format, here percent; the tags carry theirs
            rows.append(dict(text=template.format(x=x, y=y), convention="molmo",
                             image_size=None, hint="percent" if pattern == "tuple" else None,
                             expected=[x / 100, y / 100], rule=pattern))
    rows += [dict(text=t, convention="molmo", image_size=None, hint=None, expected=None,
                  rule=None) for t in NONE_ANSWERS]
    return rows


def paligemma_rows():
    rng = random.Random(6)
    rows = []
    for i in range(44):
        y, x = rng.randint(0, 1023), rng.randint(0, 1023)
        if i % 2 == 0:
            text = [f"<loc{y:04d}><loc{x:04d}>", f"<loc{y:04d}><loc{x:04d}> gaze target",
                    f"detect: <loc{y:04d}><loc{x:04d}> ; cup"][i % 3]
            exp = [x / 1024, y / 1024]
        else:
            y2, x2 = min(1023, y + rng.randint(5, 200)), min(1023, x + rng.randint(5, 200))
            text = f"<loc{y:04d}><loc{x:04d}><loc{y2:04d}><loc{x2:04d}> mug"
            exp = [(x + x2) / 2048, (y + y2) / 2048]
        rows.append(dict(text=text, convention="paligemma", image_size=None, hint=None,
                         expected=exp, rule="paligemma"))
    rows += [dict(text=t, convention="paligemma", image_size=None, hint=None, expected=None,
                  rule=None) for t in NONE_ANSWERS]
    return rows


def smart_resize(w, h, factor=28, min_pixels=3136, max_pixels=12845056):
    hb, wb = max(factor, round(h / factor) * factor), max(factor, round(w / factor) * factor)
    if hb * wb > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        hb, wb = math.floor(h / beta / factor) * factor, math.floor(w / beta / factor) * factor
    elif hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        hb, wb = math.ceil(h * beta / factor) * factor, math.ceil(w * beta / factor) * factor
    return wb, hb


def qwen25_rows():
    rng = random.Random(7)
    rows = []
    forms = [
        '```json\n[\n  {{"point_2d": [{x}, {y}], "label": "gaze target"}}\n]\n```',
        '{{"point_2d": [{x}, {y}]}}',
        'The person is looking at the laptop. {{"point_2d": [{x}, {y}], "label": "laptop"}}',
        '```json\n[{{"bbox_2d": [{x1}, {y1}, {x2}, {y2}], "label": "cup"}}]\n```',
        "({x}, {y})",
    ]
    for size in [(640, 480), (1920, 1080)]:
        w, h = smart_resize(*size)
        for template in forms:
            for _ in range(4):
                x, y = rng.randint(20, w - 60), rng.randint(20, h - 60)
                x2, y2 = x + rng.randint(4, 40), y + rng.randint(4, 40)
                text = template.format(x=x, y=y, x1=x, y1=y, x2=x2, y2=y2)
                if "bbox_2d" in template:
                    exp, rule = [(x + x2) / 2 / w, (y + y2) / 2 / h], "bbox_2d"
                else:
                    exp = [x / w, y / h]
                    rule = "point_2d" if "point_2d" in template else "tuple"
                # image_size [w, h] is already the resized size (smart_resize keeps it);
                # plain numbers follow the asked format, here pixels of that size
                rows.append(dict(text=text, convention="qwen2.5-vl", image_size=[w, h],
                                 hint="pixel" if rule == "tuple" else None, expected=exp,
                                 rule=rule))
    rows += [dict(text=t, convention="qwen2.5-vl", image_size=[644, 476], hint=None,
                  expected=None, rule=None) for t in NONE_ANSWERS]
    return rows


def auto_rows():
    """Unknown models: the scale is inferred, helped by the asked format (hint)."""
    rows = []
    for src in (norm_rows()[:12], norm1000_rows()[:8], percent_rows()[-6:],
                molmo_rows()[:6], paligemma_rows()[:6], pixel_rows()[:6]):
        for r in src:
            hint = {"norm1000": "norm1000", "pixel": "pixel"}.get(r["convention"], r["hint"])
            rows.append(dict(r, convention="auto", hint=hint))
    rows += [dict(text=t, convention="auto", image_size=None, hint=None, expected=None,
                  rule=None) for t in NONE_ANSWERS]
    rows.append(dict(text="(5000, 4000)", convention="auto", image_size=None, hint=None,
                     expected=None, rule=None))
    return rows


def main() -> None:
    tables = {
        "norm": norm_rows(), "norm1000": norm1000_rows(), "pixel": pixel_rows(),
        "percent": percent_rows(), "molmo": molmo_rows(), "paligemma": paligemma_rows(),
        "qwen2.5-vl": qwen25_rows(), "auto": auto_rows(),
    }
    for name, rows in tables.items():
        path = HERE / f"points_{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(path.name, len(rows))


if __name__ == "__main__":
    main()
