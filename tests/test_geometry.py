import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vl4gaze.geometry import (
    DIRECTIONS,
    angle_between,
    box_from_pixels,
    direction_center_deg,
    direction_of_angle,
    direction_steps,
    from_1000,
    from_pixels,
    gaze_angle,
    gaze_direction,
    to_1000,
    to_pixels,
)
from vl4gaze.schema import Point

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
angles = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@given(unit, unit, st.integers(1, 8000), st.integers(1, 8000))
def test_pixel_round_trip(x, y, w, h):
    p = from_pixels(*to_pixels(Point(x, y), w, h), w, h)
    assert p.x == pytest.approx(x, abs=1e-12) and p.y == pytest.approx(y, abs=1e-12)


@given(unit, unit)
def test_1000_round_trip_within_half_a_step(x, y):
    p = from_1000(*to_1000(Point(x, y)))
    assert abs(p.x - x) <= 0.0005 + 1e-12 and abs(p.y - y) <= 0.0005 + 1e-12


def test_box_from_pixels_orders_and_clips():
    box = box_from_pixels(120, 80, 20, -5, 100, 100)
    assert box.as_tuple() == (0.2, 0.0, 1.0, 0.8)


@given(angles)
def test_every_angle_maps_to_exactly_one_direction(angle):
    direction = direction_of_angle(angle)
    assert direction in DIRECTIONS
    centre = direction_center_deg(direction)
    offset = (angle - centre + 180) % 360 - 180
    assert -22.5 - 1e-9 <= offset < 22.5 + 1e-9


@pytest.mark.parametrize("i", range(8))
def test_sector_boundaries_are_half_open(i):
    lower = i * 45 - 22.5
    assert direction_of_angle(lower) == DIRECTIONS[i]
    assert direction_of_angle(lower - 1e-9) == DIRECTIONS[(i - 1) % 8]
    assert direction_of_angle(i * 45) == DIRECTIONS[i]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ((0.9, 0.5), "right"), ((0.9, 0.1), "upper right"), ((0.5, 0.1), "up"),
        ((0.1, 0.1), "upper left"), ((0.1, 0.5), "left"), ((0.1, 0.9), "lower left"),
        ((0.5, 0.9), "down"), ((0.9, 0.9), "lower right"),
    ],
)
def test_image_y_grows_downward(target, expected):
    assert gaze_direction(Point(0.5, 0.5), Point(*target)) == expected


def test_aspect_ratio_changes_the_seen_direction():
    eye, gaze = Point(0.5, 0.5), Point(0.6, 0.4)
    assert gaze_direction(eye, gaze) == "upper right"
    assert gaze_direction(eye, gaze, width=1000, height=200) == "right"


def test_coinciding_points_have_no_direction():
    with pytest.raises(ValueError, match="coincides"):
        gaze_angle(Point(0.5, 0.5), Point(0.5, 0.5))


@given(unit, unit, unit, unit)
def test_gaze_angle_agrees_with_direction(ex, ey, gx, gy):
    assume((ex, ey) != (gx, gy))
    angle = gaze_angle(Point(ex, ey), Point(gx, gy))
    assert 0 <= angle < 360
    assert gaze_direction(Point(ex, ey), Point(gx, gy)) == direction_of_angle(angle)


@given(st.floats(-100, 100), st.floats(-100, 100), st.floats(-100, 100), st.floats(-100, 100))
def test_angle_between_is_symmetric_and_bounded(a, b, c, d):
    assume(math.hypot(a, b) > 1e-6 and math.hypot(c, d) > 1e-6)
    value = angle_between((a, b), (c, d))
    assert 0 <= value <= 180
    assert value == pytest.approx(angle_between((c, d), (a, b)))


def test_angle_between_known_values():
    assert angle_between((1, 0), (0, 1)) == pytest.approx(90)
    assert angle_between((1, 0), (-1, 0)) == pytest.approx(180)
    with pytest.raises(ValueError):
        angle_between((0, 0), (1, 0))


def test_direction_steps():
    assert direction_steps("right", "right") == 0
    assert direction_steps("right", "lower right") == 1
    assert direction_steps("up", "down") == 4
    assert direction_steps("upper left", "lower right") == 4


def test_angle_between_tiny_vectors_does_not_underflow():
    """Found by hypothesis: |u| |v| underflowed to 0 for 3e-199-long vectors."""
    from vl4gaze.geometry import angle_between

    tiny = 2.9919664544095955e-199
    assert angle_between((0.0, tiny), (0.0, tiny)) == 0.0
    assert angle_between((tiny, 0.0), (0.0, tiny)) == 90.0
