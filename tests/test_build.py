"""Tests of vl4gaze.build: items from samples, splits, balance, Parquet, card, manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image

from vl4gaze.build import build_from_samples, load_benchmark, read_card_counts, render_images
from vl4gaze.schema import Box, GazeSample, InOut, Person, Point, QAItem, Target


def _image(path: Path, size: tuple[int, int] = (160, 120)) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 140, 200)).save(path)
    return str(path)


def scene_samples(root: Path) -> list[GazeSample]:
    """A handful of images covering every rule: several people, out of frame, eyes closed,
    object targets and descriptions, three source splits."""
    a, b = _image(root / "a.jpg"), _image(root / "b.png", (200, 100))
    c, d, e = _image(root / "c.jpg"), _image(root / "d.jpg"), _image(root / "e.jpg")
    p0 = Person(Box(0.1, 0.1, 0.2, 0.25), Point(0.15, 0.18), "a man in a red shirt", 0)
    p1 = Person(Box(0.7, 0.1, 0.8, 0.25), Point(0.75, 0.18), "a woman with a hat", 1)
    mug = Target(label="mug", description="a white mug", box=Box(0.4, 0.6, 0.5, 0.7),
                 kind="object", rule="source")
    common = {"width": 160, "height": 120, "source": "toy"}
    return [
        GazeSample(image=a, source_id="a#0", split="train", person=p0,
                   gaze=(Point(0.45, 0.65),), inout=InOut.IN, target=mug, others=(p1,),
                   **common),
        GazeSample(image=a, source_id="a#1", split="train", person=p1, inout=InOut.OUT,
                   others=(p0,), **common),
        GazeSample(image=b, width=200, height=100, source="toy", source_id="b#0",
                   split="train", person=Person(Box(0.5, 0.1, 0.6, 0.3), Point(0.55, 0.2)),
                   gaze=(Point(0.2, 0.2),), inout=InOut.IN),
        GazeSample(image=c, source_id="c#0", split="test",
                   person=Person(Box(0.4, 0.1, 0.5, 0.2), Point(0.45, 0.15)),
                   gaze=(Point(0.9, 0.9),), inout=InOut.IN, flags=("eyes_closed",), **common),
        GazeSample(image=d, source_id="d#0", split="test",
                   person=Person(Box(0.3, 0.3, 0.4, 0.45), Point(0.35, 0.4), "a child"),
                   gaze=(Point(0.8, 0.1), Point(0.82, 0.12), Point(0.78, 0.14)), inout=InOut.IN,
                   target=Target(label="kite"), **common),
        GazeSample(image=e, source_id="e#0", split="val",
                   person=Person(Box(0.6, 0.5, 0.7, 0.65), Point(0.65, 0.6)),
                   gaze=(Point(0.1, 0.9),), inout=InOut.IN, **common),
    ]



@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("build")
    build_from_samples(scene_samples(root / "src"), root / "bench", progress=False,
                       absent_rate=1.0)
    return root / "bench"


def test_layout_and_manifest(bench):
    names = {p.name for p in bench.iterdir()}
    assert {"data", "images", "README.md", "manifest.json"} <= names
    manifest = json.loads((bench / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["person_ref"] == "box"
    assert manifest["point_format"] == "norm" and manifest["splits"] == ["test", "train"]
    assert len(manifest["content_hash"]) == 64
    assert manifest["skipped"]["object:no_object_target"] >= 1


def test_items_load_and_images_exist(bench):
    items = load_benchmark(bench)
    assert items and all(isinstance(i, QAItem) for i in items)
    for item in items:
        assert not Path(item.image).is_absolute() and (bench / item.image).is_file()
    assert {i.task for i in items} == {"object", "direction", "point", "ambiguity"}
    assert [i.id for i in load_benchmark(bench, "test")] == sorted(
        i.id for i in items if i.split == "test")
    with pytest.raises(FileNotFoundError, match="no split 'dev'"):
        load_benchmark(bench, "dev")


def test_every_answer_agrees_with_its_target(bench):
    for item in load_benchmark(bench):
        t = item.target
        if item.task == "direction":
            assert item.answer == t["direction"]
        elif item.task == "point":
            assert item.answer == "({:.3f}, {:.3f})".format(*t["mean"])
        elif item.task == "object":
            assert item.answer == t["description"]
        elif t["ambiguous"]:
            assert item.answer.startswith("It cannot be answered: ") and t["reason"]
        else:
            assert not item.answer.startswith("It cannot") and t["reason"] is None


def test_splits_by_image_with_val_in_train(bench):
    items = load_benchmark(bench)
    by_sample = {i.sample_id: i.split for i in items}
    assert by_sample["toy:e#0"] == "train"  # source val -> train
    assert by_sample["toy:d#0"] == "test"
    base_split: dict[str, set[str]] = {}
    for i in items:
        base_split.setdefault(i.sample_id.split("#")[0], set()).add(i.split)
    assert all(len(s) == 1 for s in base_split.values())


def test_ambiguity_reasons_and_references(bench):
    amb = [i for i in load_benchmark(bench) if i.task == "ambiguity"]
    reasons = {i.target["reason"] for i in amb}
    assert reasons >= {"unspecified_person", "gaze_out_of_frame", "eyes_not_visible",
                       "person_absent"}
    unspecified = [i for i in amb if i.target["reason"] == "unspecified_person"]
    assert all(i.person_ref == "none" and i.person_head is None for i in unspecified)
    assert all("/marked/" not in i.image for i in unspecified)
    absent = [i for i in amb if i.target["reason"] == "person_absent"]
    assert all(i.person_ref == "box" and "/marked/" in i.image for i in absent)


def test_marked_image_written_once_per_person(bench):
    items = load_benchmark(bench)
    per_person: dict[str, set[str]] = {}
    for i in items:
        if i.person_ref == "box" and i.target.get("reason") != "person_absent":
            per_person.setdefault(i.sample_id, set()).add(i.image)
    assert all(len(images) == 1 for images in per_person.values())
    marked = {i.image for i in items if "/marked/" in i.image}
    assert len(list((bench / "images" / "marked").rglob("*.*"))) == len(marked)


def test_marker_is_red_around_the_head(bench):
    item = next(i for i in load_benchmark(bench) if i.sample_id == "toy:d#0"
                and i.task == "point")
    with Image.open(bench / item.image) as image:
        rgb = image.convert("RGB")
        w, h = rgb.size
        head = item.person_head
        r, g, b = rgb.getpixel((round(head.x1 * w) - 1, round((head.y1 + head.y2) / 2 * h)))
        assert r > 150 and g < 100 and b < 100  # red (JPEG blurs it a little)
        r, g, b = rgb.getpixel((round(head.center.x * w), round(head.center.y * h)))
        assert b > 150  # the inside is the untouched picture


def test_card_counts_match_the_parquet(bench):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_dir=str(bench / "data"))
    assert set(ds) == {"train", "test"}
    card = read_card_counts((bench / "README.md").read_text())
    rows = [r for split in ds.values() for r in split]
    assert card["split"] == {s: ds[s].num_rows for s in ds}
    tasks: dict[str, int] = {}
    reasons: dict[str, int] = {}
    directions: dict[str, int] = {}
    for r in rows:
        tasks[r["task"]] = tasks.get(r["task"], 0) + 1
        t = json.loads(r["target"])
        if r["task"] == "ambiguity":
            key = t["reason"] or "answerable"
            reasons[key] = reasons.get(key, 0) + 1
        if r["task"] == "direction":
            directions[t["direction"]] = directions.get(t["direction"], 0) + 1
    assert card["task"] == tasks and card["reason"] == reasons
    assert card["direction"] == directions and card["source"] == {"toy": len(rows)}


def test_rebuild_is_byte_identical_and_seed_matters(tmp_path):
    samples = scene_samples(tmp_path / "src")
    build_from_samples(samples, tmp_path / "a", progress=False, images="none")
    build_from_samples(list(reversed(samples)), tmp_path / "b", progress=False, images="none")
    build_from_samples(samples, tmp_path / "c", seed=1, progress=False, images="none")
    for name in ("train.parquet", "test.parquet"):
        a = (tmp_path / "a" / "data" / name).read_bytes()
        assert a == (tmp_path / "b" / "data" / name).read_bytes()
    assert (tmp_path / "a" / "manifest.json").read_text() == \
        (tmp_path / "b" / "manifest.json").read_text()
    meta = pq.read_metadata(tmp_path / "a" / "data" / "train.parquet").metadata or {}
    assert not any(b"time" in k.lower() for k in meta)
    qa = {i.sample_id + i.task: i.template_id for i in load_benchmark(tmp_path / "a")}
    qc = {i.sample_id + i.task: i.template_id for i in load_benchmark(tmp_path / "c")}
    assert qa != qc


def test_images_none_then_render(tmp_path):
    samples = scene_samples(tmp_path / "src")
    manifest = build_from_samples(samples, tmp_path / "b", progress=False, images="none")
    assert not (tmp_path / "b" / "images").exists()
    assert render_images(tmp_path / "b", progress=False) == manifest["images"]["planned"]
    assert all((tmp_path / "b" / i.image).is_file() for i in load_benchmark(tmp_path / "b"))
    assert render_images(tmp_path / "b", progress=False) == 0


def test_coords_text_and_pixel_options(tmp_path):
    samples = scene_samples(tmp_path / "src")
    build_from_samples(samples, tmp_path / "c", person_ref="coords", point_format="pixel",
                       progress=False, images="none")
    items = load_benchmark(tmp_path / "c")
    coords = [i for i in items if i.person_ref == "coords"]
    assert coords and all("/marked/" not in i.image for i in items)
    assert all("whose head is in the box (" in i.question for i in coords)
    pt = next(i for i in items if i.task == "point" and i.sample_id == "toy:d#0")
    assert pt.answer == "(128, 14)" and pt.target["format"] == "pixel"
    build_from_samples(samples, tmp_path / "t", person_ref="text", progress=False,
                       images="none")
    items = load_benchmark(tmp_path / "t")
    d0 = [i for i in items if i.sample_id == "toy:d#0" and i.task != "ambiguity"]
    assert all(i.person_ref == "text" and "the child" in i.question for i in d0)
    b0 = [i for i in items if i.sample_id == "toy:b#0" and i.task == "point"]
    assert all(i.person_ref == "box" for i in b0)  # no description: falls back to box


def _many(root: Path, n: int = 24) -> list[GazeSample]:
    img = _image(root / "m.jpg")
    out = []
    for k in range(n):
        ang = k / n
        out.append(GazeSample(
            image=img, width=160, height=120, source="toy", source_id=f"m{k}", split="train",
            person=Person(Box(0.45, 0.45, 0.55, 0.55), Point(0.5, 0.5)),
            gaze=(Point(0.1 + 0.8 * ang, 0.9 - 0.8 * ((k * 7) % n) / n),),
            inout=InOut.OUT if k % 3 == 0 else InOut.IN))
    return out


def test_ambiguity_ratio_caps_and_direction_balance(tmp_path):
    samples = _many(tmp_path / "src")
    build_from_samples(samples, tmp_path / "r", progress=False, images="none",
                       absent_rate=0.0)
    amb = [i for i in load_benchmark(tmp_path / "r") if i.task == "ambiguity"]
    n_amb = sum(i.target["ambiguous"] for i in amb)
    assert n_amb == 8 and len(amb) - n_amb == 8  # 50/50
    build_from_samples(samples, tmp_path / "q", progress=False, images="none",
                       absent_rate=0.0, ambiguity_ratio=0.8, caps={"point": 5},
                       balance_directions=True)
    items = load_benchmark(tmp_path / "q")
    amb = [i for i in items if i.task == "ambiguity"]
    assert sum(not i.target["ambiguous"] for i in amb) == 2  # 8 ambiguous : 2 look-alikes
    assert sum(i.task == "point" for i in items) == 5
    classes: dict[str, int] = {}
    for i in items:
        if i.task == "direction":
            classes[i.answer] = classes.get(i.answer, 0) + 1
    assert len(set(classes.values())) == 1
    with pytest.raises(ValueError, match="ambiguity_ratio"):
        build_from_samples(samples, tmp_path / "x", ambiguity_ratio=0.0, progress=False)
    with pytest.raises(ValueError, match="cap"):
        build_from_samples(samples, tmp_path / "x", caps={"pointing": 3}, progress=False)


def test_image_listed_under_two_splits_goes_to_test(tmp_path):
    samples = scene_samples(tmp_path / "src")
    a1 = samples[1]
    clash = a1.__class__(**{**a1.__dict__, "split": "test"})  # image a, person 1, now "test"
    build_from_samples([samples[0], clash, *samples[2:]], tmp_path / "b", progress=False,
                       images="none")
    items = load_benchmark(tmp_path / "b")
    assert {i.split for i in items if i.sample_id in ("toy:a#0", "toy:a#1")} == {"test"}
    assert {i.split for i in items if i.sample_id == "toy:b#0"} == {"train"}


def test_card_reports_where_targets_came_from(bench):
    manifest = json.loads((bench / "manifest.json").read_text())
    # scene_samples: one target from the source, one with a label but no rule, four none
    assert manifest["target_rules"] == {"none": 5, "source": 1}
    card = (bench / "README.md").read_text()
    assert "## Gazed-object labels by rule" in card
    assert "| source | 1 |" in card and "| none | 5 |" in card


def _files(bench: Path) -> dict[str, bytes]:
    return {str(p.relative_to(bench)): p.read_bytes() for p in sorted(bench.rglob("*"))
            if p.is_file()}


def test_shared_build_gives_the_bytes_of_one_pass(tmp_path, monkeypatch):
    """Shares built in forked processes merge into exactly the one-pass benchmark: the
    descriptions window crosses share borders, pictures' people are paired across them,
    and an image listed under two splits in two shares still goes to test."""
    import vl4gaze.build as build

    samples = scene_samples(tmp_path / "src")
    entries = [(s.__class__(**{**s.__dict__, "source_id": f"{copy}/{s.source_id}"}),
                f"copy{copy}/{Path(s.image).name}") for copy in range(4) for s in samples]
    # Each picture a's second person last: its pairs are made of people of two shares.
    entries.sort(key=lambda e: e[0].source_id.endswith("a#1"))
    # Picture b of the second copy (first share) listed again under test (last share).
    clash = samples[2].__class__(**{**samples[2].__dict__, "split": "test",
                                    "source_id": "clash"})
    entries.append((clash, "copy1/b.png"))
    options = {"progress": False, "images": "none", "absent_rate": 1.0, "tasks": "all"}
    build_from_samples(entries, tmp_path / "one", workers=1, **options)
    monkeypatch.setattr(build, "PARALLEL_MIN_SAMPLES", 1)
    # The shares do not use torch, so they may fork even where pytest has imported it.
    monkeypatch.setattr(build, "can_fork", lambda: True)
    merge, merged = build._Builder._merge, []
    monkeypatch.setattr(build._Builder, "_merge",
                        lambda self, *args: (merged.append(1), merge(self, *args))[1])
    build_from_samples(iter(entries), tmp_path / "three", workers=3, **options)
    assert len(merged) == 2  # two forked shares beside the first
    one, three = _files(tmp_path / "one"), _files(tmp_path / "three")
    assert one == three
    items = load_benchmark(tmp_path / "one")
    assert {i.split for i in items if i.sample_id in ("toy:1/b#0", "toy:clash")} == {"test"}
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest["skipped"]["mutual:unbalanced"] == 4  # one pair per copy
