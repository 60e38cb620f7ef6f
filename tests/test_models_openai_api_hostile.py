"""The OpenAI back end against hostile servers on 127.0.0.1 (issue 21).

Each server is a real ``http.server`` started by the test: one that echoes the request's
Authorization header (in errors and in answers), one that never answers, one that sends
its headers a byte at a time, and ones whose 200 body is HTML, broken JSON or JSON of
another shape. Before the fix: the silent server held an item 744 s (per-read timeouts,
client retries), the echoed key reached predictions.jsonl and items.parquet, and HTML
became ``AttributeError: 'str' object has no attribute 'choices'``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vl4gaze.models import BackendError, FatalBackendError, Request
from vl4gaze.models.openai_api import REDACTED, OpenAIModel

SECRET = "sk-hostile-0123456789abcdef-never-written"
KEY_ENV = "VL4GAZE_HOSTILE_KEY"
MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "Where is she looking?"}]}]


def _completion(text: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}]}
                      ).encode()


class Hostile(BaseHTTPRequestHandler):
    """Answers chat requests as ``server.mode`` says (``mode`` may be a per-request list)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        with server.lock:
            server.requests += 1
            n = server.requests
        mode = server.mode if isinstance(server.mode, str) else server.mode[(n - 1) %
                                                                             len(server.mode)]
        auth = self.headers.get("Authorization", "")
        if mode == "echo-200":
            self._send(200, _completion(f"(0.25, 0.75) -- you sent {auth}"))
        elif mode == "echo-400":
            self._send(400, json.dumps({"error": {"message": f"bad request from {auth}"}}
                                       ).encode())
        elif mode == "echo-500-text":
            self._send(500, f"upstream failed for {auth}".encode(), "text/plain")
        elif mode == "echo-401":
            self._send(401, json.dumps({"error": {"message": f"key {auth} refused"}}).encode())
        elif mode == "html-200":
            self._send(200, b"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body>"
                            b"</html>", "text/html; charset=utf-8")
        elif mode == "broken-json":
            self._send(200, b'{"choices": [{"message": ')
        elif mode == "other-json":
            self._send(200, b'{"object": "list", "data": []}')
        elif mode == "silent":
            server.release.wait(30)
        elif mode == "trickle":  # headers one byte every 0.1 s: no single read times out
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " \
                        + b"a" * 60:
                if server.release.wait(0.1):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()


@contextmanager
def hostile(mode: str | list[str]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    server.mode, server.requests, server.lock = mode, 0, threading.Lock()
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, SECRET)
    return SECRET


def _model(url: str, **options: object) -> OpenAIModel:
    return OpenAIModel("m", base_url=url, api_key_env=KEY_ENV, **options)


def _ask(model: OpenAIModel) -> str:
    return model.generate([Request(MESSAGES)], 16)[0]


def test_an_echoed_key_is_redacted_from_answers_and_errors(key: str) -> None:
    with hostile("echo-200") as server:
        answer = _ask(_model(server.url))
    assert key not in answer and f"Bearer {REDACTED}" in answer
    for mode, error in (("echo-400", BackendError), ("echo-500-text", BackendError),
                        ("echo-401", FatalBackendError)):
        with hostile(mode) as server, pytest.raises(error) as info:
            _ask(_model(server.url, max_retries=1))
        text = str(info.value)
        assert key not in text and REDACTED in text, (mode, text)
        assert info.value.__cause__ is None and "\n" not in text


def test_a_server_that_never_answers_is_cut_by_the_request_deadline(key: str) -> None:
    with hostile("silent") as server:
        start = time.monotonic()
        with pytest.raises(BackendError, match=r"within 0\.5 s \(request_timeout"):
            _ask(_model(server.url, request_timeout=0.5, max_retries=0))
        took = time.monotonic() - start
    assert took < 2.5


def test_a_trickling_server_is_cut_by_the_overall_deadline(key: str) -> None:
    """Each byte arrives well within any per-read timeout; only an overall deadline ends it."""
    with hostile("trickle") as server:
        model = _model(server.url, request_timeout=0.8, max_retries=0)
        assert model.deadline_enforced
        start = time.monotonic()
        with pytest.raises(BackendError, match="request_timeout"):
            _ask(model)
        took = time.monotonic() - start
    assert took < 3.0, took  # the headers alone would take 8 s


def test_the_item_deadline_bounds_retries_and_waits(key: str) -> None:
    with hostile("silent") as server:
        start = time.monotonic()
        with pytest.raises(BackendError, match=r"item_timeout 1\.2 s reached"):
            _ask(_model(server.url, request_timeout=0.5, item_timeout=1.2, max_retries=50))
        took = time.monotonic() - start
        assert server.requests >= 2
    assert took < 3.5, took


@pytest.mark.parametrize(("mode", "message"), [
    ("html-200", r"HTTP 200 from http://127\.0\.0\.1:\d+/v1 is text/html, not JSON: "
                 r"'<!DOCTYPE html><html><body><h1>Welcome to nginx!"),
    ("broken-json", r"HTTP 200 from .* the body is not JSON: '\{\"choices\""),
    ("other-json", r"HTTP 200 from .* not a chat completion \(no choices\[0\]\.message\)"),
])
def test_bodies_that_are_not_chat_completions_are_clear_item_errors(key: str, mode: str,
                                                                    message: str) -> None:
    with hostile(mode) as server:
        with pytest.raises(BackendError, match=message) as info:
            _ask(_model(server.url))
        assert not isinstance(info.value, FatalBackendError)
        assert server.requests == 1  # a bad body is not retried


def test_eval_writes_and_prints_no_key_whatever_the_server_echoes(
        key: str, tmp_path: Path) -> None:
    from vl4gaze.build import build_benchmark
    from vl4gaze.cli import app
    from vl4gaze.sources.gazeworld import synthesize

    synthesize(tmp_path / "scenes", 6, seed=2, size=64, progress=False)
    build_benchmark([f"gazeworld:{tmp_path / 'scenes'}"], tmp_path / "bench", seed=0,
                    progress=False)
    run = tmp_path / "run"
    with hostile(["echo-200", "echo-400", "echo-500-text"]) as server:
        result = CliRunner().invoke(app, [
            "eval", str(tmp_path / "bench"), "--model", "openai:m", "-o", str(run),
            "--base-url", server.url, "--api-key-env", KEY_ENV, "--concurrency", "2",
            "--tasks", "point,direction,ambiguity", "--request-timeout", "5",
            "--item-timeout", "0.3", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert key not in result.output
    config = json.loads((run / "config.json").read_text())
    assert config["model_options"]["request_timeout"] == 5.0
    assert config["model_options"]["item_timeout"] == 0.3
    preds = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert any(p["error"] and "HTTP 400" in p["error"] for p in preds)
    assert any(p["error"] and "item_timeout 0.3 s" in p["error"] for p in preds)
    assert any(p["raw"] and REDACTED in p["raw"] for p in preds)
    files = [p for p in run.rglob("*") if p.is_file()]
    assert any(p.name == "items.parquet" for p in files)
    for path in files:
        assert key.encode() not in path.read_bytes(), path
    table = pq.read_table(run / "items.parquet").to_pylist()
    assert table and not any(key in str(v) for row in table for v in row.values())
