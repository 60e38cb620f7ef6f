"""The OpenAI-compatible back end against a real HTTP server on loopback (vl4gaze.serve)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_infer_fixtures import make_bench

from vl4gaze.infer import RunConfig, run_inference
from vl4gaze.models import BackendError, FatalBackendError, Request, load_model
from vl4gaze.models.base import last_user_text, message_images
from vl4gaze.models.openai_api import OpenAIModel, to_openai_messages
from vl4gaze.prompting import ShotSampler, build_messages
from vl4gaze.serve import Faults, create_app, from_openai_messages, running_server

SECRET = "sk-test-0123456789-do-not-leak"


class Echo:
    """Answers with what it received: proves images and text survive the trip."""

    name = "echo"

    def generate(self, requests, max_new_tokens):
        out = []
        for r in requests:
            images = message_images(r.messages)
            sizes = ",".join(f"{im.size[0]}x{im.size[1]}" for im in images)
            out.append(f"{len(images)} images [{sizes}] {last_user_text(r.messages)}")
        return out


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    test, train = make_bench(root, n_test=2, n_train=3)
    return root, test, train


def _requests(bench, k=0):
    root, test, train = bench
    sampler = ShotSampler(train, k)
    return [Request(build_messages(it, root, shots=sampler.shots_for(it)), it) for it in test]


def _expected(request):
    return Echo().generate([request], 8)[0]


def test_messages_round_trip_through_the_openai_format(bench):
    request = _requests(bench, k=1)[0]
    wire = to_openai_messages(request.messages)
    assert wire[0]["role"] == "system" and isinstance(wire[0]["content"], str)
    assert wire[1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    back = from_openai_messages(json.loads(json.dumps(wire)))
    before, after = message_images(request.messages), message_images(back)
    assert len(before) == len(after) == 2
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(before, after,
                                                                           strict=True))
    assert last_user_text(back) == last_user_text(request.messages)


def test_batch_answers_in_order_with_bounded_concurrency(bench):
    requests = _requests(bench, k=1)
    with running_server(create_app(Echo(), model_id="echo")) as url:
        model = OpenAIModel("echo", base_url=url, concurrency=3)
        assert model.generate(requests, 16) == [_expected(r) for r in requests]


@pytest.mark.parametrize("plan", [[429, 429], [500, 503], [502]])
def test_retries_on_rate_limits_and_server_errors(bench, plan):
    request = _requests(bench)[0]
    faults = Faults(plan, retry_after_ms=5)
    with running_server(create_app(Echo(), model_id="echo", faults=faults)) as url:
        model = OpenAIModel("echo", base_url=url, max_retries=3)
        assert model.generate([request], 16) == [_expected(request)]
    assert faults.requests == len(plan) + 1


def test_a_slow_response_times_out_and_is_retried(bench):
    request = _requests(bench)[0]
    faults = Faults(["slow:1.0"])
    with running_server(create_app(Echo(), model_id="echo", faults=faults)) as url:
        model = OpenAIModel("echo", base_url=url, max_retries=2, timeout=0.3)
        assert model.generate([request], 16) == [_expected(request)]
    assert faults.requests == 2


def test_giving_up_after_retries_is_an_item_error(bench):
    request = _requests(bench)[0]
    faults = Faults([500] * 5, retry_after_ms=1)
    with running_server(create_app(Echo(), model_id="echo", faults=faults)) as url:
        model = OpenAIModel("echo", base_url=url, max_retries=2)
        with pytest.raises(BackendError, match=r"HTTP 500 from http://127\.0\.0\.1"):
            model.generate([request], 16)
    assert faults.requests == 3


def test_a_bad_request_fails_only_that_item(bench):
    request = _requests(bench)[0]
    faults = Faults([400])
    with running_server(create_app(Echo(), model_id="echo", faults=faults)) as url:
        model = OpenAIModel("echo", base_url=url, max_retries=3)
        with pytest.raises(BackendError, match="HTTP 400") as info:
            model.generate([request], 16)
        assert not isinstance(info.value, FatalBackendError)
        assert model.generate([request], 16) == [_expected(request)]
    assert faults.requests == 2  # 4xx are not retried


def test_wrong_key_or_model_stops_with_a_clear_error(bench, monkeypatch):
    request = _requests(bench)[0]
    monkeypatch.setenv("VL4GAZE_TEST_KEY", "wrong")
    with running_server(create_app(Echo(), model_id="echo", api_key=SECRET)) as url:
        model = OpenAIModel("echo", base_url=url, api_key_env="VL4GAZE_TEST_KEY")
        with pytest.raises(FatalBackendError, match=r"HTTP 401 .*invalid API key"):
            model.generate([request], 16)
        monkeypatch.setenv("VL4GAZE_TEST_KEY", SECRET)
        other = OpenAIModel("gpt-9", base_url=url, api_key_env="VL4GAZE_TEST_KEY")
        with pytest.raises(FatalBackendError, match=r"HTTP 404 .*'gpt-9' not found"):
            other.generate([request, request], 16)


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(FatalBackendError, match="NO_SUCH_KEY_VAR"):
        load_model("openai:gpt-4o", api_key_env="NO_SUCH_KEY_VAR")


def test_eval_over_http_keeps_answers_records_errors_and_never_writes_the_key(
        bench, tmp_path, monkeypatch):
    root, test, train = bench
    monkeypatch.setenv("VL4GAZE_TEST_KEY", SECRET)
    faults = Faults([429, None, 400], retry_after_ms=1)
    with running_server(create_app(Echo(), model_id="echo", api_key=SECRET,
                                   faults=faults)) as url:
        result = run_inference(
            root, tmp_path / "run", RunConfig(
                "openai:echo", shots=1, batch_size=4, progress=False,
                model_options={"base_url": url, "api_key_env": "VL4GAZE_TEST_KEY",
                               "concurrency": 1, "max_retries": 3}),
            items=test, train_items=train)
    assert (result.answered, result.errors) == (8, 1)
    assert faults.requests == 9  # one retry after the 429; the answered items not re-asked
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model_options"]["api_key_env"] == "VL4GAZE_TEST_KEY"
    for path in (tmp_path / "run").iterdir():
        assert SECRET not in path.read_text(), path
    preds = [json.loads(line) for line in result.predictions.read_text().splitlines()]
    errors = [p for p in preds if p["error"]]
    assert len(errors) == 1 and "HTTP 400" in errors[0]["error"]
    assert all(p["raw"].startswith("2 images") for p in preds if not p["error"])
