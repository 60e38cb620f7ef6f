"""parse_point: tables of realistic answers per convention, canonical round trips, fuzzing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.geometry import POINT_FORMATS, format_point, to_1000
from vl4gaze.parse.conventions import (
    CONVENTIONS,
    FAMILIES,
    KNOWN_MODELS,
    SCALES,
    convention_for_model,
    from_view,
    llava_view_of,
    qwen25vl_input_size,
    to_view,
)
from vl4gaze.parse.points import parse_point
from vl4gaze.schema import Point

ANSWERS = Path(__file__).parent / "data" / "answers"


def _rows(convention: str) -> list[dict]:
    path = ANSWERS / f"points_{convention}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


TABLES = [c for c in CONVENTIONS if (ANSWERS / f"points_{c}.jsonl").exists()]


def test_every_original_convention_has_a_table() -> None:
    assert {"auto", "norm", "norm1000", "pixel", "percent", "molmo", "paligemma",
            "qwen2.5-vl"} <= set(TABLES)


@pytest.mark.parametrize("convention", TABLES)
def test_answer_table(convention: str) -> None:
    rows = _rows(convention)
    assert len(rows) >= 40
    failures = []
    for i, row in enumerate(rows):
        size = tuple(row["image_size"]) if row["image_size"] else None
        got = parse_point(row["text"], row["convention"], size, hint=row["hint"])
        if row["expected"] is None:
            if got is not None:
                failures.append((i, row["text"], got))
            continue
        ok = (
            got is not None
            and abs(got.x - row["expected"][0]) < 1e-6
            and abs(got.y - row["expected"][1]) < 1e-6
            and got.rule.split(":")[0] == row["rule"]
        )
        if not ok:
            failures.append((i, row["text"], got, row["expected"], row["rule"]))
    assert not failures, failures


@pytest.mark.parametrize(
    ("x", "y"), [(0.0, 0.0), (1.0, 1.0), (0.512, 0.337), (0.999, 0.001), (0.5, 0.25)]
)
def test_canonical_answers_round_trip(x: float, y: float) -> None:
    """The oracle's canonical answers (CONTRACTS.md) parse back exactly, every format."""
    norm = parse_point(f"({x:.3f}, {y:.3f})", hint="norm")
    assert norm is not None and (norm.x, norm.y) == (round(x, 3), round(y, 3))
    gx, gy = to_1000(Point(x, y))
    k = parse_point(f"({gx}, {gy})", hint="norm1000")
    assert k is not None and (k.x, k.y) == (gx / 1000, gy / 1000)
    assert abs(k.x - x) <= 0.0005 and abs(k.y - y) <= 0.0005
    w, h = 448, 336
    px, py = round(x * w), round(y * h)
    p = parse_point(f"({px}, {py})", image_size=(w, h), hint="pixel")
    assert p is not None and (p.x, p.y) == (px / w, py / h)
    assert p.rule == "tuple:pixel:asked"


def test_auto_scale_inference() -> None:
    assert parse_point("(0.4, 0.6)").rule == "tuple:norm:inferred"
    assert parse_point("(400, 600)").rule == "tuple:norm1000:inferred"
    assert parse_point("(400, 600)", image_size=(800, 1200), hint="pixel").as_tuple() == (
        0.5, 0.5)
    assert parse_point("(1500, 600)", image_size=(3000, 1200)).rule == "tuple:pixel:inferred"
    assert parse_point("(1500, 600)") is None  # no image size: cannot scale
    # integers 0/1 follow the asked format rather than [0, 1]
    assert parse_point("(1, 0)", hint="norm1000").as_tuple() == (0.001, 0.0)
    assert parse_point("(1, 0)").as_tuple() == (1.0, 0.0)
    # an explicit convention is authoritative
    assert parse_point("(0.4, 0.6)", "norm1000").as_tuple() == (0.0004, 0.0006)
    assert parse_point("(512, 337)", "norm") is None


def test_clipping_and_outside() -> None:
    assert parse_point("(1.03, -0.02)").as_tuple() == (1.0, 0.0)
    assert parse_point("(1.2, 0.5)") is None
    assert parse_point("(640, 480)", "pixel") is None  # pixel needs image_size


def test_first_point_wins_and_tags_beat_numbers() -> None:
    got = parse_point("(0.1, 0.2) then (0.3, 0.4)")
    assert got.as_tuple() == (0.1, 0.2)
    got = parse_point('2 cups: <point x="50" y="25" alt="cup">cup</point> (0.9, 0.9)')
    assert got.as_tuple() == (0.5, 0.25) and got.rule == "molmo:percent:tag"


def test_unknown_convention_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown point convention"):
        parse_point("(0.1, 0.2)", "bogus")


def test_model_table() -> None:
    """The table names families (native forms, view), never a scale for plain numbers."""
    assert convention_for_model("hf:Qwen/Qwen2.5-VL-7B-Instruct") == "qwen2.5-vl"
    assert convention_for_model("hf:Qwen/Qwen3-VL-8B-Instruct") == "qwen3-vl"
    assert convention_for_model("hf:Qwen/Qwen2-VL-2B-Instruct") == "qwen2-vl"
    assert convention_for_model("vllm:OpenGVLab/InternVL2_5-8B") == "internvl"
    assert convention_for_model("hf:allenai/Molmo-7B-D-0924") == "molmo"
    assert convention_for_model("hf:google/paligemma2-3b-mix-448") == "paligemma"
    assert convention_for_model("hf:llava-hf/llava-1.5-7b-hf") == "llava-crop"
    assert convention_for_model("liuhaotian/llava-v1.5-13b") == "llava-pad"
    assert convention_for_model("openai:gpt-4o") == "auto"
    assert all(family not in SCALES for _, family in KNOWN_MODELS)


def test_qwen25vl_input_size() -> None:
    assert qwen25vl_input_size(640, 480) == (644, 476)
    w, h = qwen25vl_input_size(8000, 6000)
    assert w % 28 == 0 and h % 28 == 0 and w * h <= 12845056
    w, h = qwen25vl_input_size(20, 20)
    assert w * h >= 3136


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(CONVENTIONS),
       st.one_of(st.none(), st.tuples(st.integers(-5, 5000), st.integers(-5, 5000))))
def test_never_raises(text: str, convention: str, size) -> None:
    got = parse_point(text, convention, size)
    assert got is None or (0 <= got.x <= 1 and 0 <= got.y <= 1)


ALPHABET = st.sampled_from([
    *"0123456789.,-+eE%()[]{}<>xy:=\"' ",
    "<loc", "<point ", "point_2d", "bbox_2d", "<|box_start|>", "<box>", "1e999", "nan",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join), st.sampled_from(CONVENTIONS))
def test_never_raises_on_near_miss_syntax(text: str, convention: str) -> None:
    got = parse_point(text, convention, (640, 480))
    assert got is None or (0 <= got.x <= 1 and 0 <= got.y <= 1)


# --- issue 15: plain numbers follow the asked format; native forms keep their family's scale

NON_SQUARE_FAMILIES = [f for f in FAMILIES if FAMILIES[f].view == "full"]
SIZES = st.tuples(st.integers(16, 4000), st.integers(16, 4000))


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.sampled_from(POINT_FORMATS),
       st.sampled_from(NON_SQUARE_FAMILIES), SIZES)
def test_canonical_answers_parse_under_every_family(x, y, fmt, family, size) -> None:
    """A model of any known family answering in the asked format is read in that format
    (before: the family's native scale rescaled plain numbers, e.g. Qwen2.5-VL's pixels)."""
    w, h = size
    text = format_point(x, y, fmt, w, h)
    got = parse_point(text, family, size, hint=fmt)
    tol = {"norm": 0.0005, "norm1000": 0.0005, "pixel": 0.5 / min(w, h)}[fmt] + 1e-9
    assert got is not None, (text, family)
    assert abs(got.x - x) <= tol and abs(got.y - y) <= tol, (text, family, got)
    assert got.rule.endswith((":asked", ":inferred"))


@pytest.mark.parametrize("model", ["hf:Qwen/Qwen2.5-VL-7B-Instruct", "hf:Qwen/Qwen3-VL-8B",
                                   "vllm:OpenGVLab/InternVL2_5-8B", "hf:allenai/Molmo-7B-D-0924",
                                   "hf:Qwen/Qwen2-VL-2B-Instruct", "hf:THUDM/glm-4v-9b"])
def test_the_issue_example_under_known_models(model: str) -> None:
    got = parse_point("(0.512, 0.337)", convention_for_model(model), (640, 480), hint="norm")
    assert got is not None and got.as_tuple() == (0.512, 0.337)
    assert got.rule == "tuple:norm:asked"


def test_native_forms_keep_the_family_scale() -> None:
    # Qwen2.5-VL JSON: pixels of the resized input (640x480 -> 644x476), whatever was asked
    got = parse_point('{"point_2d": [322, 238]}', "qwen2.5-vl", (640, 480), hint="norm")
    assert got.as_tuple() == (0.5, 0.5) and got.rule == "point_2d:pixel:qwen2.5-vl"
    got = parse_point('{"bbox_2d": [0, 0, 100, 50]}', "qwen2.5-vl", (640, 480),
                      input_size=(200, 100))
    assert got.as_tuple() == (0.25, 0.25)
    # Qwen3-VL / GLM-V JSON: 0-1000
    got = parse_point('{"point_2d": [500, 250]}', "qwen3-vl", (640, 480), hint="pixel")
    assert got.as_tuple() == (0.5, 0.25) and got.rule == "point_2d:norm1000:qwen3-vl"
    # the same JSON from an unknown model is plain numbers, read in the asked format
    got = parse_point('{"point_2d": [320, 120]}', "auto", (640, 480), hint="pixel")
    assert got.as_tuple() == (0.5, 0.25) and got.rule == "point_2d:pixel:asked"
    # tags carry their own scale under any convention, forced scales included
    for convention in CONVENTIONS:
        got = parse_point("<loc0256><loc0512>", convention, (640, 640), hint="pixel")
        assert got.as_tuple() == (0.5, 0.25) and got.rule == "paligemma:bins1024:tag"


def test_an_explicit_scale_convention_still_forces_plain_numbers() -> None:
    got = parse_point("(0.512, 0.337)", "norm1000", (640, 480), hint="norm")
    assert got.as_tuple() == (0.000512, 0.000337) and got.rule == "tuple:norm1000:forced"
    got = parse_point("(320, 240)", "pixel", (640, 480), hint="norm1000")
    assert got.as_tuple() == (0.5, 0.5) and got.rule == "tuple:pixel:forced"


def test_px_units() -> None:
    got = parse_point("(250px, 130px)", "auto", (500, 260), hint="norm")
    assert got.as_tuple() == (0.5, 0.5) and got.rule == "tuple:pixel:unit"
    got = parse_point("x = 100 pixels, y = 26 pixels", "auto", (500, 260))
    assert got.as_tuple() == (0.2, 0.1) and got.rule == "named:pixel:unit"
    assert parse_point("(250px, 130px)", "auto", None) is None  # pixels need the size
    assert parse_point("(250px, 50%)", "auto", (500, 260)) is None  # clashing units


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100), st.integers(0, 100), st.sampled_from(["%", "px", " px", " pixels"]),
       st.sampled_from(CONVENTIONS), st.sampled_from([None, *POINT_FORMATS]))
def test_an_explicit_unit_always_wins(a: int, b: int, unit: str, convention: str, hint) -> None:
    size = (100, 100)
    got = parse_point(f"({a}{unit}, {b}{unit})", convention, size, hint=hint)
    assert got is not None and got.rule.split(":")[1:3] in (["percent", "unit"],
                                                            ["pixel", "unit"])
    # 100x100 is square: no view moves the point, pixels and percent agree here
    assert (got.x, got.y) == (a / 100, b / 100)


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), SIZES, st.sampled_from(["pad", "crop"]))
def test_views_round_trip(x: float, y: float, size, view: str) -> None:
    w, h = size
    u, v = to_view(x, y, w, h, view)
    back = from_view(u, v, w, h, view)
    assert abs(back[0] - x) < 1e-9 and abs(back[1] - y) < 1e-9
    if view == "pad":  # the whole image is in the padded square
        assert -1e-9 <= u <= 1 + 1e-9 and -1e-9 <= v <= 1 + 1e-9


def _dot_position(processed, size: int) -> tuple[float, float]:
    """Centre of the bright dot in a processed (1, 3, S, S) CLIP-normalized image."""
    red = processed[0, 0]
    ys, xs = np.nonzero(red > red.max() - 0.5)
    return (xs.mean() + 0.5) / size, (ys.mean() + 0.5) / size


@pytest.mark.parametrize("view", ["crop", "pad"])
@pytest.mark.parametrize("point", [(0.3, 0.2), (0.6, 0.4), (0.7, 0.85), (0.2, 0.75)])
def test_square_views_match_the_real_processors(view: str, point) -> None:
    """A 640x480 image through transformers' own processors (llava-hf's CLIPImageProcessor
    settings: shortest edge 336, centre crop; LlavaImageProcessor do_pad=True, LLaVA-1.5's
    expand2square): the dot lands where ``to_view`` says, and an answer naming that spot
    in the square parses back to the original point (before: no such convention)."""
    pytest.importorskip("transformers")
    from PIL import Image, ImageDraw

    w, h = 640, 480
    x, y = point
    image = Image.new("RGB", (w, h), (0, 0, 0))
    ImageDraw.Draw(image).ellipse([x * w - 4, y * h - 4, x * w + 4, y * h + 4],
                                  fill=(255, 255, 255))
    if view == "crop":
        from transformers import CLIPImageProcessor

        processor = CLIPImageProcessor(size={"shortest_edge": 336},
                                       crop_size={"height": 336, "width": 336})
        if not (0.125 < x < 0.875):
            pytest.skip("outside the centre crop")
    else:
        from transformers.models.llava.image_processing_pil_llava import (
            LlavaImageProcessorPil,
        )

        processor = LlavaImageProcessorPil(size={"shortest_edge": 336},
                                           crop_size={"height": 336, "width": 336},
                                           do_pad=True)
    pixels = processor(image, return_tensors="np")["pixel_values"]
    assert pixels.shape[-2:] == (336, 336)
    seen = _dot_position(pixels, 336)
    expected = to_view(x, y, w, h, view)
    assert abs(seen[0] - expected[0]) < 2 / 336 and abs(seen[1] - expected[1]) < 2 / 336
    answer = f"({seen[0]:.3f}, {seen[1]:.3f})"
    got = parse_point(answer, f"llava-{view}", (w, h), hint="norm")
    assert got is not None and got.rule == f"tuple:norm:asked@{view}"
    assert abs(got.x - x) < 0.006 and abs(got.y - y) < 0.006
    unmapped = parse_point(answer, "auto", (w, h), hint="norm")
    assert max(abs(unmapped.x - x), abs(unmapped.y - y)) > 0.02  # what was read before


def test_square_views_need_the_image_size() -> None:
    assert parse_point("(0.5, 0.5)", "llava-crop", None, hint="norm") is None
    got = parse_point("(320, 240)", "llava-pad", (640, 480), hint="pixel")
    assert got.as_tuple() == (0.5, 0.5) and "@" not in got.rule  # stated pixels: no view


def test_llava_view_from_a_processor_config(tmp_path: Path) -> None:
    pad, crop, other = tmp_path / "pad", tmp_path / "crop", tmp_path / "other"
    for folder, config in ((pad, {"image_processor_type": "LlavaImageProcessor",
                                  "do_pad": True, "do_center_crop": True}),
                           (crop, {"image_processor_type": "CLIPImageProcessor",
                                   "do_center_crop": True}),
                           (other, {"do_resize": True})):
        folder.mkdir()
        (folder / "preprocessor_config.json").write_text(json.dumps(config))
    assert llava_view_of(pad) == "llava-pad" and llava_view_of(crop) == "llava-crop"
    assert llava_view_of(other) is None and llava_view_of(tmp_path / "missing") is None


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20000), st.integers(1, 20000))
def test_qwen25vl_input_size_is_a_fixed_point(w: int, h: int) -> None:
    """Why the parser may take the stated size: resizing the resized size changes nothing."""
    if max(w, h) / min(w, h) > 200:
        return  # Qwen's processor refuses such aspect ratios
    size = qwen25vl_input_size(w, h)
    assert qwen25vl_input_size(*size) == size
