"""The task registry (issue 19): one TaskSpec per task, declared in its module."""

from __future__ import annotations

import pytest

from vl4gaze.schema import Task
from vl4gaze.tasks import registry
from vl4gaze.tasks.registry import Metric, TaskSpec


def _toy(name: str = "toy", headline: str = "hit") -> TaskSpec:
    return TaskSpec(name=name, metrics=(Metric("hit"), Metric("miss", False)),
                    headline=headline, instruction=lambda point: "Answer yes or no.",
                    score_item=lambda *a: None, aggregate=lambda *a: None)


def test_the_builtin_tasks_are_the_schema_tasks_in_report_order():
    assert registry.task_names()[:4] == ("object", "direction", "point", "ambiguity")
    assert {t.value for t in Task} <= set(registry.task_names())
    for spec in registry.specs():
        assert spec.headline in {m.name for m in spec.metrics}
        assert registry.get(spec.name) is spec


def test_get_takes_the_enum_and_names_the_tasks_when_unknown():
    assert registry.get(Task.POINT).name == "point"
    with pytest.raises(ValueError, match="unknown task 'nope'; tasks are object, direction"):
        registry.get("nope")


def test_a_spec_is_validated_and_frozen():
    with pytest.raises(ValueError, match="headline 'f1' is not one of its metrics"):
        _toy(headline="f1")
    with pytest.raises(ValueError, match="metric names repeat"):
        TaskSpec("toy", (Metric("a"), Metric("a")), "a", lambda p: "", print, print)
    with pytest.raises(ValueError, match="identifier"):
        _toy(name="two words")
    spec = _toy()
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]
    assert spec.higher_is_better("miss") is False
    with pytest.raises(KeyError):
        spec.higher_is_better("nope")


def test_register_appends_after_the_builtins_and_unregister_removes():
    spec = registry.register(_toy())
    try:
        assert registry.task_names()[-1] == "toy"
        assert registry.headlines()["toy"] == "hit"
        with pytest.raises(ValueError, match="already registered"):
            registry.register(_toy())
    finally:
        registry.unregister("toy")
    assert "toy" not in registry.task_names()
    assert spec.name == "toy"
    with pytest.raises(ValueError, match="built in"):
        registry.unregister("point")


def test_the_lmms_metric_list_comes_from_the_spec():
    from vl4gaze.export.lmms_eval import metric_list

    assert metric_list("point") == (
        ("avg_l2", False), ("min_l2", False), ("acc@0.1", True), ("acc@0.2", True),
        ("angular_error", False), ("parse_rate", True), ("headline", True))


# -- a fifth task, end to end (issue 19) ----------------------------------------------

def _side_items(items: list, toy) -> list:
    """A ``side`` item for each point item, made by the toy module's own ``make`` from the
    sample the point item came from (same image, head, gaze)."""
    import random as random_

    from vl4gaze.schema import GazeSample, InOut, Person, PersonRef, Point, QAItem, content_id
    from vl4gaze.tasks.refs import Options, Ref

    out = []
    for it in items:
        if it.task != Task.POINT:
            continue
        sample = GazeSample(image=it.image, width=it.width, height=it.height, source=it.source,
                            source_id=it.sample_id, split=it.split,
                            person=Person(it.person_head), gaze=(Point(*it.target["mean"]),),
                            inout=InOut.IN)
        ref = Ref(PersonRef.BOX, "the person in the red box", it.person_head, it.person_head)
        draft = toy.make(sample, ref, Options(), random_.Random(it.id))
        out.append(QAItem(id=content_id("side", it.id), task=draft.task, image=it.image,
                          width=it.width, height=it.height, source=it.source, split=it.split,
                          question=draft.question, answer=draft.answer, target=draft.target,
                          person_ref=draft.ref.kind, template_id=draft.template_id,
                          sample_id=it.sample_id, person_head=it.person_head))
    return out


def _write_split(bench, split: str, items: list) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for it in items:
        row = it.to_dict()
        row["target"] = json.dumps(row["target"], sort_keys=True)
        rows.append(row)
    (bench / "data").mkdir(exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), bench / "data" / f"{split}.parquet")


@pytest.fixture
def toy():
    import toy_task

    registry.register(toy_task.SPEC)
    try:
        yield toy_task
    finally:
        registry.unregister(toy_task.NAME)


@pytest.fixture
def toy_bench(toy, tmp_path):
    """The four built-in tasks plus ``side`` items, written as a benchmark folder."""
    from test_infer_fixtures import make_bench

    bench = tmp_path / "bench"
    test, train = make_bench(bench, n_test=6, n_train=10)
    test, train = test + _side_items(test, toy), train + _side_items(train, toy)
    _write_split(bench, "test", test)
    _write_split(bench, "train", train)
    return bench, test, train


def test_an_item_of_a_task_is_accepted_only_while_it_is_registered(toy_bench):
    from vl4gaze.schema import QAItem

    _, test, _ = toy_bench
    side = next(it for it in test if it.task == "side")
    assert QAItem.from_dict(side.to_dict()).task == "side"
    point = next(it for it in test if it.task == Task.POINT)
    assert QAItem.from_dict(point.to_dict()).task is Task.POINT  # built-ins stay enums
    registry.unregister("side")
    with pytest.raises(ValueError, match="unknown task 'side'; tasks are object, direction"):
        QAItem.from_dict(side.to_dict())
    registry.register(__import__("toy_task").SPEC)  # the fixture unregisters it again


def test_a_task_that_declares_no_baselines_gets_the_generic_ones(toy_bench):
    from collections import Counter

    from vl4gaze.models import Request
    from vl4gaze.models.baselines import make_baseline

    _, test, train = toy_bench
    side = [it for it in test if it.task == "side"]
    # the prior reads train items in id order: a tie goes to the answer seen first there
    train_side = [it.answer for it in sorted(train, key=lambda it: it.id) if it.task == "side"]

    def answers(kind, seed=0, pool=train):
        return make_baseline(kind, train=pool, seed=seed).generate([Request([], it) for it in side])

    assert answers("oracle") == [it.answer for it in side]
    majority = Counter(train_side).most_common(1)[0][0]
    assert answers("center") == [majority] * len(side)
    assert answers("head") == [majority] * len(side)  # no head rule of its own: as center
    assert set(answers("random")) <= set(train_side)
    assert any(answers("random", s) != answers("random", 0) for s in range(1, 6))
    by_question = {it.question: Counter(t.answer for t in train if t.task == "side"
                                        and t.question == it.question) for it in side}
    for item, answer in zip(side, answers("text-only"), strict=True):
        assert answer == by_question[item.question].most_common(1)[0][0]
    assert answers("center", pool=[]) == ["I do not know."] * len(side)  # nothing to go on


def test_the_task_flows_through_eval_score_and_report(toy_bench, tmp_path):
    import json

    from typer.testing import CliRunner

    from vl4gaze.cli import app
    from vl4gaze.report import write_report

    bench, test, _ = toy_bench
    runner = CliRunner(env={"COLUMNS": "240"})
    runs = []
    for kind in ("oracle", "text-only"):
        run = tmp_path / kind
        result = runner.invoke(app, ["eval", str(bench), "--model", f"baseline:{kind}", "-o",
                                     str(run), "--no-progress", "--seed", "1"])
        assert result.exit_code == 0, result.output
        runs.append(run)
    config = json.loads((runs[0] / "config.json").read_text())
    assert config["max_new_tokens"] == {"object": 64, "direction": 64, "point": 64,
                                        "ambiguity": 64, "side": 4}
    oracle = json.loads((runs[0] / "scores.json").read_text())
    n_side = sum(it.task == "side" for it in test)
    block = oracle["tasks"]["side"]
    assert block["n"] == n_side and block["parse_rate"] == 1.0
    assert block["metrics"]["side_accuracy"]["value"] == 1.0
    assert oracle["overall"]["headline"]["side"] == "side_accuracy"
    index = write_report(runs, tmp_path / "report")
    table = (index.parent / "table.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| Model"))
    assert header.split(" | ")[5] == "Side side_accuracy ↑"  # after the four built-ins
    assert "### Side" in table
    assert "side" in json.dumps(json.loads((runs[1] / "scores.json").read_text())["tasks"])


def test_each_task_gets_its_own_answer_budget_unless_one_is_given(toy_bench, tmp_path):
    from vl4gaze.infer import RunConfig, run_inference

    bench, test, _ = toy_bench

    class Recorder:
        name = "recorder"

        def __init__(self):
            self.calls = []

        def generate(self, requests, max_new_tokens):
            self.calls.append((max_new_tokens, sorted({str(r.item.task) for r in requests})))
            return [r.item.answer for r in requests]

    mixed = [it for it in test if it.task in (Task.POINT, "side")]
    model = Recorder()
    run_inference(bench, tmp_path / "own",
                  RunConfig("recorder", batch_size=len(mixed), progress=False),
                  model=model, items=mixed)
    assert model.calls == [(64, ["point"]), (4, ["side"])]  # one batch, one call per budget
    model = Recorder()
    run_inference(bench, tmp_path / "given",
                  RunConfig("recorder", batch_size=len(mixed), max_new_tokens=9,
                            progress=False),
                  model=model, items=mixed)
    assert model.calls == [(9, ["point", "side"])]


def test_the_lmms_export_writes_each_task_its_own_budget(toy_bench, tmp_path):
    import yaml

    from vl4gaze.export.lmms_eval import export

    bench, _, _ = toy_bench
    folder = export(bench, tmp_path / "lmms")

    def budget(task):
        text = (folder / f"vl4gaze_{task}.yaml").read_text()
        return yaml.safe_load(text.replace("!function", ""))["generation_kwargs"][
            "max_new_tokens"]

    assert (budget("side"), budget("point")) == (4, 64)
    folder = export(bench, tmp_path / "lmms2", max_new_tokens=7)
    assert (budget("side"), budget("point")) == (7, 7)


def test_review_hooks_come_from_the_specs(toy_bench):
    from vl4gaze.review.apply import answer_fix, check_fixed_target, clickable, point_fix

    _, test, _ = toy_bench
    assert [t for t in registry.task_names() if clickable(t)] == ["direction", "point"]
    side = next(it for it in test if it.task == "side")
    with pytest.raises(ValueError, match="a side item has no gaze point to set"):
        point_fix(side, 0.2, 0.3)
    assert answer_fix(side, "left") == ("left", {})  # no fix_answer: the text as written
    # No check_target, no target_type: every field as posted; another task's checks
    # do not apply (``gaze`` would have to be normalized on a direction item).
    assert check_fixed_target("side", {"side": "anything", "gaze": [0.5, 2.0]})
    with pytest.raises(ValueError, match=r"fixed_target\.gaze"):
        check_fixed_target("direction", {"gaze": [0.5, 2.0]})


def test_the_build_makes_items_of_a_registered_task(toy, tmp_path):
    """The builder loops over the registry (``TaskSpec.make`` / ``skip_reason``): a
    registered task's items are in the benchmark like the built-in ones when its name or
    group is selected, and the paper's items do not change."""
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from vl4gaze.cli import app
    from vl4gaze.sources.gazeworld import synthesize

    synthesize(tmp_path / "scenes", 8, seed=1, size=64, progress=False)
    for name, tasks in (("with", "paper,toy"), ("without", "paper")):
        result = CliRunner().invoke(app, ["build", f"gazeworld:{tmp_path / 'scenes'}", "-o",
                                          str(tmp_path / name), "--seed", "1",
                                          "--tasks", tasks])
        assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "with" / "data" / "test.parquet")
    assert "side" in set(table.column("task").to_pylist())
    paper = pq.read_table(tmp_path / "without" / "data" / "test.parquet")
    with_ids = set(table.column("id").to_pylist())
    assert set(paper.column("id").to_pylist()) <= with_ids


def test_every_builtin_target_reads_as_its_task_type():
    """The typed targets (issue 19) read every target the golden build wrote, field for
    field; the Parquet column itself stays JSON text."""
    import json
    from pathlib import Path

    import pyarrow.parquet as pq

    from vl4gaze.schema import QAItem

    golden = Path(__file__).parent / "data" / "golden" / "bench"
    seen = set()
    for path in sorted(golden.glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            assert isinstance(row["target"], str)
            item = QAItem.from_dict({**row, "target": json.loads(row["target"])})
            typed = registry.target_of(item)
            assert type(typed) is registry.get(item.task).target_type
            dumped = typed.to_dict()
            assert {k: v for k, v in dumped.items() if k in item.target} == {
                k: item.target[k] for k in dumped if k in item.target}
            seen.add(str(item.task))
    assert seen == {"object", "direction", "point", "ambiguity"}  # the golden build's


def test_a_task_without_a_target_type_reads_its_target_as_the_dict(toy_bench):
    _, test, _ = toy_bench
    side = next(it for it in test if it.task == "side")
    assert registry.target_of(side) is side.target


def test_every_builtin_parsed_value_reads_as_its_task_type():
    """The typed parsed answers (issue 19) read every ``parsed`` value the golden runs'
    scorer wrote, field for field (the values themselves stay as the scorer wrote them)."""
    import json
    from pathlib import Path

    golden = Path(__file__).parent / "data" / "golden" / "items"
    seen = set()
    for path in sorted(golden.glob("*.json")):
        for row in json.loads(path.read_text()):
            value = json.loads(row["parsed"]) if row["parsed"] else None
            typed = registry.parsed_of(row["task"], value)
            if value is None:
                assert typed is None
                continue
            assert type(typed) is registry.get(row["task"]).parsed_type
            fields = typed.to_dict()  # an object field by field, a list or a bare value in order
            parts = value if isinstance(value, list) else [value]
            assert fields == (value if isinstance(value, dict) else dict(zip(fields, parts,
                                                                             strict=True)))
            seen.add(row["task"])
    assert seen == {"object", "direction", "point", "ambiguity"}


def test_figures_and_parsed_types_are_checked_where_declared():
    from vl4gaze.tasks.direction import DirectionAnswer
    from vl4gaze.tasks.registry import Figure

    with pytest.raises(ValueError, match="kind 'pie' is not one of"):
        Figure("pie", "p", "P")
    with pytest.raises(ValueError, match="needs a target key"):
        Figure("accuracy_by", "p", "P")
    with pytest.raises(ValueError, match="needs its classes"):
        Figure("confusion", "p", "P", key="side")
    with pytest.raises(ValueError, match="mark 'point' needs a parsed_type with the fields x, y"):
        TaskSpec("toy", (Metric("a"),), "a", lambda p: "", print, print, mark="point",
                 parsed_type=DirectionAnswer)
    wrong = Figure("confusion", "toy_confusion", "T", key="side", predicted="side",
                   classes=("left", "right"))
    with pytest.raises(ValueError, match="parsed field 'side'"):
        TaskSpec("toy", (Metric("a"),), "a", lambda p: "", print, print,
                 parsed_type=DirectionAnswer, figures=(wrong,))
    with pytest.raises(ValueError, match="figure names repeat"):
        TaskSpec("toy", (Metric("a"),), "a", lambda p: "", print, print,
                 figures=(Figure("score_cdf", "t", "T"), Figure("score_cdf", "t", "U")))
    taken = TaskSpec("toy", (Metric("a"),), "a", lambda p: "", print, print,
                     figures=(Figure("score_cdf", "point_l2_cdf", "T"),))
    with pytest.raises(ValueError, match="figure 'point_l2_cdf' is task 'point''s"):
        registry.register(taken)
    assert "toy" not in registry.task_names()
