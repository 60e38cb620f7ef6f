"""parse_point: tables of realistic answers per convention, canonical round trips, fuzzing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.geometry import to_1000
from vl4gaze.parse.conventions import (
    CONVENTIONS,
    convention_for_model,
    qwen25vl_input_size,
)
from vl4gaze.parse.points import parse_point
from vl4gaze.schema import Point

ANSWERS = Path(__file__).parent / "data" / "answers"


def _rows(convention: str) -> list[dict]:
    path = ANSWERS / f"points_{convention}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("convention", CONVENTIONS)
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
    assert p.rule == "tuple:pixel"


def test_auto_scale_inference() -> None:
    assert parse_point("(0.4, 0.6)").rule == "tuple:norm"
    assert parse_point("(400, 600)").rule == "tuple:norm1000"
    assert parse_point("(400, 600)", image_size=(800, 1200), hint="pixel").as_tuple() == (
        0.5, 0.5)
    assert parse_point("(1500, 600)", image_size=(3000, 1200)).rule == "tuple:pixel"
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
    assert got.as_tuple() == (0.5, 0.25) and got.rule == "molmo:percent"


def test_unknown_convention_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown point convention"):
        parse_point("(0.1, 0.2)", "bogus")


def test_model_table() -> None:
    assert convention_for_model("hf:Qwen/Qwen2.5-VL-7B-Instruct") == "qwen2.5-vl"
    assert convention_for_model("hf:Qwen/Qwen2-VL-2B-Instruct") == "norm1000"
    assert convention_for_model("vllm:OpenGVLab/InternVL2_5-8B") == "norm1000"
    assert convention_for_model("hf:allenai/Molmo-7B-D-0924") == "molmo"
    assert convention_for_model("hf:google/paligemma2-3b-mix-448") == "paligemma"
    assert convention_for_model("hf:llava-hf/llava-1.5-7b-hf") == "norm"
    assert convention_for_model("openai:gpt-4o") == "auto"


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
