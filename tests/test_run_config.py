"""The stage records (RunConfig, TrainConfig, ReportConfig) and the executor seam."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_infer_fixtures import make_bench
from typer.testing import CliRunner

from vl4gaze.config_fields import help_of
from vl4gaze.executor import LocalExecutor, get_executor
from vl4gaze.infer import RunConfig, read_predictions, run_inference
from vl4gaze.models.baselines import OracleBaseline
from vl4gaze.report.config import ReportConfig
from vl4gaze.train.config import TrainConfig

#: config.json as the code before RunConfig wrote it for the call in
#: test_config_json_is_byte_identical_to_the_old_one (BENCH and PROMPT, the prompt
#: templates' hash, filled in: they depend on the machine and on the prompts' version).
OLD_CONFIG_JSON = """{
  "batch_size": 3,
  "bench": "BENCH",
  "bench_hash": null,
  "limit": 2,
  "max_new_tokens": 32,
  "model": "hf:some/model",
  "model_options": {
    "cache": "/x/y",
    "device": "cpu"
  },
  "point_convention": "norm",
  "prompt_config": "PROMPT",
  "seed": 3,
  "selections": [
    {
      "limit": 2,
      "tasks": [
        "object",
        "point"
      ]
    }
  ],
  "shots": 1,
  "tasks": [
    "object",
    "point"
  ]
}
"""


@pytest.fixture
def bench(tmp_path):
    root = tmp_path / "bench"
    test, train = make_bench(root, n_test=4, n_train=5)
    return root, test, train


def _old_json(root: Path) -> str:
    from vl4gaze.prompting import prompt_config

    return (OLD_CONFIG_JSON.replace("BENCH", str(root.resolve()))
            .replace("PROMPT", prompt_config(root.resolve(), shots=1, seed=3)))


def _old_style_config() -> RunConfig:
    return RunConfig("hf:some/model", shots=1, seed=3, tasks=["point", "object"], limit=2,
                     batch_size=3, max_new_tokens=32, point_convention="norm", progress=False,
                     model_options={"device": "cpu", "dtype": None, "cache": Path("/x/y")})


def test_config_json_is_byte_identical_to_the_old_one(bench, tmp_path):
    root, test, train = bench
    run = tmp_path / "run"
    run_inference(root, run, _old_style_config(), model=OracleBaseline(), items=test,
                  train_items=train)
    assert (run / "config.json").read_text() == _old_json(root)


def test_a_run_of_the_old_format_resumes_and_round_trips(bench, tmp_path):
    root, test, train = bench
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(_old_json(root))
    config = RunConfig.from_record(json.loads((run / "config.json").read_text()),
                                   progress=False)
    assert config == dataclasses.replace(_old_style_config(),
                                         model_options={"device": "cpu", "cache": "/x/y"})
    first = run_inference(root, run, dataclasses.replace(config, limit=1),
                          model=OracleBaseline(), items=test, train_items=train)
    again = run_inference(root, run, config, model=OracleBaseline(), items=test,
                          train_items=train)
    assert (first.answered, again.skipped, again.answered) == (2, 2, 2)
    assert len(read_predictions(run)) == 4


@pytest.mark.parametrize(("field", "value"), [
    ("batch_size", 0), ("shots", -1), ("max_new_tokens", 0), ("limit", -2), ("replicas", 0),
    ("point_convention", "inches"), ("executor", "dask"), ("shard", (2, 2)),
    ("shard", "1-of-2"), ("tasks", ("point", "gaze")), ("model", ""),
    ("cpus_per_replica", 0), ("gpus_per_replica", -1.0),
])
def test_run_config_refuses_a_bad_field_by_name(field, value):
    with pytest.raises(ValueError) as err:
        RunConfig(**{"model": "tiny", field: value})
    message = str(err.value)
    assert field in message or repr(value) in message, message
    assert "\n" not in message


def test_run_config_refuses_api_keys_as_values():
    with pytest.raises(ValueError, match="model_options: pass API keys by environment"):
        RunConfig("openai:gpt-4o", model_options={"api_key": "sk-secret"})


def test_run_config_normalises_what_the_cli_gives():
    config = RunConfig("tiny", tasks="point, direction,point", shard="1/3",
                       model_options={"device": None, "dtype": "auto"})
    assert config.tasks == ("direction", "point")
    assert config.shard == (1, 3)
    assert config.model_options == {"dtype": "auto"}
    assert RunConfig("tiny", tasks=()).tasks is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize("record", [RunConfig, TrainConfig, ReportConfig])
def test_every_field_has_help(record):
    for field in dataclasses.fields(record):
        assert field.metadata.get("help", "").strip(), f"{record.__name__}.{field.name}"


def test_cli_option_help_is_the_records():
    from vl4gaze.cli import app

    def flat(args: list[str]) -> str:
        return " ".join(CliRunner().invoke(app, args, env={"COLUMNS": "300"}).output.split())

    eval_help, train_help = flat(["eval", "-h"]), flat(["train", "-h"])
    for name in ("batch_size", "max_new_tokens", "retry_errors", "limit"):
        assert " ".join(help_of(RunConfig, name).split()) in eval_help, name
    assert "Gradient accumulation steps." in train_help
    assert "Title of index.html." in flat(["report", "-h"])


@pytest.mark.parametrize(("field", "value"), [
    ("epochs", 0), ("lr", 0.0), ("batch_size", 0), ("grad_accum", 0), ("max_steps", 0),
    ("max_length", 0), ("lora_rank", 0), ("loss_per", "sentence"), ("save_steps", 0),
])
def test_train_config_refuses_a_bad_field_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{"model": "tiny", field: value})


def test_train_config_task_mix_from_text_or_mapping():
    assert TrainConfig("tiny", task_mix="direction=2, point=1").task_mix == {
        "direction": 2.0, "point": 1.0}
    assert TrainConfig("tiny", task_mix={"object": 1}).task_mix == {"object": 1.0}
    for bad in ({"gaze": 1}, {"point": -1}, {"point": 0}, "point=x"):
        with pytest.raises(ValueError, match="task-mix"):
            TrainConfig("tiny", task_mix=bad)


def test_train_config_loss_names_match_the_loss_module():
    pytest.importorskip("torch")
    from vl4gaze.train import config, loss

    assert config.LOSS_PER == loss.LOSS_PER


def test_report_config():
    assert ReportConfig().max_items_per_task == 40
    assert ReportConfig(max_items_per_task=None).max_items_per_task is None
    for bad in ({"max_items_per_task": 0}, {"title": " "}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ReportConfig(**bad)


def test_cli_import_stays_light():
    """The records are read for option help at start-up: no torch, plots or Ray then."""
    code = ("import sys, vl4gaze.cli; heavy = {'torch', 'matplotlib', 'ray', 'pyarrow', "
            "'transformers'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


# -- the executor seam ------------------------------------------------------------------

def test_local_executor_batches_in_order_and_builds_the_function_once():
    made = []

    def make():
        made.append(1)
        return lambda batch: [x * 10 for x in batch]

    out = list(LocalExecutor().map_batches(make, list(range(7)), batch_size=3, label="t",
                                           progress=False))
    assert out == [[0, 10, 20], [30, 40, 50], [60]] and made == [1]
    assert list(LocalExecutor().map_batches(make, [], batch_size=3, label="t")) == []
    assert made == [1]  # nothing to do: the function (a model) is never built


def test_local_executor_threads_keep_the_order():
    seen = set()

    def make():
        def fn(batch):
            seen.add(threading.get_ident())
            return batch

        return fn

    out = list(LocalExecutor(workers=3).map_batches(make, list(range(20)), batch_size=1,
                                                    label="t", progress=False))
    assert out == [[i] for i in range(20)]


def test_executor_errors_are_raised_on_the_driver():
    def make():
        def fn(batch):
            raise OSError("disk full")

        return fn

    with pytest.raises(OSError, match="disk full"):
        list(LocalExecutor().map_batches(make, [1], batch_size=1, label="t", progress=False))
    with pytest.raises(ValueError, match="expected one of local, ray"):
        get_executor("dask")


def test_a_model_object_needs_the_local_executor(bench, tmp_path):
    root, test, _ = bench
    with pytest.raises(ValueError, match="pass the model spec"):
        run_inference(root, tmp_path / "run", RunConfig("x", executor="ray"),
                      model=OracleBaseline(), items=test)
    assert not (tmp_path / "run").exists()


def test_vllm_engine_arguments_come_from_one_place():
    from vl4gaze.models.vllm import engine_args

    args = engine_args(dtype="bfloat16", tensor_parallel_size=2, max_images=4, seed=7,
                       device="cuda", max_model_len=None)
    assert args == {"dtype": "bfloat16", "seed": 7, "tensor_parallel_size": 2,
                    "gpu_memory_utilization": 0.9, "limit_mm_per_prompt": {"image": 4},
                    "trust_remote_code": False}
    assert engine_args(max_model_len=4096)["max_model_len"] == 4096
