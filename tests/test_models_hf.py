"""The transformers back end on the tiny offline LLaVA, and the vLLM back end without a GPU."""

from __future__ import annotations

import json
import sys
import types

import pytest

pytest.importorskip("transformers")

from PIL import Image
from test_infer_fixtures import make_bench

from vl4gaze.infer import RunConfig, run_inference
from vl4gaze.models import Request, load_model
from vl4gaze.models.vllm import INSTALL_HINT, VLLMModel, to_vllm_messages
from vl4gaze.prompting import ShotSampler, build_messages


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("VL4GAZE_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        yield load_model("tiny", device="cpu", dtype="float32")
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    test, train = make_bench(root, n_test=2, n_train=3)
    return root, test, train


def _requests(bench, k):
    root, test, train = bench
    sampler = ShotSampler(train, k, seed=0)
    return [Request(build_messages(it, root, shots=sampler.shots_for(it)), it) for it in test]


def test_batched_left_padded_generation_equals_one_by_one(tiny, bench):
    # prompts of different lengths (0 to 2 shots) in one batch: padding must not leak in
    requests = _requests(bench, 0)[:1] + _requests(bench, 2)[1:2] + _requests(bench, 1)[2:3]
    batched = tiny.generate(requests, 6)
    assert len(batched) == 3 and all(isinstance(t, str) for t in batched)
    assert batched == [tiny.generate([r], 6)[0] for r in requests]  # greedy, pad-proof


def test_generation_config_gives_the_keyword_options_answers(tiny, bench):
    # generate() gets one merged GenerationConfig (issue 20): the same greedy answers as
    # transformers' keyword options, and a new max_new_tokens takes effect
    import torch

    from vl4gaze.models.hf import decode_answers

    requests = _requests(bench, 1)[:3]
    inputs = tiny.encode(requests)
    for limit in (7, 3, 7):
        with torch.inference_mode():
            out = tiny.model.generate(**inputs, max_new_tokens=limit, do_sample=False,
                                      pad_token_id=tiny.tokenizer.pad_token_id,
                                      temperature=None, top_p=None, top_k=None)
        want = decode_answers(tiny.tokenizer, out[:, inputs["input_ids"].shape[1]:])
        assert tiny.generate(requests, limit) == want
        assert tiny.model.generation_config.max_new_tokens == limit


def test_eval_answers_equal_at_batch_1_and_batch_8(tiny, bench, tmp_path):
    # the batched (left-padded) and the one-by-one run write the same predictions
    root, test, train = bench
    runs = {}
    for size in (1, 8):
        config = RunConfig("tiny", shots=1, batch_size=size, max_new_tokens=5,
                           progress=False)
        run_inference(root, tmp_path / f"b{size}", config, model=tiny, items=test,
                      train_items=train)
        lines = (tmp_path / f"b{size}" / "predictions.jsonl").read_text().splitlines()
        runs[size] = {row["item_id"]: row["raw"] for row in map(json.loads, lines)}
    assert len(runs[1]) == len(test) and runs[1] == runs[8]


def test_max_new_tokens_bounds_the_answer(tiny, bench):
    request = _requests(bench, 0)[0]
    ids = tiny.encode([request])["input_ids"]
    import torch

    with torch.inference_mode():
        out = tiny.model.generate(**tiny.encode([request]), max_new_tokens=3, do_sample=False,
                                  pad_token_id=tiny.tokenizer.pad_token_id)
    assert out.shape[1] - ids.shape[1] <= 3


def test_tiny_spec_names_and_options(tiny):
    assert tiny.name == "tiny" and tiny.device == "cpu"
    assert tiny.processor.tokenizer.padding_side == "left"
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        load_model("hf:" + tiny.path, dtype="float8")


def test_eval_with_the_tiny_model_end_to_end(tiny, bench, tmp_path):
    root, test, train = bench
    config = RunConfig("tiny", shots=1, batch_size=4, max_new_tokens=4, limit=1,
                       progress=False)
    result = run_inference(root, tmp_path / "run", config, model=tiny, items=test,
                           train_items=train)
    assert (result.answered, result.errors) == (4, 0)


def test_vllm_message_conversion_without_a_gpu(bench):
    request = _requests(bench, 1)[0]
    pil = to_vllm_messages(request.messages)
    assert pil[0]["role"] == "system" and isinstance(pil[0]["content"], str)
    assert pil[1]["content"][0]["type"] == "image_pil"
    assert isinstance(pil[1]["content"][0]["image_pil"], Image.Image)
    assert pil[2] == {"role": "assistant", "content": request.messages[2]["content"][0]["text"]}
    url = to_vllm_messages(request.messages, image_parts="data_url")
    assert url[1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    with pytest.raises(ValueError, match="image_parts"):
        to_vllm_messages(request.messages, image_parts="tensor")


def test_vllm_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # as if not installed
    with pytest.raises(ImportError, match="vl4gaze\\[vllm\\]"):
        load_model("vllm:Qwen/Qwen2.5-VL-3B-Instruct")
    assert "GPU" in INSTALL_HINT


def test_vllm_batch_goes_through_llm_chat(bench, monkeypatch):
    calls = {}

    class FakeLLM:
        def __init__(self, **kwargs):
            calls["init"] = kwargs

        def chat(self, conversations, params, use_tqdm=False):
            calls["chat"] = (conversations, params)
            out = types.SimpleNamespace
            return [out(outputs=[out(text=f" answer {i} ")]) for i in range(len(conversations))]

    fake = types.SimpleNamespace(LLM=FakeLLM, SamplingParams=lambda **kw: kw)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    model = load_model("vllm:some/model", max_images=3)
    assert isinstance(model, VLLMModel) and model.name == "vllm:some/model"
    assert calls["init"]["limit_mm_per_prompt"] == {"image": 3}
    requests = _requests(bench, 1)[:3]
    assert model.generate(requests, 12) == ["answer 0", "answer 1", "answer 2"]
    conversations, params = calls["chat"]
    assert len(conversations) == 3 and params == {"temperature": 0.0, "max_tokens": 12}


def test_cli_eval_tiny_on_gazeworld(tiny, tmp_path):
    """`vl4gaze eval BENCH --model tiny` end to end (the cached tiny build is reused)."""
    from typer.testing import CliRunner

    from vl4gaze.build import build_benchmark
    from vl4gaze.cli import app
    from vl4gaze.infer import read_predictions

    synthesize = pytest.importorskip("vl4gaze.sources.gazeworld").synthesize
    synthesize(tmp_path / "scenes", 6, seed=2, size=96, progress=False)
    build_benchmark([f"gazeworld:{tmp_path / 'scenes'}"], tmp_path / "bench", progress=False)
    result = CliRunner().invoke(app, [
        "eval", str(tmp_path / "bench"), "--model", "tiny", "-o", str(tmp_path / "run"),
        "--limit", "1", "--shots", "1", "--max-new-tokens", "4", "--device", "cpu",
        "--no-score", "--no-progress"])
    assert result.exit_code == 0, result.output
    preds = read_predictions(tmp_path / "run")
    assert preds and all(p.error is None and p.model == "tiny" for p in preds.values())
