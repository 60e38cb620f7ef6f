"""Tests of the exports: each is read back the way its consumer reads it."""

from __future__ import annotations

import base64
import csv
import importlib.util
import io
import json
import math
import shutil
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


def _moved(folder: Path, tmp_path: Path) -> Path:
    """The export moved elsewhere (paths inside must not point back)."""
    target = tmp_path / "moved" / folder.name
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.move(str(folder), str(target)))


def _lmms_configs(folder: Path) -> dict[str, dict]:
    return {p.stem: yaml.load(p.read_text(), Loader=_lmms_loader())
            for p in sorted(folder.glob("vl4gaze_*.yaml"))}


def _lmms_docs(folder: Path, config: dict) -> list[dict]:
    """The docs lmms-eval 0.7.3 hands the hooks: data_files resolved against the YAML's
    folder (``lmms_eval.utils._resolve_local_data_files``)."""
    import pyarrow.parquet as pq

    rel = config["dataset_kwargs"]["data_files"]["test"]
    assert not Path(rel).is_absolute()
    return pq.read_table(folder / rel).to_pylist()


def _answers(items) -> dict[str, str]:
    """Right, wrong and unreadable answers, mixed."""
    out = {}
    for n, item in enumerate(sorted(items, key=lambda i: i.id)):
        out[item.id] = [item.answer, "no idea", "(0.9, 0.1)", "It cannot be answered: x."][n % 4]
    return out


def test_lmms_eval_asks_and_scores_like_vl4gaze(bench, tmp_path):
    from vl4gaze.prompting import build_messages
    from vl4gaze.schema import Prediction
    from vl4gaze.score import score_predictions
    from vl4gaze.tasks.registry import headlines

    HEADLINE = headlines()

    folder = _moved(export_benchmark(bench, "lmms-eval", tmp_path / "lmms"), tmp_path)
    utils = _import(folder / "utils.py", "vl4gaze_lmms_utils")
    group = yaml.load((folder / "vl4gaze.yaml").read_text(), Loader=_lmms_loader())
    assert group["aggregate_metric_list"] == [
        {"metric": "headline", "aggregation": "mean", "weight_by_size": False}]
    items = {i.id: i for i in load_benchmark(bench, "test")}
    answers = _answers(items.values())
    expected, _ = score_predictions(
        items.values(), [Prediction(i, "m", "", a) for i, a in answers.items()], n_boot=0,
        embedder=_FakeEmbedder())
    configs = _lmms_configs(folder)
    assert sorted(configs) == sorted(group["task"])
    for name, config in configs.items():
        task = name.removeprefix("vl4gaze_")
        assert set(config) <= LMMS_KEYS and config["output_type"] == "generate_until"
        # vl4gaze eval's default: the task's own limit (64 for every built-in task)
        assert config["generation_kwargs"]["max_new_tokens"] == 64
        for key in ("doc_to_messages", "doc_to_visual", "doc_to_text", "process_results"):
            assert callable(getattr(utils, config[key].split(".", 1)[1]))
        docs = _lmms_docs(folder, config)
        records = []
        for doc in docs:
            want = build_messages(items[doc["id"]], bench)
            got = utils.doc_to_messages(doc, {})
            assert [m["role"] for m in got] == [m["role"] for m in want] == ["system", "user"]
            for g, w in zip(got, want, strict=True):
                assert [p.get("text") for p in g["content"]] == [p.get("text")
                                                                 for p in w["content"]]
                for gp, wp in zip(g["content"], w["content"], strict=True):
                    if wp["type"] == "image":
                        assert gp["type"] == "image" and gp["url"].tobytes() == wp[
                            "image"].tobytes()
            result = utils.process_results(doc, [answers[doc["id"]]])
            assert set(result) == {m["metric"] for m in config["metric_list"]}
            records.append(result)
        block = expected["tasks"][task]
        with _fake_embedder():
            for metric in config["metric_list"]:
                aggregate = getattr(utils, metric["aggregation"].split(".", 1)[1])
                value = aggregate([r[metric["metric"]] for r in records])
                name_ = metric["metric"]
                want = (block["parse_rate"] if name_ == "parse_rate" else
                        block["metrics"][HEADLINE[task] if name_ == "headline" else name_][
                            "value"])
                want = math.nan if want is None else want  # lmms-eval's tables need a number
                assert value == pytest.approx(want, nan_ok=True), (task, name_)


class _FakeEmbedder:
    """Bag-of-letters vectors: deterministic, no model to load."""

    def encode(self, texts):
        import numpy as np

        out = np.array([[t.lower().count(c) + 1e-3 for c in "abcdefghijklmnopqrstuvwxyz"]
                        for t in texts], dtype=float)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class _fake_embedder:
    def __enter__(self):
        from vl4gaze.metrics import description

        self._patch = pytest.MonkeyPatch()
        self._patch.setattr(description, "default_embedder", lambda: _FakeEmbedder())
        from vl4gaze.export import lmms_eval

        lmms_eval.score_task.cache_clear()
        return self

    def __exit__(self, *exc):
        self._patch.undo()


def test_lmms_eval_shots_are_evals_draw(bench, tmp_path):
    from vl4gaze.prompting import ShotSampler, build_messages

    folder = export_benchmark(bench, "lmms-eval", tmp_path / "lmms", shots=1, seed=3)
    utils = _import(folder / "utils.py", "vl4gaze_lmms_utils_shots")
    sampler = ShotSampler(load_benchmark(bench, "train"), 1, 3)
    items = {i.id: i for i in load_benchmark(bench, "test")}
    config = _lmms_configs(folder)["vl4gaze_direction"]
    for doc in _lmms_docs(folder, config)[:3]:
        item = items[doc["id"]]
        want = build_messages(item, bench, shots=sampler.shots_for(item))
        got = utils.doc_to_messages(doc, {})
        assert [m["role"] for m in got] == ["system", "user", "assistant", "user"]
        assert [[p.get("text") for p in m["content"]] for m in got] == [
            [p.get("text") for p in m["content"]] for m in want]


def test_lmms_eval_utils_checks_the_scorer_when_loaded(bench, tmp_path, monkeypatch):
    from vl4gaze.export import lmms_eval

    folder = export_benchmark(bench, "lmms-eval", tmp_path / "lmms")
    monkeypatch.setitem(lmms_eval.SCORER_MODULES, "no_such_module_xyz", "no-such-pkg")
    with pytest.raises(ImportError, match=r"no-such-pkg.*pip install 'vl4gaze\[models\]'"):
        _import(folder / "utils.py", "vl4gaze_lmms_utils_missing")


def test_vlmevalkit_tsv_class_and_every_prediction_format(bench, tmp_path, monkeypatch):
    import pandas as pd

    from vl4gaze.prompting import system_prompt
    from vl4gaze.schema import Prediction
    from vl4gaze.score import score_predictions

    out = _moved(export_benchmark(bench, "vlmevalkit", tmp_path / "vlm").parent, tmp_path)
    tsv = out / "VL4Gaze.tsv"
    with open(tsv, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    test_items = {i.id: i for i in load_benchmark(bench, "test")}
    assert len(rows) == len(test_items)
    assert list(rows[0])[:4] == ["index", "image", "question", "answer"]
    first = {}
    for n, row in enumerate(rows):
        assert int(row["index"]) == n
        item = test_items[row["id"]]
        assert row["question"] == item.question and row["answer"] == item.answer
        image = row["image"] if len(row["image"]) > 64 else rows[int(row["image"])]["image"]
        first.setdefault(item.image, n)
        assert len(row["image"]) > 64 or int(row["image"]) == first[item.image]
        with Image.open(io.BytesIO(base64.b64decode(image))) as picture:
            assert picture.size == (item.width, item.height)
        assert json.loads(row["target"]) == item.target
    monkeypatch.delenv("LMUData", raising=False)
    module = _import(out / "vl4gaze_vlmeval.py", "vl4gaze_vlmeval")
    assert Path(module.tsv_path()) == tsv
    assert module.VL4Gaze.supported_datasets() == ["VL4Gaze"]
    data = module.VL4Gaze.load_data(None, "VL4Gaze")
    assert len(data) == len(rows)

    class Fake(module.VL4Gaze):
        def __init__(self):
            self.data = data

        def dump_image(self, line):
            return [f"/dumped/{line['image_path']}"]

    prompt = Fake().build_prompt(0)
    item = test_items[data.iloc[0]["id"]]
    assert prompt[0] == {"type": "text", "value": system_prompt(
        item.task, point_format="norm", person_ref=item.person_ref, width=item.width,
        height=item.height)}
    assert prompt[1]["type"] == "image" and prompt[2] == {"type": "text",
                                                          "value": item.question}
    answers = _answers(test_items.values())
    expected, _ = score_predictions(
        test_items.values(), [Prediction(i, "m", "", a) for i, a in answers.items()])
    pred = data.drop(columns=["image"]).assign(prediction=[answers[i] for i in data["id"]])
    writers = {"xlsx": lambda p: pred.to_excel(p, index=False),
               "tsv": lambda p: pred.to_csv(p, sep="\t", index=False),
               "json": lambda p: p.write_text(pred.to_json(orient="records")),
               "jsonl": lambda p: p.write_text(pred.to_json(orient="records", lines=True)),
               "csv": lambda p: pred.to_csv(p, index=False)}
    for ext, write in writers.items():
        if ext == "xlsx" and importlib.util.find_spec("openpyxl") is None:
            continue
        path = tmp_path / f"model_VL4Gaze.{ext}"
        write(path)
        result = Fake().evaluate(str(path))
        assert isinstance(result, pd.DataFrame)
        got = {(r.task, r.metric): r.value for r in result.itertuples()}
        for task, block in expected["tasks"].items():
            for name, metric in block["metrics"].items():
                want = math.nan if metric["value"] is None else metric["value"]
                assert got[(task, name)] == pytest.approx(want, nan_ok=True), ext
    lmu = tmp_path / "lmu"
    lmu.mkdir()
    shutil.copy(tsv, lmu / "VL4Gaze.tsv")
    monkeypatch.setenv("LMUData", str(lmu))
    assert Path(module.tsv_path()) == lmu / "VL4Gaze.tsv"


def test_sharegpt_uses_trainings_prompts_and_survives_a_move(bench, tmp_path):
    datasets = pytest.importorskip("datasets")
    from vl4gaze.prompting import system_prompt

    out = _moved(export_benchmark(bench, "sharegpt", tmp_path / "sg"), tmp_path)
    info = json.loads((out / "dataset_info.json").read_text())
    assert set(info) == {"vl4gaze_train", "vl4gaze_test"}
    for entry in info.values():
        assert entry["formatting"] == "sharegpt" and entry["tags"]["system_tag"] == "system"
        assert set(entry["columns"]) == {"messages", "images"}
    ds = datasets.load_dataset("json", data_files=str(out / "vl4gaze_train.json"),
                               split="train")
    items = {i.id: i for i in load_benchmark(bench, "train")}
    assert ds.num_rows == len(items)
    for row in ds:
        item = items[row["id"]]
        system, user, assistant = row["messages"]
        assert system == {"role": "system", "content": system_prompt(
            item.task, point_format="norm", person_ref=item.person_ref, width=item.width,
            height=item.height)}
        assert user["role"] == "user" and user["content"].count("<image>") == len(row["images"])
        assert assistant == {"role": "assistant", "content": item.answer}
        assert all(not Path(p).is_absolute() and (out / p).is_file() for p in row["images"])
        assert not (out / "images").is_symlink()


def test_trl_rows_are_trainings_and_survive_a_move(bench, tmp_path):
    pytest.importorskip("datasets")
    from vl4gaze.export.trl import load_trl
    from vl4gaze.train.data import to_example

    out = _moved(export_benchmark(bench, "trl", tmp_path / "trl"), tmp_path)
    ds = load_trl(out, "test")
    items = {i.id: i for i in load_benchmark(bench, "test")}
    assert ds.num_rows == len(items)
    row = ds[0]
    assert row["messages"] == to_example(items[row["id"]], bench)["messages"]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert isinstance(row["images"][0], Image.Image)
    for line in (out / "test.jsonl").read_text().splitlines():
        assert all(not Path(p).is_absolute() for p in json.loads(line)["images"])


@pytest.mark.slow  # importing TRL (transformers) costs seconds
def test_trl_reads_the_export(bench, tmp_path):
    data_utils = pytest.importorskip("trl.data_utils")
    from vl4gaze.export.trl import load_trl

    row = load_trl(export_benchmark(bench, "trl", tmp_path / "trl"), "train")[0]
    assert data_utils.is_conversational(row)
    prepared = data_utils.prepare_multimodal_messages(row["messages"], row["images"])
    image_part = prepared[1]["content"][0]
    assert image_part["type"] == "image" and image_part["image"] is row["images"][0]
    assert prepared[2]["content"][0]["text"] == row["messages"][2]["content"][0]["text"]


def test_hf_folder_loads_with_pil_images_and_a_card(bench, tmp_path):
    datasets = pytest.importorskip("datasets")
    from huggingface_hub import DatasetCard

    out = _moved(export_benchmark(bench, "hf", tmp_path / "hf"), tmp_path)
    assert not any(p.is_symlink() for p in out.rglob("*"))
    cache = str(tmp_path / "hf-cache")  # a fresh cache: no earlier run's copy
    ds = datasets.load_dataset(str(out), cache_dir=cache)
    test = load_benchmark(bench, "test")
    assert ds["test"].num_rows == len(test) and ds["train"].num_rows == len(
        load_benchmark(bench, "train"))
    assert isinstance(ds["test"].features["image"], datasets.Image)
    by_id = {i.id: i for i in test}
    for row in ds["test"].select(range(5)):
        item = by_id[row["id"]]
        assert isinstance(row["image"], Image.Image) and row["image_path"] == item.image
        with Image.open(bench / item.image) as original:
            assert row["image"].size == original.size
    point = datasets.load_dataset(str(out), "point", split="test", cache_dir=cache)
    assert set(point["task"]) == {"point"}
    card = DatasetCard.load(out / "README.md")
    data = card.data.to_dict()
    from vl4gaze.export.hf import card_license

    assert data["license"] == card_license({i.source for i in test}) and data[
        "pretty_name"] == "VL4Gaze"
    assert data["size_categories"] == "n<1K" and "visual-question-answering" in data[
        "task_categories"]
    assert {c["config_name"] for c in data["configs"]} == {"all", "object", "direction",
                                                           "point", "ambiguity"}
    infos = {i["config_name"]: i for i in data["dataset_info"]}
    assert {f["name"] for f in infos["point"]["features"]} >= {"image", "image_path", "id"}
    assert "```bibtex" in card.text and "@software{vl4gaze" in card.text


def test_hf_card_license_and_size():
    from vl4gaze.export.hf import card_license, size_category

    assert card_license({"gazeworld"}) == "mit"
    assert card_license({"gazeworld", "gazefollow"}) == "other"
    assert size_category(999) == "n<1K" and size_category(1000) == "1K<n<10K"
    assert size_category(150_000) == "100K<n<1M"


def test_export_cli_and_errors(bench, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(bench), "--to", "trl", "-o", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t" / "train.jsonl").is_file()
    result = runner.invoke(app, ["export", str(bench), "--to", "hf", "-o", str(tmp_path / "h")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "h" / "README.md").is_file()
    result = runner.invoke(app, ["export", str(bench), "--to", "csv", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2  # a usage error: the choices are listed
    assert "csv" in result.output and "lmms-eval" in result.output
    result = runner.invoke(app, ["export", str(tmp_path), "--to", "trl", "-o",
                                 str(tmp_path / "x")])
    assert result.exit_code == 1 and "not a benchmark" in result.output


def test_vlmevalkit_reads_text_as_text(bench, tmp_path, monkeypatch):
    """An all-digit id and a "None" / "NA" answer survive VLMEvalKit's TSV / CSV / xlsx
    files (pandas' guessing made them an int and NaN, so evaluate scored "" instead)."""
    import pandas as pd

    out = export_benchmark(bench, "vlmevalkit", tmp_path / "vlm").parent
    monkeypatch.delenv("LMUData", raising=False)
    module = _import(out / "vl4gaze_vlmeval.py", "vl4gaze_vlmeval_text")
    tsv = out / "VL4Gaze.tsv"
    data = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
    data.loc[0, "id"] = "0012345678901234"
    data.to_csv(tsv, sep="\t", index=False)
    loaded = module.VL4Gaze.load_data(None, "VL4Gaze")
    assert loaded.loc[0, "id"] == "0012345678901234"
    pred = loaded.drop(columns=["image"]).assign(prediction=["None", "NA"] * (len(loaded) // 2)
                                                 + ["None"] * (len(loaded) % 2))
    writers = {"tsv": lambda p: pred.to_csv(p, sep="\t", index=False, quoting=csv.QUOTE_ALL),
               "csv": lambda p: pred.to_csv(p, index=False, quoting=csv.QUOTE_ALL)}
    if importlib.util.find_spec("openpyxl") is not None:
        writers["xlsx"] = lambda p: pred.to_excel(p, index=False)
    for ext, write in writers.items():
        path = tmp_path / f"m_VL4Gaze.{ext}"
        write(path)
        back = module.read_predictions(path)
        assert list(back["prediction"][:2]) == ["None", "NA"], ext
        assert back.loc[0, "id"] == "0012345678901234", ext


def test_vlmevalkit_xlsx_control_characters(bench, tmp_path):
    """A model's control characters come back from VLMEvalKit's xlsx (xlsxwriter writes
    them as ``_xHHHH_``); before, 23 of the tiny LLaVA's 105 answers changed."""
    out = export_benchmark(bench, "vlmevalkit", tmp_path / "vlm").parent
    module = _import(out / "vl4gaze_vlmeval.py", "vl4gaze_vlmeval_xlsx")
    assert module.unescape_xlsx("a_x0019_b_x005F_x0019_c") == "a\x19b_x0019_c"
    assert module.unescape_xlsx("plain _x text") == "plain _x text"
    pytest.importorskip("xlsxwriter")
    pytest.importorskip("openpyxl")
    import pandas as pd

    raw = ["7\x19co", "lit _x0019_ eral", "(0.5, 0.5)"]
    path = tmp_path / "m_VL4Gaze.xlsx"
    with pd.ExcelWriter(path, engine="xlsxwriter",
                        engine_kwargs={"options": {"strings_to_formulas": False}}) as writer:
        pd.DataFrame({"prediction": raw}).to_excel(writer, index=False)
    assert list(module.read_predictions(path)["prediction"]) == raw
