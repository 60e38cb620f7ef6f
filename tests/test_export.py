"""Tests of the exports: each is read back the way its consumer reads it."""

from __future__ import annotations

import base64
import csv
import importlib.util
import io
import json
from importlib import resources
from pathlib import Path

import pytest
import yaml
from PIL import Image
from test_build import scene_samples
from typer.testing import CliRunner

from vl4gaze.build import build_from_samples, load_benchmark
from vl4gaze.cli import app
from vl4gaze.export import export_benchmark

#: Task config keys that lmms-eval documents (TaskConfig fields).
LMMS_KEYS = {
    "task", "task_alias", "group", "group_alias", "tag", "dataset_path", "dataset_name",
    "dataset_kwargs", "training_split", "validation_split", "test_split", "fewshot_split",
    "process_docs", "doc_to_visual", "doc_to_text", "doc_to_target", "doc_to_choice",
    "doc_to_messages", "process_results", "use_prompt", "description", "target_delimiter",
    "fewshot_delimiter", "fewshot_config", "num_fewshot", "metric_list", "output_type",
    "generation_kwargs", "repeats", "filter_list", "should_decontaminate",
    "doc_to_decontamination_query", "metadata", "lmms_eval_specific_kwargs",
    "model_specific_generation_kwargs", "model_specific_target_kwargs",
}


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export")
    build_from_samples(scene_samples(root / "src"), root / "bench", progress=False,
                       images="none", absent_rate=1.0)
    return root / "bench"


class _Function(str):
    """The value of an lmms-eval ``!function`` tag."""


def _lmms_loader() -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function",
                           lambda loader, node: _Function(loader.construct_scalar(node)))
    return Loader


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lmms_eval_task_folder(bench, tmp_path):
    folder = export_benchmark(bench, "lmms-eval", tmp_path / "lmms")
    utils = _import(folder / "utils.py", "vl4gaze_lmms_utils")
    group = yaml.safe_load((folder / "vl4gaze.yaml").read_text())
    assert group["group"] == "vl4gaze" and "vl4gaze_point" in group["task"]
    datasets = pytest.importorskip("datasets")
    for name in group["task"]:
        config = yaml.load((folder / f"{name}.yaml").read_text(), Loader=_lmms_loader())
        assert set(config) <= LMMS_KEYS
        assert config["output_type"] == "generate_until" and config["test_split"] == "test"
        for key in ("doc_to_visual", "doc_to_text", "process_results"):
            assert isinstance(config[key], _Function)
            assert callable(getattr(utils, config[key].split(".", 1)[1]))
        for metric in config["metric_list"]:
            assert set(metric) == {"metric", "aggregation", "higher_is_better"}
            assert callable(getattr(utils, metric["aggregation"].split(".", 1)[1]))
        ds = datasets.load_dataset(config["dataset_path"], **config["dataset_kwargs"],
                                   split="test")
        doc = ds[0]
        assert doc["task"] == name.removeprefix("vl4gaze_")
        assert utils.doc_to_visual(doc)[0].mode == "RGB"
        assert utils.doc_to_text(doc, {"pre_prompt": "Q: "}) == "Q: " + doc["question"]
        if doc["task"] == "object":
            continue  # its embedding metric loads a sentence model: scored elsewhere
        right = utils.process_results(doc, [doc["answer"]])
        assert {m["metric"] for m in config["metric_list"]} <= set(right)
        if doc["task"] in ("direction", "ambiguity"):
            assert right["accuracy"] == 1.0
        if doc["task"] == "point":
            assert right["avg_l2"] < 0.01 and right["parse_rate"] == 1.0


def test_lmms_eval_aggregations():
    text = resources.files("vl4gaze.export").joinpath(
        "templates/lmms_eval_utils.py.txt").read_text().replace("__BENCH__", '"."')
    namespace: dict = {}
    exec(compile(text, "utils.py", "exec"), namespace)
    pairs = [{"declines": True, "ambiguous": True}, {"declines": True, "ambiguous": False},
             {"declines": False, "ambiguous": True}, {"declines": False, "ambiguous": False}]
    assert namespace["precision"](pairs) == 0.5 and namespace["recall"](pairs) == 0.5
    assert namespace["f1"](pairs) == 0.5
    assert namespace["mean_known"]([1.0, None, 0.0]) == 0.5


def test_vlmevalkit_tsv_and_class(bench, tmp_path):
    tsv = export_benchmark(bench, "vlmevalkit", tmp_path / "vlm")
    with open(tsv, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    test_items = {i.id: i for i in load_benchmark(bench, "test")}
    assert len(rows) == len(test_items)
    assert list(rows[0])[:4] == ["index", "image", "question", "answer"]
    for n, row in enumerate(rows):
        assert int(row["index"]) == n
        item = test_items[row["id"]]
        assert row["question"] == item.question and row["answer"] == item.answer
        with Image.open(io.BytesIO(base64.b64decode(row["image"]))) as image:
            assert image.size == (item.width, item.height)
        assert json.loads(row["target"]) == item.target
    module = _import(tmp_path / "vlm" / "vl4gaze_vlmeval.py", "vl4gaze_vlmeval")
    assert Path(module.TSV) == tsv.resolve()
    assert module.VL4Gaze.supported_datasets() == ["VL4Gaze"]
    for name in ("load_data", "build_prompt", "evaluate"):
        assert callable(getattr(module.VL4Gaze, name))
    assert len(module.VL4Gaze.load_data(None, "VL4Gaze")) == len(rows)


def test_sharegpt_json_loads_with_datasets(bench, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = export_benchmark(bench, "sharegpt", tmp_path / "sg")
    info = json.loads((out / "dataset_info.json").read_text())
    assert set(info) == {"vl4gaze_train", "vl4gaze_test"}
    ds = datasets.load_dataset("json", data_files=str(out / "vl4gaze_train.json"),
                               split="train")
    assert ds.num_rows == len(load_benchmark(bench, "train"))
    for row in ds:
        user, assistant = row["messages"]
        assert user["role"] == "user" and user["content"].count("<image>") == len(row["images"])
        assert assistant["role"] == "assistant" and assistant["content"]
        assert all((out / p).is_file() for p in row["images"])


def test_trl_jsonl_loads_with_images(bench, tmp_path):
    pytest.importorskip("datasets")
    from vl4gaze.export.trl import load_trl

    out = export_benchmark(bench, "trl", tmp_path / "trl")
    ds = load_trl(out, "test")
    assert ds.num_rows == len(load_benchmark(bench, "test"))
    row = ds[0]
    user, assistant = row["messages"]
    assert [p["type"] for p in user["content"]] == ["image", "text"]
    assert assistant["content"][0]["text"] and len(row["images"]) == 1
    assert isinstance(row["images"][0], Image.Image)


@pytest.mark.slow  # importing TRL (transformers) costs seconds
def test_trl_reads_the_export(bench, tmp_path):
    data_utils = pytest.importorskip("trl.data_utils")
    from vl4gaze.export.trl import load_trl

    row = load_trl(export_benchmark(bench, "trl", tmp_path / "trl"), "train")[0]
    assert data_utils.is_conversational(row)
    prepared = data_utils.prepare_multimodal_messages(row["messages"], row["images"])
    image_part = prepared[0]["content"][0]
    assert image_part["type"] == "image" and image_part["image"] is row["images"][0]
    assert prepared[1]["content"][0]["text"] == row["messages"][1]["content"][0]["text"]


def test_export_cli_and_errors(bench, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(bench), "--to", "trl", "-o", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t" / "train.jsonl").is_file()
    result = runner.invoke(app, ["export", str(bench), "--to", "csv", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2  # a usage error: the choices are listed
    assert "csv" in result.output and "lmms-eval" in result.output
    result = runner.invoke(app, ["export", str(tmp_path), "--to", "trl", "-o",
                                 str(tmp_path / "x")])
    assert result.exit_code == 1 and "not a benchmark" in result.output
