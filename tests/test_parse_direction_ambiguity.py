"""Direction and ambiguity parsers: tables of realistic answers, canonical answers, fuzzing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.geometry import DIRECTIONS
from vl4gaze.parse.ambiguity import parse_ambiguity
from vl4gaze.parse.direction import parse_direction, parse_direction_rule

ANSWERS = Path(__file__).parent / "data" / "answers"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (ANSWERS / name).read_text().splitlines()]


def test_direction_table() -> None:
    rows = _rows("directions.jsonl")
    assert len(rows) >= 40
    bad = [(r["text"], r["person_side"], parse_direction(r["text"], person_side=r["person_side"]),
            r["expected"]) for r in rows
           if parse_direction(r["text"], person_side=r["person_side"]) != r["expected"]]
    assert not bad, bad


@pytest.mark.parametrize("name", DIRECTIONS)
def test_canonical_direction_answers(name: str) -> None:
    assert parse_direction_rule(name).rule == "exact"
    assert parse_direction(name) == name
    assert parse_direction(f"The person is looking {name}.") == name


def test_person_side_rule_is_reported() -> None:
    assert parse_direction_rule("He looks to his left.").rule == "words:person_side"
    with pytest.raises(ValueError):
        parse_direction("left", person_side="bogus")


def test_ambiguity_table() -> None:
    rows = _rows("ambiguity.jsonl")
    assert len(rows) >= 40
    bad = []
    for r in rows:
        got = parse_ambiguity(r["text"])
        if (got.declines, got.reason) != (r["declines"], r["reason"]):
            bad.append((r["text"], got, r["declines"], r["reason"]))
    assert not bad, bad


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    d = parse_direction(text)
    assert d is None or d in DIRECTIONS
    a = parse_ambiguity(text)
    assert isinstance(a.declines, bool)
