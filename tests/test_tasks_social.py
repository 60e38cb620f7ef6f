"""Tests of the social tasks (mutual, shared, whom): truth rules, parsers, build, scoring."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from vl4gaze.build import build_from_samples, load_benchmark
from vl4gaze.cli import app
from vl4gaze.parse.choice import parse_whom, parse_yes_no
from vl4gaze.schema import Box, GazeSample, InOut, Person, Point, Prediction, Target
from vl4gaze.score import score_predictions
from vl4gaze.tasks import mutual, registry, shared, social, whom
from vl4gaze.tasks.context import PairContext
from vl4gaze.tasks.refs import MARKERS, Options

runner = CliRunner()
HEAD_A, HEAD_B, HEAD_C = Box(0.1, 0.1, 0.2, 0.2), Box(0.7, 0.1, 0.8, 0.2), Box(0.4, 0.7, 0.5, 0.8)


def person(i: int, head: Box) -> Person:
    return Person(head, head.center, None, i)


def sample(i: int, head: Box, gaze: tuple[float, float] | None, *, others=(),
           image: str = "/x/a.png", flags=(), inout=InOut.IN, target=Target(),
           split: str = "train") -> GazeSample:
    return GazeSample(image=image, width=100, height=100, source="toy",
                      source_id=f"{Path(image).stem}#{i}", split=split, person=person(i, head),
                      gaze=() if gaze is None else (Point(*gaze),),
                      inout=InOut.OUT if gaze is None and inout == InOut.IN else inout,
                      target=target, others=tuple(others), flags=tuple(flags))


def ctx(a: GazeSample, b: GazeSample, **opts) -> tuple[PairContext, list[str]]:
    skipped: list[str] = []
    return PairContext(a, b, Options(**opts), random.Random(0), skipped.append), skipped


# -- rules ---------------------------------------------------------------------------

@given(st.floats(0.1, 0.2), st.floats(0.1, 0.2))
def test_a_gaze_point_in_the_head_box_looks_at_that_person(x, y):
    a = sample(0, HEAD_A, (x, y))
    assert social.looks_at(a, HEAD_A) == (True, "gaze")


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_looking_at_a_head_means_lying_within_the_grown_box(x, y):
    a = sample(0, HEAD_C, (x, y))
    m = social.HEAD_MARGIN * 0.1
    inside = 0.7 - m <= x <= 0.8 + m and 0.1 - m <= y <= 0.2 + m
    assert social.looks_at(a, HEAD_B) == (inside, "gaze")


def test_out_of_frame_looks_at_nobody_and_unreadable_eyes_are_not_asked():
    assert social.looks_at(sample(0, HEAD_A, None), HEAD_B) == (False, "out_of_frame")
    closed = sample(0, HEAD_A, (0.75, 0.15), flags=("eyes_closed",))
    assert social.looks_at(closed, HEAD_B) is None


def test_a_person_target_decides_over_the_gaze_point():
    a = sample(0, HEAD_A, (0.5, 0.5), target=Target(kind="person", box=HEAD_B))
    assert social.looks_at(a, HEAD_B) == (True, "target")
    assert social.looks_at(a, HEAD_C) == (False, "target")


@given(st.tuples(st.floats(0, 1), st.floats(0, 1)), st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_same_target_is_symmetric_and_follows_the_distances(p, q):
    a, b = sample(0, HEAD_A, p), sample(1, HEAD_B, q)
    got = social.same_target(a, b)
    assert got == social.same_target(b, a)
    d = ((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5
    if d <= social.SAME_POINT - 1e-9:
        assert got == (True, "gaze_distance")
    elif d > social.DIFFERENT_POINT + 1e-9:
        assert got == (False, "gaze_distance")
    elif social.SAME_POINT + 1e-9 < d <= social.DIFFERENT_POINT - 1e-9:
        assert got is None


def test_same_target_uses_object_boxes_when_both_have_them():
    mug, cup = Box(0.4, 0.4, 0.5, 0.5), Box(0.6, 0.6, 0.7, 0.7)
    a = sample(0, HEAD_A, (0.45, 0.45), target=Target(label="mug", box=mug, kind="object"))
    b = sample(1, HEAD_B, (0.9, 0.9), target=Target(label="mug", box=mug, kind="object"))
    c = sample(2, HEAD_C, (0.46, 0.46), target=Target(label="cup", box=cup, kind="object"))
    assert social.same_target(a, b) == (True, "object")  # far apart points, same object
    assert social.same_target(a, c) == (False, "object")  # near points, other object


def test_mutual_yes_needs_both_ways():
    a, b = sample(0, HEAD_A, (0.75, 0.15)), sample(1, HEAD_B, (0.15, 0.15))
    (draft,) = mutual.make_pair(ctx(a, b)[0])
    assert draft.answer == "Yes." and draft.target["label"] == "yes"
    assert draft.target["rule"] == "each_other:gaze"
    c = sample(1, HEAD_B, (0.45, 0.75))
    (draft,) = mutual.make_pair(ctx(a, c)[0])
    assert draft.answer == "No." and draft.target["rule"] == "one_way:gaze"
    assert "red box" in draft.question and "blue box" in draft.question
    assert draft.ref.marker == HEAD_A and draft.ref.other_marker == HEAD_B


def test_whom_asks_both_ways_and_skips_a_third_person():
    a = sample(0, HEAD_A, (0.75, 0.15), others=[person(1, HEAD_B), person(2, HEAD_C)])
    b = sample(1, HEAD_B, (0.45, 0.75), others=[person(0, HEAD_A), person(2, HEAD_C)])
    c, skipped = ctx(a, b)
    drafts = list(whom.make_pair(c))
    assert [d.target["label"] for d in drafts] == ["other"]  # b looks at the third person
    assert drafts[0].answer == "The person in the blue box."
    assert skipped == ["looks_at_third_person"]


def test_whom_in_coords_mode_names_the_other_person_by_their_box():
    a, b = sample(0, HEAD_A, (0.75, 0.15)), sample(1, HEAD_B, (0.3, 0.9))
    drafts = list(whom.make_pair(ctx(a, b, person_ref="coords")[0]))
    assert drafts[0].answer.startswith("The person whose head is in the box (0.700")
    assert drafts[0].ref.marker is None
    assert drafts[1].answer == whom.NOBODY and drafts[1].target["rule"] == "elsewhere"


def test_every_social_task_has_eight_templates():
    for module in (mutual, shared, whom):
        assert len(module.TEMPLATES) >= 8
        assert len({t.text for t in module.TEMPLATES}) == len(module.TEMPLATES)


# -- parsers -------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("Yes.", "yes"), ("No.", "no"), ("yes, they are", "yes"), ("Nope", "no"),
    ("They are not looking at each other.", "no"), ("I think yes", "yes"),
    ("**No**, the red person looks away", "no"), ("They aren't.", "no")])
def test_yes_no(text, value):
    assert parse_yes_no(text).value == value


@given(st.text(max_size=300))
def test_yes_no_never_raises(text):
    got = parse_yes_no(text)
    assert got is None or got.value in ("yes", "no")


@pytest.mark.parametrize("text,value", [
    ("The person in the blue box.", "other"), ("Nobody in the image.", "nobody"),
    ("No one.", "nobody"), ("the other person", "other"),
    ("Nobody, not the person in the blue box", "nobody"),
    ("The blue one, not nobody", "other"), ("The tree.", None)])
def test_whom(text, value):
    got = parse_whom(text, "the person in the blue box")
    assert (got.value if got else None) == value


@given(st.text(max_size=300), st.text(max_size=40))
def test_whom_never_raises(text, phrase):
    got = parse_whom(text, phrase)
    assert got is None or got.value in ("other", "nobody")


# -- build ---------------------------------------------------------------------------

def _pictures(root: Path, n: int = 12) -> list[GazeSample]:
    """n two-person pictures: even ones look at each other,
    odd ones at the same spot on the floor."""
    out = []
    for k in range(n):
        path = root / f"p{k}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (100, 100), (200, 200, 200)).save(path)
        split = "test" if k % 4 < 2 else "train"
        ga, gb = ((0.75, 0.15), (0.15, 0.15)) if k % 2 == 0 else ((0.45, 0.9), (0.48, 0.9))
        people = [person(0, HEAD_A), person(1, HEAD_B)]
        out.append(sample(0, HEAD_A, ga, others=[people[1]], image=str(path), split=split))
        out.append(sample(1, HEAD_B, gb, others=[people[0]], image=str(path), split=split))
    return out


def test_build_social_is_balanced_per_split_and_draws_both_markers(tmp_path):
    manifest = build_from_samples(_pictures(tmp_path / "src"), tmp_path / "b", progress=False,
                                  tasks="social")
    assert manifest["tasks"] == ["mutual", "shared", "whom"]
    items = load_benchmark(tmp_path / "b")
    assert {it.task for it in items} == {"mutual", "shared", "whom"}
    for task in ("mutual", "shared", "whom"):
        for split in ("train", "test"):
            labels = [it.target["label"] for it in items if it.task == task
                      and it.split == split]
            assert labels and labels.count(labels[0]) * 2 == len(labels), (task, split)
    assert manifest["counts"]["mutual"] == {"no": 6, "yes": 6}
    item = next(it for it in items if it.task == "mutual")
    with Image.open(tmp_path / "b" / item.image) as image:
        red = image.getpixel((int(HEAD_A.x1 * 100) - 1, int(HEAD_A.center.y * 100)))
        blue = image.getpixel((int(HEAD_B.x2 * 100) + 1, int(HEAD_B.center.y * 100)))
    assert red == MARKERS[0].rgb and blue == MARKERS[1].rgb
    card = (tmp_path / "b" / "README.md").read_text()
    assert "mutual" in card


def test_selecting_tasks_keeps_the_other_tasks_items_unchanged(tmp_path):
    samples = _pictures(tmp_path / "src", 8)
    build_from_samples(samples, tmp_path / "all", progress=False, tasks="all")
    build_from_samples(samples, tmp_path / "point", progress=False, tasks="point,whom")
    everything = load_benchmark(tmp_path / "all")
    some = load_benchmark(tmp_path / "point")
    assert {it.task for it in some} == {"point", "whom"}
    assert sorted(it.id for it in some) == sorted(
        it.id for it in everything if it.task in ("point", "whom"))


def test_the_default_build_is_the_paper_tasks(tmp_path):
    manifest = build_from_samples(_pictures(tmp_path / "src", 4), tmp_path / "b",
                                  progress=False)
    made = set(manifest["counts"]["task"])
    assert {"direction", "point"} <= made <= set(registry.groups()["paper"])
    assert manifest["tasks"] == list(registry.groups()["paper"])


def test_cli_build_tasks_and_an_unknown_task(tmp_path):
    from vl4gaze.sources.gazeworld import synthesize

    synthesize(tmp_path / "gw", 30, seed=2, size=96, progress=False)
    ok = runner.invoke(app, ["build", f"gazeworld:{tmp_path / 'gw'}", "-o",
                             str(tmp_path / "b"), "--tasks", "paper,social"])
    assert ok.exit_code == 0, ok.output
    tasks = json.loads((tmp_path / "b" / "manifest.json").read_text())["counts"]["task"]
    assert {"object", "whom"} <= set(tasks)
    bad = runner.invoke(app, ["build", f"gazeworld:{tmp_path / 'gw'}", "-o",
                              str(tmp_path / "c"), "--tasks", "paper,gossip"])
    assert bad.exit_code != 0 and "unknown task or group 'gossip'" in bad.output
    assert "Traceback" not in bad.output


# -- scoring -------------------------------------------------------------------------

def test_oracle_is_perfect_and_unread_answers_are_wrong(tmp_path):
    build_from_samples(_pictures(tmp_path / "src"), tmp_path / "b", progress=False,
                       tasks="social")
    items = load_benchmark(tmp_path / "b")
    oracle = [Prediction(it.id, "oracle", "p", it.answer) for it in items]
    summary, _ = score_predictions(items, oracle, n_boot=20)
    for task in ("mutual", "shared", "whom"):
        metrics = summary["tasks"][task]["metrics"]
        assert metrics["balanced_accuracy"]["value"] == 1.0
        assert metrics["f1"]["value"] == 1.0
        assert summary["tasks"][task]["per_source"]["toy"]["accuracy"] == 1.0
    junk = [Prediction(it.id, "junk", "p", "the weather is nice") for it in items]
    summary, _ = score_predictions(items, junk, n_boot=20)
    assert all(summary["tasks"][t]["metrics"]["accuracy"]["value"] == 0.0
               for t in ("mutual", "shared", "whom"))
    assert all(summary["tasks"][t]["parse_rate"] == 0.0 for t in ("mutual", "shared", "whom"))
    refusing = [Prediction(it.id, "r", "p", "It cannot be determined.") for it in items]
    summary, _ = score_predictions(items, refusing, n_boot=20)
    assert summary["tasks"]["mutual"]["metrics"]["decline_rate"]["value"] == 1.0


def test_social_items_go_to_parquet_with_json_targets(tmp_path):
    build_from_samples(_pictures(tmp_path / "src", 4), tmp_path / "b", progress=False,
                       tasks="mutual")
    table = pq.read_table(tmp_path / "b" / "data" / "train.parquet")
    target = json.loads(table["target"][0].as_py())
    assert set(target) >= {"label", "rule", "heads", "gazes"}


def test_each_social_target_type_has_exactly_the_fields_its_builder_writes(tmp_path):
    """The typed target (``TaskSpec.target_type``) reads every key the builder writes, and
    nothing else: the scorer, baselines and overlays read the fields from it."""
    build_from_samples(_pictures(tmp_path / "src"), tmp_path / "b", progress=False,
                       tasks="social")
    items = load_benchmark(tmp_path / "b")
    for task in ("mutual", "shared", "whom"):
        kind = registry.get(task).target_type
        assert issubclass(kind, social.PairTarget)
        mine = [it for it in items if it.task == task]
        assert mine and all(set(it.target) == {f.name for f in dataclasses.fields(kind)}
                            for it in mine), task
        for it in mine:
            t = registry.target_of(it)
            assert isinstance(t, kind) and t.label in kind.LABELS
            assert it.answer == t.answer_of(t.label)  # the builder's canonical answer
            assert [list(h) for h in t.heads] == it.target["heads"]


def test_one_person_listed_twice_is_no_pair(tmp_path):
    # GazeFollow train can list one person on two rows (same head box, other index).
    path = tmp_path / "src" / "twice.png"
    path.parent.mkdir(parents=True)
    Image.new("RGB", (100, 100)).save(path)
    a = sample(0, HEAD_A, (0.75, 0.15), others=[person(1, HEAD_A)], image=str(path))
    b = sample(1, HEAD_A, (0.75, 0.16), others=[person(0, HEAD_A)], image=str(path))
    manifest = build_from_samples([a, b], tmp_path / "b", progress=False, tasks="social",
                                  allow_empty=True)
    assert manifest["counts"]["total"] == 0
    assert not any(k.startswith(("mutual:", "whom:")) for k in manifest["skipped"])
