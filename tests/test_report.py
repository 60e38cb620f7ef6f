"""Report: tables, plots and gallery HTML from fixture runs written per docs/CONTRACTS.md."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw

from vl4gaze.report import ReportConfig, RunError, load_runs, plots, write_report
from vl4gaze.report.plots import accuracy_by, confusion
from vl4gaze.report.runs import short_model_name
from vl4gaze.report.tables import main_table_latex, main_table_markdown
from vl4gaze.schema import Box, QAItem
from vl4gaze.tasks import registry

EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


def _image(path: Path, head: tuple[float, float], obj: tuple[float, float], color: str) -> None:
    """A small scene: a head (circle) and an object (square) at normalized positions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = 320, 240
    img = Image.new("RGB", (w, h), "#d9cdb8")
    draw = ImageDraw.Draw(img)
    hx, hy = head[0] * w, head[1] * h
    draw.ellipse([hx - 15, hy - 15, hx + 15, hy + 15], fill="#e0ac69", outline="black")
    ox, oy = obj[0] * w, obj[1] * h
    draw.rectangle([ox - 14, oy - 14, ox + 14, oy + 14], fill=color, outline="black")
    img.save(path)


def _item(i: int, task: str, target: dict, answer: str, head=(0.25, 0.3)) -> QAItem:
    hb = Box(head[0] - 0.05, head[1] - 0.06, head[0] + 0.05, head[1] + 0.06)
    return QAItem(id=f"{task[:3]}{i:03d}", task=task, image=f"images/s{i % 3}.png", width=320,
                  height=240, source="gazeworld", split="test",
                  question=f"Question {i} about {task}?", answer=answer, target=target,
                  person_ref="box", template_id=f"{task}-0", sample_id=f"s{i}",
                  person_head=hb)


def make_bench(root: Path) -> list[QAItem]:
    """Three images and items of all four tasks (two per task, ambiguity four)."""
    bench = root / "bench"
    for i, color in enumerate(["red", "blue", "green"]):
        _image(bench / f"images/s{i}.png", (0.25, 0.3), (0.7, 0.7), color)
    eye = [0.25, 0.3]
    items = [
        _item(0, "point", {"points": [[0.7, 0.7], [0.68, 0.72]], "mean": [0.69, 0.71],
                           "eye": eye, "format": "norm"}, "(0.690, 0.710)"),
        _item(1, "point", {"points": [[0.7, 0.7]], "mean": [0.7, 0.7], "eye": eye,
                           "format": "norm"}, "(0.700, 0.700)"),
        _item(2, "direction", {"direction": "lower right", "angle_deg": 320.0, "eye": eye,
                               "gaze": [0.7, 0.7]}, "lower right"),
        _item(3, "direction", {"direction": "lower right", "angle_deg": 318.0, "eye": eye,
                               "gaze": [0.7, 0.7]}, "lower right"),
        _item(4, "object", {"label": "mug", "description": "a red mug",
                            "box": [0.65, 0.64, 0.75, 0.76], "synonyms": ["cup"]}, "a red mug"),
        _item(5, "object", {"label": "book", "description": "a blue book",
                            "box": [0.65, 0.64, 0.75, 0.76], "synonyms": []}, "a blue book"),
        _item(6, "ambiguity", {"ambiguous": True, "reason": "gaze_out_of_frame"},
              "It cannot be answered: the person looks outside the picture."),
        _item(7, "ambiguity", {"ambiguous": True, "reason": "unspecified_person"},
              "It cannot be answered: there are several people."),
        _item(8, "ambiguity", {"ambiguous": False, "reason": None}, "a red mug"),
        _item(9, "ambiguity", {"ambiguous": False, "reason": None}, "a blue book"),
    ]
    return items


def _metric(value: float, higher: bool, width: float = 0.05) -> dict:
    return {"value": value, "ci_low": value - width, "ci_high": value + width,
            "higher_is_better": higher}


def write_run(root: Path, name: str, model: str, shots: int, bench: Path,
              rows: list[dict], quality: float) -> Path:
    """A RUN directory: config.json, scores.json and items.parquet, as the contract says.

    Each task's ``n`` is its number of rows; a task without rows is not in scores.json."""
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({
        "bench": str(bench), "model": model, "shots": shots, "tasks": None, "limit": None,
        "prompt_config": "abc", "point_convention": "auto", "seed": 0}))
    scores = {"model": model, "bench": str(bench), "n_items": len(rows), "seed": 0, "tasks": {
        "object": {"n": 2, "parse_rate": 1.0, "metrics": {
            "label_match": _metric(quality, True), "embedding_similarity": _metric(quality, True),
            "rouge_l": _metric(quality, True), "cider": _metric(quality * 2, True)}},
        "direction": {"n": 2, "parse_rate": 1.0, "metrics": {
            "accuracy": _metric(quality, True), "adjacent_accuracy": _metric(quality, True),
            "angular_error": _metric(90 * (1 - quality), False, 5),
            "balanced_accuracy": _metric(quality, True)}},
        "point": {"n": 2, "parse_rate": 0.5 + quality / 2, "metrics": {
            "avg_l2": _metric(0.4 * (1 - quality), False), "min_l2": _metric(0.3, False),
            "acc@0.1": _metric(quality, True), "acc@0.2": _metric(quality, True),
            "angular_error": _metric(30.0, False, 3)}},
        "ambiguity": {"n": 4, "parse_rate": 1.0, "metrics": {
            "accuracy": _metric(quality, True), "precision": _metric(quality, True),
            "recall": _metric(quality, True), "f1": _metric(quality, True),
            "balanced_accuracy": _metric(quality, True)}},
    }}
    counts = {task: sum(r["task"] == task for r in rows) for task in scores["tasks"]}
    scores["tasks"] = {task: {**body, "n": counts[task]}
                       for task, body in scores["tasks"].items() if counts[task]}
    (run / "scores.json").write_text(json.dumps(scores))
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("item_id", pa.string()), ("task", pa.string()), ("raw", pa.string()),
        ("parsed", pa.string()), ("rule", pa.string()), ("correct", pa.bool_()),
        ("score", pa.float64()), ("error", pa.string())]))
    pq.write_table(table, run / "items.parquet")
    return run


def _row(item: QAItem, raw: str, parsed, correct, score) -> dict:
    return {"item_id": item.id, "task": str(item.task), "raw": raw,
            "parsed": None if parsed is None else json.dumps(parsed), "rule": "fixture",
            "correct": correct, "score": score, "error": None}


def make_runs(root: Path) -> tuple[list[Path], list[QAItem]]:
    """Three runs (oracle, a good model, a bad model whose answers try to inject HTML),
    ``parsed`` in the shapes each task's scorer writes (``TaskSpec.parsed_type``)."""
    items = make_bench(root)
    bench = root / "bench"
    oracle, good, evil = [], [], []
    for it in items:
        t = it.target
        if it.task == "point":
            oracle.append(_row(it, it.answer, t["mean"], None, 0.0))
            good.append(_row(it, "(0.6, 0.6)", [0.6, 0.6], None,
                             math.dist((0.6, 0.6), t["mean"])))
            evil.append(_row(it, EVIL, None, None, None))
        elif it.task == "direction":
            oracle.append(_row(it, it.answer, t["direction"], True, 1.0))
            good.append(_row(it, "down", "down", False, 0.0))
            evil.append(_row(it, EVIL + " left", "left", False, 0.0))
        elif it.task == "ambiguity":
            truth = {"declines": t["ambiguous"], "reason": t["reason"]}
            oracle.append(_row(it, it.answer, truth, True, 1.0))
            good.append(_row(it, it.answer, truth, True, 1.0))
            evil.append(_row(it, EVIL, {"declines": not t["ambiguous"], "reason": None},
                             False, 0.0))
        else:
            oracle.append(_row(it, it.answer, it.answer, True, 1.0))
            good.append(_row(it, it.answer, it.answer, True, 1.0))
            evil.append(_row(it, EVIL, EVIL, False, 0.0))
    paths = [write_run(root / "runs", "oracle", "baseline:oracle", 0, bench, oracle, 1.0),
             write_run(root / "runs", "good", "hf:/tmp/some/ckpt-good", 2, bench, good, 0.7),
             write_run(root / "runs", "evil", "openai:evil_model", 0, bench, evil, 0.2)]
    return paths, items


def loader(items: list[QAItem]):
    return lambda bench: {it.id: it for it in items}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list[Path], list[QAItem]]:
    root = tmp_path_factory.mktemp("report")
    runs, items = make_runs(root)
    index = write_report(runs, root / "REPORT", load_items=loader(items))
    return index, runs, items


def test_report_writes_every_artifact(report):
    index, _, _ = report
    out = index.parent
    assert index.name == "index.html"
    for name in ("table.md", "table.tex", "table.csv", "metrics.csv", "assets/gallery.css",
                 "assets/gallery.js"):
        assert (out / name).is_file(), name
    for stem in ("tasks", "point_l2_cdf", "direction_confusion", "ambiguity_by_reason"):
        for fmt in ("png", "svg"):
            path = out / "plots" / f"{stem}.{fmt}"
            assert path.is_file() and path.stat().st_size > 1000, path
    with Image.open(out / "plots/tasks.png") as im:
        assert im.width > 300


def test_main_table_marks_best_non_oracle_and_direction(report):
    _, runs, _ = report
    loaded = load_runs(runs)
    md = main_table_markdown(loaded)
    lines = md.splitlines()
    assert lines[0].startswith("| Model | Object label match ↑ | Direction bal. acc ↑ | "
                               "Point acc@0.1 ↑ | Ambiguity bal. acc ↑")
    good = next(line for line in lines if line.startswith("| hf:ckpt-good 2-shot"))
    oracle = next(line for line in lines if line.startswith("| baseline:oracle"))
    # the good model wins every column (0.7 vs 0.2)
    assert good.count("**") == 8 and "**0.700 [0.650, 0.750] (n=2)**" in good
    assert "**0.700 [0.650, 0.750] (n=4)**" in good  # ambiguity: four items
    assert "**" not in oracle
    assert "1.000 [0.950, 1.050]" in oracle


def test_latex_escapes_model_names(report):
    _, runs, _ = report
    tex = main_table_latex(load_runs(runs))
    assert r"openai:evil\_model" in tex
    assert r"\begin{tabular}" in tex and r"\bottomrule" in tex
    assert r"\textbf{0.700}" in tex


def test_csv_tables_hold_values_and_cis(report):
    index, _, _ = report
    with (index.parent / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * (4 + 4 + 5 + 5)
    l2 = next(r for r in rows if r["model"] == "hf:ckpt-good 2-shot" and r["metric"] == "avg_l2")
    assert float(l2["value"]) == pytest.approx(0.12)
    assert float(l2["ci_high"]) == pytest.approx(0.17)
    assert l2["higher_is_better"] == "False" and float(l2["parse_rate"]) == pytest.approx(0.85)
    with (index.parent / "table.csv").open() as f:
        main = list(csv.DictReader(f))
    assert [r["model"] for r in main] == ["baseline:oracle", "hf:ckpt-good 2-shot",
                                          "openai:evil_model"]
    assert float(main[1]["point_acc@0.1_ci_low"]) == pytest.approx(0.65)


def test_model_text_is_escaped_everywhere(report):
    index, _, _ = report
    html = index.read_text()
    assert "<script>window.__pwned" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert html.count("<script") == 1  # only our own gallery.js


def test_gallery_overlays_truth_and_predictions(report):
    index, _, items = report
    html = index.read_text()
    assert html.count('class="card"') == len(items)
    # point item 0: true mean (0.69, 0.71) on a 320x240 thumbnail -> (220.8, 170.4)
    card = html.split('id="item-poi000"')[1].split("</article>")[0]
    assert 'cx="220.8" cy="170.4"' in card
    assert 'class="pred" data-model="1" cx="192.0" cy="144.0"' in card  # good model (0.6, 0.6)
    assert card.count('class="pred"') == 2  # the evil run's answer did not parse
    assert 'class="head"' in card
    images = sorted((index.parent / "images").glob("*.jpg"))
    assert len(images) == 3  # one thumbnail per distinct image, not per item


def test_confusion_and_reason_stats(report):
    _, runs, items = report
    loaded = load_runs(runs)
    by_id = {it.id: it for it in items}
    (figure,) = registry.get("direction").figures
    matrix = confusion(loaded[1], by_id, "direction", figure)
    assert matrix.sum() == 2 and matrix[7, 6] == 2  # lower right -> down
    (figure,) = registry.get("ambiguity").figures
    stats = accuracy_by(loaded[2], by_id, "ambiguity", figure)
    assert stats == {"gaze_out_of_frame": (0.0, 1), "unspecified_person": (0.0, 1),
                     "answerable": (0.0, 2)}


def test_the_paper_figures_come_from_the_task_declarations(report, tmp_path, monkeypatch):
    """Issue 19: the three paper figures are the point, direction and ambiguity tasks'
    declarations, under the names and titles the report always had."""
    _, runs, items = report
    declared = {f.name: (spec.name, f.kind) for spec in registry.specs() for f in spec.figures}
    assert {k: v for k, v in declared.items() if v[0] in ("point", "direction", "ambiguity")} \
        == {"point_l2_cdf": ("point", "score_cdf"),
            "direction_confusion": ("direction", "confusion"),
            "ambiguity_by_reason": ("ambiguity", "accuracy_by")}
    figures: dict[str, object] = {}
    monkeypatch.setattr(plots, "_save", lambda fig, out, stem: figures.setdefault(stem, fig)
                        and [out / f"{stem}.png"])
    made = plots.write_plots(load_runs(runs), {it.id: it for it in items}, tmp_path)
    assert list(made) == ["tasks", "direction_confusion", "point_l2_cdf",
                          "ambiguity_by_reason"]  # the tasks' report order
    point = figures["point_l2_cdf"].axes[0]
    assert point.get_title() == "Point task: cumulative distribution of L2"
    assert point.get_xlabel() == "L2 to the annotators' mean point (normalized)"
    assert [line.get_xdata()[0] for line in point.lines[3:]] == [0.1, 0.2]  # after 3 runs
    assert figures["direction_confusion"]._suptitle.get_text() == (
        "Direction task: confusion (colour: row share; numbers: counts)")
    reasons = figures["ambiguity_by_reason"].axes[0]
    assert reasons.get_title() == "Ambiguity task: accuracy by reason"
    assert [t.get_text().split("\n")[0] for t in reasons.get_xticklabels()] == [
        "gaze out of", "unspecified", "answerable"]


@pytest.fixture
def toy():
    """tests/toy_task.py's ``side`` task, registered for one test."""
    import toy_task

    registry.register(toy_task.SPEC)
    yield toy_task
    registry.unregister(toy_task.NAME)


def test_a_registered_task_gets_its_declared_figure_drawn(toy, tmp_path, monkeypatch):
    """A plug-in's figure (tests/toy_task.py declares a confusion over its ``side``
    target, parsed value undeclared: the bare class) is drawn like a built-in one."""
    figures: dict[str, object] = {}
    monkeypatch.setattr(plots, "_save", lambda fig, out, stem: figures.setdefault(stem, fig)
                        and [out / f"{stem}.png"])
    items = [_item(i, "side", {"side": side, "gaze": [0.2, 0.5]}, side)
             for i, side in enumerate(["left", "left", "right"])]
    rows = [_row(items[0], "left", "left", True, 1.0), _row(items[1], "right", "right", False, 0.0),
            _row(items[2], "up", None, False, 0.0)]
    run = write_run(tmp_path, "toy", "baseline:random", 0, tmp_path / "bench", rows, 0.5)
    loaded = load_runs([run])
    by_id = {it.id: it for it in items}
    (figure,) = toy.SPEC.figures
    assert confusion(loaded[0], by_id, "side", figure).tolist() == [[1, 1, 0], [0, 0, 1]]
    made = plots.write_plots(loaded, by_id, tmp_path / "plots")
    assert "side_confusion" in made
    fig = figures["side_confusion"]
    assert fig._suptitle.get_text().startswith("Side task: confusion")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["left", "right", "none"]


def test_social_tasks_draw_their_label_confusion(tmp_path):
    """mutual / shared / whom declare a confusion of the label against the parsed choice
    (a refusal or an unread answer: ``none``)."""
    whom = registry.get("whom")
    (figure,) = whom.figures
    assert (figure.name, figure.classes) == ("whom_confusion", ("other", "nobody"))
    assert {f.name for t in ("mutual", "shared") for f in registry.get(t).figures} == {
        "mutual_confusion", "shared_confusion"}
    items = [_item(i, "whom", {"label": label, "rule": "gaze", "other": "the person in "
                               "the blue box"}, label) for i, label in
             enumerate(["other", "other", "nobody"])]
    rows = [_row(items[0], "x", {"choice": "other", "declines": False}, True, 1.0),
            _row(items[1], "x", {"choice": None, "declines": True}, False, 0.0),
            _row(items[2], "x", {"choice": "other", "declines": False}, False, 0.0)]
    run = write_run(tmp_path, "w", "baseline:random", 0, tmp_path / "bench", rows, 0.5)
    loaded = load_runs([run])
    by_id = {it.id: it for it in items}
    assert confusion(loaded[0], by_id, "whom", figure).tolist() == [[1, 0, 1], [1, 0, 0]]
    made = plots.write_plots(loaded, by_id, tmp_path / "plots")
    assert "whom_confusion" in made and "mutual_confusion" not in made


def test_bad_runs_name_file_and_field(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(RunError, match=r"scores\.json: missing"):
        load_runs([run])
    (run / "scores.json").write_text('{"tasks": {"point": {"metrics": {"avg_l2": {}}}}}')
    with pytest.raises(RunError, match=r"tasks\.point\.metrics\.avg_l2: field 'value'"):
        load_runs([run])
    (run / "scores.json").write_text("{\n  oops")
    with pytest.raises(RunError, match=r"line 2"):
        load_runs([run])


def test_parsed_values_read_as_their_task_type():
    point = registry.parsed_of("point", [0.3, 0.4])
    assert (type(point).__name__, point.x, point.y) == ("PointAnswer", 0.3, 0.4)
    assert registry.parsed_of("direction", "upper left").direction == "upper left"
    assert registry.parsed_of("object", "a mug").text == "a mug"
    amb = registry.parsed_of("ambiguity", {"declines": True, "reason": "eyes_not_visible"})
    assert (amb.declines, amb.reason) == (True, "eyes_not_visible")
    choice = registry.parsed_of("mutual", {"choice": "yes", "declines": False})
    assert (choice.choice, choice.declines) == ("yes", False)
    assert registry.parsed_of("point", None) is None  # nothing read
    for task, value in (("point", {"x": 0.1, "y": 0.2}), ("point", [0.1]),
                        ("direction", "north"), ("direction", {"direction": "up"}),
                        ("object", 3), ("ambiguity", {"declines": True, "reason": "why"}),
                        ("whom", {"choice": "maybe", "declines": False})):
        with pytest.raises(ValueError):
            registry.parsed_of(task, value)
    assert short_model_name("hf:/a/b/ckpt") == "hf:ckpt"
    assert short_model_name("baseline:oracle") == "baseline:oracle"


def test_a_parsed_value_of_another_shape_names_its_row(tmp_path):
    items = make_bench(tmp_path)
    rows = [_row(items[0], "(1, 2)", {"x": 0.1, "y": 0.2}, None, 0.1)]
    run = write_run(tmp_path / "runs", "r", "m", 0, tmp_path / "bench", rows, 0.5)
    with pytest.raises(RunError, match=r"items\.parquet: row 0: field 'parsed' .* is not a "
                                       r"point answer: a parsed point is \[x, y\]"):
        load_runs([run])
    rows = [_row(items[2], "north", "north", False, 0.0)]
    run = write_run(tmp_path / "runs", "d", "m", 0, tmp_path / "bench", rows, 0.5)
    with pytest.raises(RunError, match=r"row 0: field 'parsed' '\"north\"' is not a direction "
                                       r"answer: Value error, direction 'north' is not one of"):
        load_runs([run])


def test_report_cli(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from vl4gaze import report as report_pkg
    from vl4gaze.cli import app

    runs, items = make_runs(tmp_path)
    monkeypatch.setattr(report_pkg.writer, "load_bench_items", loader(items))
    result = CliRunner(env={"COLUMNS": "220"}).invoke(
        app, ["report", *map(str, runs), "-o", str(tmp_path / "R")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "R/index.html").is_file()
    assert "hf:ckpt-good 2-shot" in result.output  # the table is printed
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nope"), "-o", str(tmp_path / "X")])
    assert bad.exit_code == 1 and "not a run directory" in bad.output


def test_ties_bold_nobody(tmp_path):
    runs, _ = make_runs(tmp_path)
    for run in runs[1:]:  # make the two non-oracle models score the same everywhere
        scores = json.loads((runs[1] / "scores.json").read_text())
        (run / "scores.json").write_text(json.dumps(scores))
    md = main_table_markdown(load_runs(runs))
    assert "**" not in md


def _subset_run(tmp_path: Path, runs: list[Path], keep: int) -> Path:
    """A copy of the good run that answered only the first ``keep`` items of each task
    and no object item at all (as `eval --limit` and `--tasks` would leave it)."""
    rows = pq.read_table(runs[1] / "items.parquet").to_pylist()
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        seen[row["task"]] = seen.get(row["task"], 0) + 1
        if row["task"] != "object" and seen[row["task"]] <= keep:
            kept.append(row)
    bench = Path(json.loads((runs[1] / "config.json").read_text())["bench"])
    return write_run(tmp_path / "runs", "small", "hf:/x/small", 0, bench, kept, 0.5)


def test_different_item_sets_warn_everywhere_and_missing_task_is_na(tmp_path):
    """Issue 17: a run over fewer items sat in the table without a word, and a run
    without a task showed a dash or an empty bar that read like a score."""
    from rich.console import Console

    from vl4gaze.report.runs import coverage_warnings
    from vl4gaze.report.tables import main_table_cells, rich_table

    runs, items = make_runs(tmp_path)
    small = _subset_run(tmp_path, runs, keep=1)
    loaded = load_runs([*runs, small])
    warnings = coverage_warnings(loaded)
    assert [w.split(":")[0] for w in warnings] == ["direction", "point", "ambiguity"]
    assert "hf:small 1;" in warnings[0] and "baseline:oracle 2," in warnings[0]
    assert "1 in common" in warnings[0]
    assert coverage_warnings(load_runs(runs)) == []  # same items: no warning

    _, body = main_table_cells(loaded)
    small_row = [text for text, _ in body[-1]]
    assert small_row[1] == "n/a"  # no object items: not a number, not a dash
    assert small_row[2] == "0.500 [0.450, 0.550] (n=1)"

    console = Console(record=True, width=250)
    index = write_report([*runs, small], tmp_path / "R", load_items=loader(items),
                         console=console)
    printed = console.export_text()
    assert printed.count("warning: ") == 3 and "different items" in printed
    md = (index.parent / "table.md").read_text()
    assert "**Warning: the runs were scored on different items.**" in md
    assert "> - point: the runs answered different items" in md
    html = index.read_text()
    assert 'class="warning"' in html and "ambiguity: the runs answered different items" in html
    console = Console(record=True, width=250)
    console.print(rich_table(loaded))
    terminal = console.export_text()
    assert "(n=1)" in terminal and "n/a" in terminal and "different items" in terminal
    tex = (index.parent / "table.tex").read_text()
    assert r"{\scriptsize $n$=1}" in tex and " & n/a & " in tex
    with (index.parent / "table.csv").open() as f:
        main = list(csv.DictReader(f))
    assert main[-1]["object_label_match"] == "" and main[-1]["direction_n"] == "1"

    same = write_report(runs, tmp_path / "S", load_items=loader(items))
    assert 'class="warning"' not in same.read_text()
    assert "Warning" not in (same.parent / "table.md").read_text()


def test_gallery_keeps_and_shows_failures_first(tmp_path):
    """Issue 17: the gallery kept the first items by id; with a cap per task it must
    keep the items most models failed, and the page must open with them."""
    from vl4gaze.report.gallery import select_items, verdict

    runs, items = make_runs(tmp_path)
    loaded = load_runs(runs)
    for row in loaded[1].rows:  # the good model now also fails obj005
        if row["item_id"] == "obj005":
            row["correct"] = False
    by_id = {it.id: it for it in items}
    kept = [it.id for it in select_items(loaded, by_id, 1)]
    assert kept == ["obj005", "dir002", "poi000", "amb006"]  # 2, 2, 1, 1 failures
    every = [it.id for it in select_items(loaded, by_id, None)]
    assert every[:3] == ["obj005", "dir002", "dir003"] and len(every) == len(items)

    assert verdict({"parsed": None, "correct": False, "error": None}) == "unparsed"
    assert verdict({"parsed": "x", "correct": True, "error": "timeout"}) == "unparsed"
    assert verdict({"parsed": "x", "correct": False, "error": None}) == "wrong"
    assert verdict({"parsed": "x", "correct": True, "error": None}) == "correct"
    assert verdict({"parsed": "x", "correct": None, "error": None}) == "na"

    index = write_report(runs, tmp_path / "R", ReportConfig(max_items_per_task=1),
                         load_items=loader(items))
    html = index.read_text()
    order = [part.split('"')[0] for part in html.split('data-id="')[1:]]
    assert order == ["dir002", "obj004", "poi000", "amb006"]  # as written, ties by task
    assert 'data-verdict="unparsed"' in html and 'data-failures="2"' in html
