from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from test_infer_fixtures import make_bench

from vl4gaze.geometry import format_point
from vl4gaze.prompting import (
    ShotSampler,
    build_messages,
    prompt_config,
    system_prompt,
)
from vl4gaze.schema import Task


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    test, train = make_bench(root, n_test=3, n_train=5)
    return root, test, train


def test_zero_shot_messages_have_system_prompt_then_question_with_image(bench):
    root, test, _ = bench
    item = next(it for it in test if it.task == Task.POINT)
    messages = build_messages(item, root)
    assert [m["role"] for m in messages] == ["system", "user"]
    system = messages[0]["content"][0]["text"]
    assert "normalized" in system and "(0.512, 0.337)" in system
    assert "box" in system  # the person marker is explained
    image, text = messages[1]["content"]
    assert isinstance(image["image"], Image.Image) and image["image"].mode == "RGB"
    assert image["image"].size == (item.width, item.height)
    assert text == {"type": "text", "text": item.question}


def test_k_shot_examples_are_same_task_train_items_as_earlier_turns(bench):
    root, test, train = bench
    sampler = ShotSampler(train, k=2, seed=7)
    for item in test:
        shots = sampler.shots_for(item)
        assert len(shots) == 2 and all(s.task == item.task and s.split == "train" for s in shots)
        messages = build_messages(item, root, shots=shots)
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user",
                                                  "assistant", "user"]
        assert messages[2]["content"][0]["text"] == shots[0].answer
        assert messages[3]["content"][1]["text"] == shots[1].question
        assert messages[-1]["content"][1]["text"] == item.question
        assert sum(p["type"] == "image" for m in messages for p in m["content"]) == 3


def test_shot_draw_is_seeded_and_independent_of_pool_order(bench):
    _, test, train = bench
    item = test[0]
    a = ShotSampler(train, k=3, seed=1).shots_for(item)
    b = ShotSampler(list(reversed(train)), k=3, seed=1).shots_for(item)
    assert [s.id for s in a] == [s.id for s in b]
    draws = {tuple(s.id for s in ShotSampler(train, k=3, seed=s).shots_for(item))
             for s in range(10)}
    assert len(draws) > 1


def test_too_few_examples_is_a_clear_error(bench):
    _, test, train = bench
    with pytest.raises(ValueError, match="only 5 train examples of task"):
        ShotSampler(train, k=6).shots_for(test[0])


def test_point_formats_in_system_prompt():
    assert "1000" in system_prompt("point", point_format="norm1000")
    assert "64x48" in system_prompt("point", point_format="pixel", width=64, height=48)
    assert "upper left" in system_prompt("direction")
    assert "It cannot be answered" in system_prompt("ambiguity")
    assert "coloured box" not in system_prompt("object", person_ref="text")
    with pytest.raises(ValueError, match="unknown point format 'percent'"):
        system_prompt("point", point_format="percent")


def test_missing_image_names_the_file(bench):
    root, test, _ = bench
    item = test[0]
    broken = type(item).from_dict({**item.to_dict(), "image": "images/nope.png"})
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        build_messages(broken, root)


def test_prompt_config_changes_with_shots_and_seed(bench):
    root, _, _ = bench
    base = prompt_config(root, shots=0, seed=0)
    assert base == prompt_config(root, shots=0, seed=0)
    assert base != prompt_config(root, shots=2, seed=0)
    assert base != prompt_config(root, shots=0, seed=1)


@given(st.floats(0, 1), st.floats(0, 1), st.integers(1, 5000), st.integers(1, 5000))
def test_format_point_round_trips_within_its_precision(x, y, w, h):
    for fmt, scale_x, scale_y, tol in (("norm", 1, 1, 5e-4), ("norm1000", 1000, 1000, 5e-4),
                                       ("pixel", w, h, None)):
        text = format_point(x, y, fmt, w, h)
        px, py = (float(v) for v in re.fullmatch(r"\(([\d.]+), ([\d.]+)\)", text).groups())
        assert abs(px / scale_x - x) <= (tol or 0.5 / w) + 1e-9
        assert abs(py / scale_y - y) <= (tol or 0.5 / h) + 1e-9
