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
