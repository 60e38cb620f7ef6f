"""Parsers on hostile answers: bounded time per call whatever the length (issue 21).

Before the fix ``parse_point("x" + " " * 1000)`` took ~14 s (nested optional space runs
in the ``named`` pattern backtracked) and ``parse_direction`` on 16,000 digits ~11 s
(the degrees pattern restarted at every digit).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vl4gaze.parse.limits as limits
from vl4gaze.parse.ambiguity import parse_ambiguity
from vl4gaze.parse.direction import parse_direction_rule
from vl4gaze.parse.limits import MAX_ANSWER_CHARS
from vl4gaze.parse.points import parse_point

#: Generous: measured calls take ~20 ms on a loaded 2-core machine.
BUDGET_S = 0.5
LENGTH = 100_000

FRAGMENTS = [
    " ", "  ", "\t", "\n", "1", "12", "0.5", "1.", ".", "e5", "-", "+", ",", ", ", ";",
    "x ", "y ", "x", "x=", "y:", "x_coordinate ", "is ", "about ", "%", "px", "pixels",
    "(", "[", "{", "[[", ")", "]", "<", ">", "<point", "<points x1=", "<point x=\"",
    "<loc", "<loc0", "<box>[[", "<|box_start|>(", "\"point_2d\": [", "'", "\"", "`", "*",
    "_", "=", ":", "o'clock", "deg", "°", "north", "looking ", "left ", "his ", "up ",
    "cannot ", "there is no ", "eyes ", "which ", "out of the ",
]
PARSERS: list[tuple[str, Callable[[str], object]]] = [
    ("point", lambda s: parse_point(s)),
    ("point/pixel", lambda s: parse_point(s, "auto", (640, 480), hint="pixel")),
    ("direction", parse_direction_rule),
    ("ambiguity", parse_ambiguity),
]


def _timed(fn: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    fn(text)
    return time.perf_counter() - start


def _hostile(parts: list[str], prefix: str) -> str:
    unit = "".join(parts)
    return prefix + (unit * (LENGTH // len(unit) + 1))[:LENGTH]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4),
       st.sampled_from(["", "x", "(", "<point", "1"]))
def test_every_parser_is_bounded_on_100kb_adversarial_strings(parts: list[str],
                                                              prefix: str) -> None:
    text = _hostile(parts, prefix)
    for name, fn in PARSERS:
        took = _timed(fn, text)
        assert took < BUDGET_S, f"{name} took {took:.2f} s on {text[:60]!r}..."


@pytest.mark.parametrize("text", [
    "x" + " " * 4000,                       # the end-to-end case of issue 21
    "x" + " " * LENGTH,
    "1" * 16_000,
    "7" * LENGTH,
    "x " * (LENGTH // 2),
    "[" * LENGTH,
    "<point" * (LENGTH // 6),
    "(1, " * (LENGTH // 4),
], ids=["x+4000sp", "x+100Ksp", "16Kdigits", "100Kdigits", "x-sp", "brackets", "<point",
        "open-pairs"])
def test_issue21_cases_are_fast(text: str) -> None:
    for name, fn in PARSERS:
        took = _timed(fn, text)
        assert took < BUDGET_S, f"{name} took {took:.2f} s"


@pytest.mark.parametrize("text", ["x" + " " * LENGTH, "1" * LENGTH, "<point" * 20_000,
                                  "x " * (LENGTH // 2)], ids=["x+sp", "digits", "<point", "x-sp"])
def test_patterns_are_linear_without_the_window(text: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The window is a second line of defence: the patterns alone stay fast on 100 KB."""
    monkeypatch.setattr(limits, "MAX_ANSWER_CHARS", 10 * LENGTH)
    for name, fn in PARSERS:
        took = _timed(fn, text)
        assert took < 4 * BUDGET_S, f"{name} took {took:.2f} s unwindowed"


def test_answers_are_read_from_a_bounded_window() -> None:
    junk = " " * MAX_ANSWER_CHARS
    assert parse_point("(0.25, 0.75)" + junk + "(0.5, 0.5)").as_tuple() == (0.25, 0.75)
    assert parse_point(junk + "(0.25, 0.75)") is None  # past the window: not read
    assert parse_direction_rule("looking up" + junk * 10).direction == "up"
    assert parse_direction_rule(junk + "looking up") is None
    assert parse_ambiguity("It is unclear." + junk).declines
    assert not parse_ambiguity(junk + "It is unclear.").declines


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_window_leaves_short_answers_alone(text: str) -> None:
    assert limits.window(text) == text
