"""score_predictions / score_run / score_one on hand-made items (no benchmark builder needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vl4gaze.schema import Prediction, QAItem
from vl4gaze.score import score_one, score_predictions, score_run


class FakeEmbedder:
    """Bag-of-words unit vectors: deterministic and instant (the real model is tested apart)."""

    def encode(self, texts):
        vocab = {}
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, hash(w) % 64 if w not in vocab else vocab[w]] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def _item(i: int, task: str, answer: str, target: dict, w: int = 640, h: int = 480) -> QAItem:
    return QAItem(id=f"{task}-{i}", task=task, image=f"images/{i}.png", width=w, height=h,
                  source="gazeworld", split="test", question="q?", answer=answer,
                  target=target, person_ref="box", template_id=f"{task}/00",
                  sample_id=f"s{i}")


def make_items() -> list[QAItem]:
    items = []
    for i, (x, y) in enumerate([(0.512, 0.337), (0.1, 0.9), (0.77, 0.25), (0.3, 0.6)]):
        items.append(_item(i, "point", f"({x:.3f}, {y:.3f})",
                           {"points": [[x - 0.01, y], [x + 0.01, y]], "mean": [x, y],
                            "eye": [0.5, 0.5], "format": "norm"}))
    items.append(_item(9, "point", "(229, 151)",
                       {"points": [[229 / 640, 151 / 480]], "mean": [229 / 640, 151 / 480],
                        "eye": [0.5, 0.5], "format": "pixel"}))
    items.append(_item(10, "point", "(512, 337)",
                       {"points": [[0.512, 0.337]], "mean": [0.512, 0.337],
                        "eye": [0.5, 0.5], "format": "norm1000"}))
    for i, (d, a) in enumerate([("upper left", 131.2), ("down", 268.0), ("right", 5.0)]):
        items.append(_item(i, "direction", d, {"direction": d, "angle_deg": a,
                                               "eye": [0.5, 0.5], "gaze": [0.2, 0.2]}))
    for i, (label, desc) in enumerate([("mug", "a red mug"), ("laptop", "an open laptop"),
                                       ("dog", "a brown dog on the floor")]):
        items.append(_item(i, "object", desc, {"label": label, "description": desc,
                                               "box": None, "synonyms": []}))
    amb = [(True, "gaze_out_of_frame",
            "It cannot be answered: the person is looking at something outside the image."),
           (True, "unspecified_person", "It cannot be answered: there are several people in "
            "the image and the question does not say which one is meant."),
           (True, "person_absent", "It cannot be answered: there is no person in the red box."),
           (False, None, "upper left"), (False, None, "(0.412, 0.300)")]
    for i, (ambiguous, reason, answer) in enumerate(amb):
        items.append(_item(i, "ambiguity", answer, {"ambiguous": ambiguous, "reason": reason}))
    return items


def oracle(items):
    return [Prediction(item_id=it.id, model="oracle", prompt_config="p", raw=it.answer)
            for it in items]


def test_oracle_scores_perfectly() -> None:
    items = make_items()
    scores, rows = score_predictions(items, oracle(items), embedder=FakeEmbedder(), n_boot=200)
    t = scores["tasks"]
    assert scores["parse_rate"] == 1.0 and scores["n_items"] == len(items)
    assert t["point"]["metrics"]["acc@0.1"]["value"] == 1.0
    assert t["point"]["metrics"]["avg_l2"]["value"] < 1e-3
    assert t["direction"]["metrics"]["accuracy"]["value"] == 1.0
    # |135 - 131.2|, |270 - 268|, |0 - 5|: the class centre against the true angle
    assert t["direction"]["metrics"]["angular_error"]["value"] == pytest.approx((3.8 + 2 + 5) / 3)
    assert t["object"]["metrics"]["label_match"]["value"] == 1.0
    assert t["object"]["metrics"]["embedding_similarity"]["value"] == pytest.approx(1.0)
    assert t["object"]["metrics"]["rouge_l"]["value"] == pytest.approx(1.0)
    assert t["ambiguity"]["metrics"]["f1"]["value"] == 1.0
    assert t["ambiguity"]["per_reason"]["person_absent"]["reason_accuracy"] == 1.0
    assert scores["overall"]["metrics"]["mean_headline"]["value"] == 1.0
    assert {r["task"] for r in rows} == {"point", "direction", "object", "ambiguity"}
    pix = next(r for r in rows if r["item_id"] == "point-9")
    assert pix["rule"] == "tuple:pixel:asked" and pix["correct"]


def test_errors_and_garbage_count_as_unparsed() -> None:
    items = [it for it in make_items() if it.task == "point"]
    preds = [Prediction(item_id=it.id, model="m", prompt_config="p", raw="no idea")
             for it in items[:2]]
    preds += [Prediction(item_id=it.id, model="m", prompt_config="p", raw=it.answer,
                         error="timeout") for it in items[2:4]]
    preds += [Prediction(item_id=it.id, model="m", prompt_config="p", raw=it.answer)
              for it in items[4:]]
    scores, rows = score_predictions(items, preds, n_boot=100)
    p = scores["tasks"]["point"]
    assert p["parse_rate"] == pytest.approx(2 / 6) and p["n_errors"] == 2
    assert p["metrics"]["acc@0.1"]["value"] == pytest.approx(2 / 6)
    assert p["metrics"]["avg_l2"]["n"] == 2
    assert sum(r["error"] is not None for r in rows) == 2


def test_bootstrap_is_seeded_and_brackets_the_value() -> None:
    items = [it for it in make_items() if it.task == "direction"]
    preds = [Prediction(item_id=it.id, model="m", prompt_config="p", raw=raw)
             for it, raw in zip(items, ["upper left", "left", "to the lower right"],
                                strict=True)]
    a, _ = score_predictions(items, preds, seed=3, n_boot=300)
    adj = a["tasks"]["direction"]["metrics"]["adjacent_accuracy"]["value"]
    assert adj == pytest.approx(2 / 3)  # left is 2 sectors from down; lower right 1 from right
    conf = np.array(a["tasks"]["direction"]["confusion"]["matrix"])
    assert conf.sum() == 3 and conf.shape == (8, 9)
    items = [_item(i, "direction", "up", {"direction": "up", "angle_deg": 90.0})
             for i in range(40)]
    preds = [Prediction(item_id=it.id, model="m", prompt_config="p",
                        raw="up" if i % 3 else "down") for i, it in enumerate(items)]
    a, _ = score_predictions(items, preds, seed=3, n_boot=300)
    b, _ = score_predictions(items, preds, seed=3, n_boot=300)
    c, _ = score_predictions(items, preds, seed=4, n_boot=300)
    acc = a["tasks"]["direction"]["metrics"]["accuracy"]
    assert acc == b["tasks"]["direction"]["metrics"]["accuracy"]
    assert acc["ci_low"] <= acc["value"] <= acc["ci_high"]
    assert acc["ci_low"] < acc["value"] < acc["ci_high"]
    assert acc != c["tasks"]["direction"]["metrics"]["accuracy"]


def test_ambiguity_precision_recall_by_hand() -> None:
    items = [it for it in make_items() if it.task == "ambiguity"]  # 3 ambiguous, 2 not
    raws = ["I cannot tell.", "A cup.", "A cup.", "It is unclear.", "upper left"]
    preds = [Prediction(item_id=it.id, model="m", prompt_config="p", raw=r)
             for it, r in zip(items, raws, strict=True)]
    scores, _ = score_predictions(items, preds, n_boot=50)
    m = scores["tasks"]["ambiguity"]["metrics"]
    # TP=1, FN=2, FP=1, TN=1
    assert m["precision"]["value"] == pytest.approx(0.5)
    assert m["recall"]["value"] == pytest.approx(1 / 3)
    assert m["f1"]["value"] == pytest.approx(2 / (2 + 1 + 2))
    assert m["accuracy"]["value"] == pytest.approx(2 / 5)


def test_heatmap_predictions_get_auc() -> None:
    item = make_items()[0]
    hm = np.zeros((64, 64))
    hm[int(0.337 * 64), int(0.512 * 64)] = 1.0
    pred = Prediction(item_id=item.id, model="m", prompt_config="p", raw="",
                      heatmap=hm.tolist())
    scores, rows = score_predictions([item], [pred], n_boot=20)
    assert rows[0]["rule"] == "heatmap"
    assert scores["tasks"]["point"]["metrics"]["auc"]["value"] > 0.9


def test_score_one_for_lmms_eval() -> None:
    items = {it.id: it for it in make_items()}
    out = score_one(items["point-0"], "The gaze point is (0.5, 0.35).")
    assert out["parsed"] is True and out["acc@0.1"] == 1.0 and out["avg_l2"] < 0.02
    out = score_one(items["direction-1"], "Looking down at the floor.")
    assert out["accuracy"] == 1.0
    out = score_one(items["object-0"], "a red mug", embedder=FakeEmbedder())
    assert out["label_match"] == 1.0 and out["embedding_similarity"] == pytest.approx(1.0)
    assert out["cider"] is None
    out = score_one(items["ambiguity-0"], "It is out of frame.")
    assert out["accuracy"] is True and out["declines"] is True


def test_unknown_prediction_is_an_error() -> None:
    with pytest.raises(ValueError, match="item_id='nope'"):
        score_predictions(make_items(), [Prediction(item_id="nope", model="m",
                                                    prompt_config="p", raw="x")])


def test_score_run_writes_files(tmp_path: Path) -> None:
    items = make_items()
    bench = tmp_path / "bench"
    (bench / "data").mkdir(parents=True)
    rows = []
    for it in items:
        row = it.to_dict()
        row["target"] = json.dumps(row["target"])
        rows.append(row)
    pq.write_table(pa.Table.from_pylist(rows), bench / "data" / "test.parquet")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "bench": str(bench), "model": "baseline:oracle", "shots": 0, "tasks": None,
        "limit": None, "prompt_config": "p", "point_convention": "auto", "seed": 0}))
    (run / "predictions.jsonl").write_text("".join(p.to_json() + "\n" for p in oracle(items)))
    scores = score_run(run, n_boot=50, embedder=FakeEmbedder())
    on_disk = json.loads((run / "scores.json").read_text())
    assert on_disk["model"] == "baseline:oracle" and on_disk["n_items"] == len(items)
    assert scores["tasks"]["point"]["metrics"]["acc@0.1"]["value"] == 1.0
    table = pq.read_table(run / "items.parquet")
    assert table.num_rows == len(items)
    assert table.column_names == ["item_id", "task", "raw", "parsed", "rule", "correct",
                                  "score", "error"]
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        score_run(tmp_path / "missing")


def test_cli_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vl4gaze import cli
    from vl4gaze.metrics import description

    items = [it for it in make_items() if it.task != "object"]
    bench = tmp_path / "bench"
    (bench / "data").mkdir(parents=True)
    rows = [{**it.to_dict(), "target": json.dumps(it.target)} for it in items]
    pq.write_table(pa.Table.from_pylist(rows), bench / "data" / "test.parquet")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"bench": str(bench), "model": "m",
                                                 "point_convention": "auto", "seed": 1}))
    (run / "predictions.jsonl").write_text("".join(p.to_json() + "\n" for p in oracle(items)))
    monkeypatch.setattr(description, "default_embedder", FakeEmbedder)
    result = CliRunner().invoke(cli.app, ["score", str(run), "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert "acc@0.1" in result.output and (run / "items.parquet").exists()
    bad = CliRunner().invoke(cli.app, ["score", str(tmp_path / "nope")])
    assert bad.exit_code == 1 and "config.json" in bad.output


def _source_item(i: int, source: str, gts: list[list[float]], w: int = 640, h: int = 480
                 ) -> QAItem:
    mean = [sum(p[0] for p in gts) / len(gts), sum(p[1] for p in gts) / len(gts)]
    return QAItem(id=f"{source}-{i}", task="point", image=f"images/{i}.png", width=w,
                  height=h, source=source, split="test", question="q?",
                  answer=f"({mean[0]:.3f}, {mean[1]:.3f})",
                  target={"points": gts, "mean": mean, "eye": [0.5, 0.5], "format": "norm"},
                  person_ref="box", template_id="point/00", sample_id=f"s{i}")


def _blob(x: float, y: float, sigma: float = 6.0) -> np.ndarray:
    yy, xx = np.mgrid[0:64, 0:64]
    return np.exp(-((xx - x * 64) ** 2 + (yy - y * 64) ** 2) / (2 * sigma**2))


def test_heatmap_auc_follows_the_items_source() -> None:
    """VAT and ChildPlay items get the 64x64-square AUC, GOO the 5x5 one, GazeFollow the
    image-size one (every item got GazeFollow's before); scores.json says which."""
    from vl4gaze.metrics import point as pm

    items = [_source_item(0, "vat", [[0.3, 0.6]]), _source_item(1, "childplay", [[0.7, 0.2]]),
             _source_item(2, "gazefollow", [[0.41, 0.52], [0.45, 0.5]]),
             _source_item(3, "goo", [[0.8, 0.8]])]
    maps = [_blob(0.32, 0.58), _blob(0.6, 0.3), _blob(0.43, 0.5), _blob(0.5, 0.5)]
    preds = [Prediction(item_id=it.id, model="m", prompt_config="p", raw="",
                        heatmap=hm.tolist()) for it, hm in zip(items, maps, strict=True)]
    scores, _ = score_predictions(items, preds, n_boot=20)
    block = scores["tasks"]["point"]
    want = {"vat": pm.vat_auc(maps[0], (0.3, 0.6)), "childplay": pm.vat_auc(maps[1], (0.7, 0.2)),
            "gazefollow": pm.gazefollow_auc(maps[2], [(0.41, 0.52), (0.45, 0.5)], 640, 480),
            "goo": pm.goo_auc(maps[3], [(0.8, 0.8)])}
    assert want["vat"] != pytest.approx(pm.gazefollow_auc(maps[0], [(0.3, 0.6)], 640, 480))
    assert block["metrics"]["auc"]["value"] == pytest.approx(np.mean(list(want.values())))
    assert block["metrics"]["auc:vat"]["value"] == pytest.approx(
        (want["vat"] + want["childplay"]) / 2)
    assert block["metrics"]["auc:gazefollow"]["value"] == pytest.approx(want["gazefollow"])
    assert block["metrics"]["auc:goo"]["value"] == pytest.approx(want["goo"])
    assert block["auc_definition"]["by_source"] == {
        "childplay": "vat", "gazefollow": "gazefollow", "goo": "goo", "vat": "vat"}
    assert set(block["auc_definition"]["definitions"]) == {"gazefollow", "goo", "vat"}
    one, _ = score_predictions(items[:1], preds[:1], n_boot=20)
    assert one["tasks"]["point"]["metrics"]["auc"]["value"] == pytest.approx(want["vat"])
    assert "auc:vat" not in one["tasks"]["point"]["metrics"]  # one definition: auc says it


def test_angular_error_of_a_prediction_on_the_eye_counts() -> None:
    """A point on the eye scores 90 degrees (the reference's value) and stays in the mean."""
    items = [_source_item(0, "gazefollow", [[0.9, 0.5]]),
             _source_item(1, "gazefollow", [[0.5, 0.1]])]
    preds = [Prediction(item_id=items[0].id, model="m", prompt_config="p", raw="(0.8, 0.5)"),
             Prediction(item_id=items[1].id, model="m", prompt_config="p", raw="(0.5, 0.5)")]
    scores, _ = score_predictions(items, preds, n_boot=20)
    metric = scores["tasks"]["point"]["metrics"]["angular_error"]
    assert metric["n"] == 2 and metric["value"] == pytest.approx(45.0)
    assert score_one(items[1], "(0.5, 0.5)")["angular_error"] == 90.0


def test_pixel_points_keep_their_pixel_through_a_built_benchmark(tmp_path) -> None:
    """Targets keep the source's float: the AUC pixel int(x * W) of a pixel-annotated
    point (VAT, ChildPlay, GOO) is the reference's (6-decimal rounding moved it for 25 %
    of the x positions of a 640-wide image, e.g. 1 px -> 0)."""
    from PIL import Image

    from vl4gaze.build import build_from_samples, load_benchmark
    from vl4gaze.schema import Box, GazeSample, InOut, Person, Point

    image = tmp_path / "frame.jpg"
    Image.new("RGB", (640, 480)).save(image)
    xs = [1, 3, 37, 123, 301, 445, 517, 639]
    samples = [GazeSample(image=str(image), width=640, height=480, source="vat",
                          source_id=f"f#{x}", split="test",
                          person=Person(Box(0.1, 0.1, 0.2, 0.2)),
                          gaze=(Point(x / 640, (479 - x % 480) / 480),), inout=InOut.IN)
               for x in xs]
    build_from_samples(samples, tmp_path / "bench", progress=False, images="none")
    got = {}
    for it in load_benchmark(tmp_path / "bench", "test"):
        if it.task == "point":
            gx, gy = it.target["points"][0]
            got[int(gx * it.width)] = int(gy * it.height)
            assert it.target["mean"] == [gx, gy]
    assert got == {x: 479 - x % 480 for x in xs}
    card = (tmp_path / "bench" / "README.md").read_text()
    line = next(ln for ln in card.splitlines() if ln.startswith("- point metrics"))
    assert "vat -> vat" in line and "64x64 map" in line and "gazefollow ->" not in line


def test_headlines_give_a_constant_answer_chance_only():
    """One headline per task, over all items, that a constant answer cannot win: "down"
    to every direction item is right 3 times in 4 (accuracy 0.75) but scores 1/3 balanced
    accuracy over the three classes; "cannot be answered" to every ambiguity item has
    F1 0.67 but balanced accuracy 0.5; an unparsed point is a miss in acc@0.1."""
    from vl4gaze.tasks.registry import headlines

    HEADLINE = headlines()

    items = [_item(i, "direction", d, {"direction": d, "angle_deg": a})
             for i, (d, a) in enumerate([("down", 270.0)] * 6 + [("up", 90.0), ("left", 180.0)])]
    items += [_item(i, "ambiguity", "x", {"ambiguous": i % 2 == 0, "reason": None})
              for i in range(6)]
    items += [_item(i, "point", "(0.5, 0.5)", {"points": [[0.5, 0.5]], "mean": [0.5, 0.5],
                                               "format": "norm"}) for i in range(4)]
    answers = {"direction": "down", "ambiguity": "This cannot be answered from the image."}
    preds = [Prediction(it.id, "const", "p", answers.get(str(it.task), "(0.5, 0.5)")
                        if not (it.task == "point" and it.sample_id == "s0") else "nowhere")
             for it in items]
    scores, _ = score_predictions(items, preds, n_boot=200)
    d, a, p = (scores["tasks"][t]["metrics"] for t in ("direction", "ambiguity", "point"))
    assert d["accuracy"]["value"] == 0.75
    assert d[HEADLINE["direction"]]["value"] == pytest.approx(1 / 3)
    assert a["f1"]["value"] == pytest.approx(2 / 3)
    assert a[HEADLINE["ambiguity"]]["value"] == 0.5
    assert p[HEADLINE["point"]]["value"] == 0.75  # the unparsed answer counts as a miss
    assert p["avg_l2"]["n"] == 3  # distances stay over parsed answers
    lo, hi = d["balanced_accuracy"]["ci_low"], d["balanced_accuracy"]["ci_high"]
    assert lo <= 1 / 3 <= hi
    assert scores["overall"]["headline"] == {t: HEADLINE[t] for t in ("direction", "point",
                                                                       "ambiguity")}


@pytest.fixture(scope="module")
def gazeworld_benches(tmp_path_factory):
    """Tiny GazeWorld benchmarks, one per point format (the builder's canonical answers)."""
    from vl4gaze.build import build_benchmark

    synthesize = pytest.importorskip("vl4gaze.sources.gazeworld").synthesize
    root = tmp_path_factory.mktemp("gw")
    synthesize(root / "scenes", 8, seed=3, size=160, progress=False)
    benches = {}
    for fmt in ("norm", "norm1000", "pixel"):
        build_benchmark([f"gazeworld:{root / 'scenes'}"], root / fmt, point_format=fmt,
                        progress=False)
        benches[fmt] = root / fmt
    return benches


@pytest.mark.parametrize("fmt", ["norm", "norm1000", "pixel"])
@pytest.mark.parametrize("model", ["hf:Qwen/Qwen2.5-VL-7B-Instruct", "vllm:Qwen/Qwen3-VL-8B",
                                   "hf:OpenGVLab/InternVL2_5-8B", "hf:allenai/Molmo-7B-D-0924"])
def test_known_model_runs_score_canonical_answers_perfectly(gazeworld_benches, tmp_path,
                                                            fmt, model) -> None:
    """Issue 15: `vl4gaze score` on a run labelled with a known model's name reads the
    canonical answers in the asked format (before: Qwen2.5-VL read (0.512, 0.337) as
    pixels, avg L2 ~0.6, acc@0.1 0)."""
    from typer.testing import CliRunner

    from vl4gaze import cli
    from vl4gaze.build import load_benchmark

    bench = gazeworld_benches[fmt]
    items = [it for it in load_benchmark(bench, "test") if it.task == "point"]
    assert items
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "bench": str(bench), "model": model, "tasks": ["point"], "limit": None,
        "point_convention": "auto", "seed": 0}))
    (run / "predictions.jsonl").write_text("".join(
        Prediction(item_id=it.id, model=model, prompt_config="p", raw=it.answer).to_json()
        + "\n" for it in items))
    result = CliRunner().invoke(cli.app, ["score", str(run), "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    scores = json.loads((run / "scores.json").read_text())
    point = scores["tasks"]["point"]
    assert point["parse_rate"] == 1.0 and point["metrics"]["acc@0.1"]["value"] == 1.0
    assert point["metrics"]["avg_l2"]["value"] < 0.01
    rules = set(pq.read_table(run / "items.parquet").column("rule").to_pylist())
    assert rules == {f"tuple:{fmt}:asked"}


def test_point_convention_of_a_run(tmp_path: Path) -> None:
    from vl4gaze.score import point_convention

    assert point_convention("hf:Qwen/Qwen2.5-VL-7B-Instruct", "auto") == "qwen2.5-vl"
    assert point_convention("hf:Qwen/Qwen2.5-VL-7B-Instruct", "norm1000") == "norm1000"
    assert point_convention("hf:llava-hf/llava-1.5-7b-hf", None) == "llava-crop"
    local = tmp_path / "my-llava-1.5-7b"
    local.mkdir()
    (local / "preprocessor_config.json").write_text(json.dumps({"do_pad": True}))
    assert point_convention(f"hf:{local}", "auto") == "llava-pad"
    with pytest.raises(ValueError, match="unknown point convention"):
        point_convention("m", "bogus")


def test_qwen25vl_pixels_follow_the_models_own_processor_resize(tmp_path):
    """A Qwen2.5-VL saved with Qwen's suggested min / max pixels sees a 1920x1080 image at
    1316x728 (the real processor's grid, checked here), not the 1932x1092 of the released
    defaults: its point_2d answers are divided by the size it saw."""
    transformers = pytest.importorskip("transformers")
    from vl4gaze.parse.conventions import qwen25vl_input_size, qwen_resize_of
    from vl4gaze.score import qwen_resize

    processor = transformers.Qwen2VLImageProcessor(min_pixels=256 * 28 * 28,
                                                   max_pixels=1280 * 28 * 28)
    model_dir = tmp_path / "Qwen2.5-VL-tiny"
    processor.save_pretrained(model_dir)
    grid = processor(images=[np.zeros((1080, 1920, 3), dtype=np.uint8)],
                     return_tensors="np")["image_grid_thw"][0]
    seen = (int(grid[2]) * 14, int(grid[1]) * 14)
    resize = qwen_resize(f"hf:{model_dir}", "qwen2.5-vl")
    assert resize == qwen_resize_of(model_dir) and resize["factor"] == 28
    assert qwen25vl_input_size(1920, 1080, **resize) == seen == (1316, 728)
    assert qwen25vl_input_size(1920, 1080) == (1932, 1092)  # the released defaults
    item = _item(0, "point", "(0.500, 0.500)", {"points": [[0.5, 0.5]], "mean": [0.5, 0.5],
                                                 "format": "norm"}, w=1920, h=1080)
    pred = [Prediction(item.id, "m", "p", '{"point_2d": [658, 364]}')]
    ours, _ = score_predictions([item], pred, convention="qwen2.5-vl", resize=resize)
    released, _ = score_predictions([item], pred, convention="qwen2.5-vl")
    assert ours["tasks"]["point"]["metrics"]["avg_l2"]["value"] == pytest.approx(0, abs=1e-9)
    assert released["tasks"]["point"]["metrics"]["avg_l2"]["value"] > 0.1
    assert ours["qwen_resize"] == resize


def test_no_object_items_no_sentence_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # the sentence model's load is most of scoring's start-up (issue 20): only object
    # answers need it
    from vl4gaze.metrics import description

    def refuse(self: object) -> None:
        raise AssertionError("the sentence model was loaded")

    monkeypatch.setattr(description.SentenceEmbedder, "_load", refuse)
    items = [it for it in make_items() if it.task != "object"]
    scores, _ = score_predictions(items, oracle(items), n_boot=20)
    assert "object" not in scores["tasks"] and scores["n_items"] == len(items)
    with pytest.raises(AssertionError, match="sentence model"):
        score_predictions(make_items(), oracle(make_items()), n_boot=20)
