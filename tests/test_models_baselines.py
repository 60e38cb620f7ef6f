from __future__ import annotations

import random
import re

import pytest
from test_infer_fixtures import make_bench, make_item

from vl4gaze.geometry import DIRECTIONS
from vl4gaze.models import BackendError, Request, load_model
from vl4gaze.models.baselines import BASELINES, make_baseline
from vl4gaze.schema import Box, QAItem, Task


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    test, train = make_bench(root, n_test=6, n_train=12)
    return root, test, train


def _answers(model, items):
    return model.generate([Request([], it) for it in items], 16)


def _point(text: str) -> tuple[float, float]:
    x, y = re.fullmatch(r"\(([\d.]+), ([\d.]+)\)", text).groups()
    return float(x), float(y)


def test_oracle_gives_the_canonical_answers(bench):
    _, test, _ = bench
    assert _answers(load_model("baseline:oracle"), test) == [it.answer for it in test]


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_answers_in_the_benchmark_forms(bench, name):
    _, test, train = bench
    model = make_baseline(name, train=train, seed=3)
    answers = _answers(model, test)
    assert answers == _answers(make_baseline(name, train=train, seed=3), test)  # seeded
    for item, answer in zip(test, answers, strict=True):
        if item.task == Task.POINT:
            assert all(0 <= v <= 1 for v in _point(answer))
        elif item.task == Task.DIRECTION:
            assert answer in DIRECTIONS
        else:
            assert answer


def test_random_varies_with_the_seed(bench):
    _, test, train = bench
    a = _answers(make_baseline("random", train=train, seed=0), test)
    b = _answers(make_baseline("random", train=train, seed=1), test)
    assert a != b


def test_center_uses_image_centre_and_train_majority(bench):
    _, test, train = bench
    model = make_baseline("center", train=train)
    point = next(it for it in test if it.task == Task.POINT)
    assert _answers(model, [point]) == ["(0.500, 0.500)"]
    direction = next(it for it in test if it.task == Task.DIRECTION)
    counts = [it.answer for it in train if it.task == Task.DIRECTION]
    assert _answers(model, [direction])[0] in {d for d in counts
                                               if counts.count(d) == max(map(counts.count, counts))}


def test_head_baseline_learns_a_head_to_gaze_map_from_train(tmp_path):
    rng = random.Random(0)
    train = [make_item(tmp_path, "point", i, "train", rng) for i in range(20)]
    # Everyone looks at the mirror image of their head position: gaze = (1 - hx, hy + 0.2).
    mirrored = []
    for it in train:
        c = it.person_head.center
        gx, gy = 1 - c.x, min(1.0, c.y + 0.2)
        mirrored.append(QAItem.from_dict({**it.to_dict(), "target": {
            **it.target, "mean": [gx, gy], "points": [[gx, gy]]}}))
    model = make_baseline("head", train=mirrored)
    probe = QAItem.from_dict({**train[0].to_dict(), "person_head": Box(0.1, 0.2, 0.2, 0.3)
                              .to_dict()})
    x, y = _point(_answers(model, [probe])[0])
    assert x == pytest.approx(0.85, abs=0.01) and y == pytest.approx(0.45, abs=0.01)
    direction = make_item(tmp_path, "direction", 0, "test", rng)
    direction = QAItem.from_dict({**direction.to_dict(),
                                  "person_head": Box(0.05, 0.4, 0.15, 0.5).to_dict()})
    assert _answers(model, [direction]) == ["right"]


def test_head_without_train_data_walks_towards_the_centre(tmp_path):
    item = make_item(tmp_path, "point", 0, "test", random.Random(1))
    item = QAItem.from_dict({**item.to_dict(), "person_head": Box(0.0, 0.0, 0.2, 0.2).to_dict()})
    x, y = _point(_answers(make_baseline("head", train=[]), [item])[0])
    assert x == pytest.approx(0.1 + 0.6 * 0.4, abs=1e-3) and y == pytest.approx(0.34, abs=1e-3)


def test_text_only_answers_from_the_question(bench):
    _, test, train = bench
    model = make_baseline("text-only", train=train)
    amb = [it for it in test if it.task == Task.AMBIGUITY]
    for item in amb:
        same_q = [t.answer for t in train if t.question == item.question]
        assert _answers(model, [item])[0] in same_q


def test_baselines_need_the_item():
    with pytest.raises(BackendError, match="needs the item"):
        make_baseline("center").generate([Request([])], 8)


def test_load_model_spec_errors_and_option_filtering(bench):
    _, _, train = bench
    with pytest.raises(ValueError, match="unknown model spec 'nope:x'"):
        load_model("nope:x")
    with pytest.raises(ValueError, match="lacks a name"):
        load_model("hf:")
    with pytest.raises(ValueError, match="unknown baseline 'psychic'"):
        load_model("baseline:psychic")
    for kind in ("tiny", "tiny-gaze"):
        with pytest.raises(ValueError, match=f"'{kind}:one': the part after ':' must be a seed"):
            load_model(f"{kind}:one")
    # options a back end does not know (device, base_url) are refused, train is used
    with pytest.raises(ValueError, match="base_url, device"):
        load_model("baseline:center", train=train, device="cuda", base_url="http://x")
    assert load_model("baseline:center", train=train).name == "baseline:center"


def test_unknown_model_options_are_refused_not_dropped():
    import pytest

    from vl4gaze.models import load_model

    with pytest.raises(ValueError, match=r"does not take the option.*tempreature"):
        load_model("baseline:random", tempreature=0.5)
    # the run's context goes to every back end and is ignored where unused
    assert load_model("baseline:random", seed=1) is not None
