"""A small OpenAI-compatible chat-completions server over any vl4gaze model.

It puts a local model (``tiny``, a fine-tuned checkpoint, ``hf:...``) behind the same
HTTP protocol as hosted APIs, so ``--model openai:NAME --base-url http://HOST:PORT/v1``
and third-party harnesses can use it. Tests use it with injected faults (HTTP 429 / 5xx,
slow answers) to check the client's retries against a real server.

    python -m vl4gaze.serve --model tiny --port 8000
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi import Request as HTTPRequest
from fastapi.responses import JSONResponse
from PIL import Image

from vl4gaze.models.base import Model, Request


class Faults:
    """Planned failures, consumed one per chat request, in order (thread-safe).

    Each entry is ``None`` (answer normally), an HTTP status such as ``429`` or ``500``,
    or ``"slow:SECONDS"`` (wait, then answer). ``retry_after_ms`` adds the header that
    OpenAI clients honour, which keeps retry tests fast. ``requests`` counts chat calls.
    """

    def __init__(self, plan: Iterable[int | str | None] = (), retry_after_ms: int | None = None):
        self._plan: deque[int | str | None] = deque(plan)
        self._lock = threading.Lock()
        self.retry_after_ms = retry_after_ms
        self.requests = 0

    def next(self) -> int | str | None:
        with self._lock:
            self.requests += 1
            return self._plan.popleft() if self._plan else None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
            429: "rate_limit_error"}.get(status, "server_error")
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}},
                        status_code=status, headers=headers)


def decode_data_url(url: str) -> Image.Image:
    """``data:image/...;base64,...`` -> RGB PIL image; anything else is refused."""
    if not url.startswith("data:") or ";base64," not in url:
        raise ValueError("only base64 data URLs are accepted (this server is offline)")
    try:
        raw = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
        with Image.open(io.BytesIO(raw)) as img:
            return img.convert("RGB")
    except (binascii.Error, OSError) as err:
        raise ValueError(f"image data URL is not a readable image: {err}") from err


def from_openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chat messages -> vl4gaze messages (PIL image parts)."""
    out = []
    for index, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"messages[{index}].role {role!r} is not system/user/assistant")
        if isinstance(content, str):
            out.append({"role": role, "content": [{"type": "text", "text": content}]})
            continue
        parts = []
        for j, part in enumerate(content or []):
            kind = part.get("type")
            if kind == "text":
                parts.append({"type": "text", "text": part.get("text", "")})
            elif kind == "image_url":
                url = part.get("image_url", {})
                url = url.get("url", "") if isinstance(url, dict) else url
                parts.append({"type": "image", "image": decode_data_url(url)})
            else:
                raise ValueError(f"messages[{index}].content[{j}].type {kind!r} is not supported")
        out.append({"role": role, "content": parts})
    return out


def create_app(
    model: Model,
    *,
    model_id: str | None = None,
    api_key: str | None = None,
    faults: Faults | None = None,
) -> FastAPI:
    """The FastAPI app: ``POST /v1/chat/completions`` and ``GET /v1/models``.

    With ``api_key`` set, requests must carry ``Authorization: Bearer <key>`` (else 401).
    The model is called under a lock: transformers models are not thread-safe.
    """
    app = FastAPI(title="vl4gaze OpenAI-compatible server")
    served = model_id or model.name
    lock = threading.Lock()

    def authorised(request: HTTPRequest) -> bool:
        return api_key is None or request.headers.get("authorization") == f"Bearer {api_key}"

    @app.get("/v1/models")
    def models(request: HTTPRequest) -> Any:
        if not authorised(request):
            return _error(401, "invalid API key")
        return {"object": "list", "data": [{"id": served, "object": "model",
                                            "owned_by": "vl4gaze"}]}

    @app.post("/v1/chat/completions")
    def chat(request: HTTPRequest, body: dict[str, Any]) -> Any:
        if not authorised(request):
            return _error(401, "invalid API key")
        fault = faults.next() if faults else None
        if isinstance(fault, int):
            headers = ({"retry-after-ms": str(faults.retry_after_ms)}
                       if faults and faults.retry_after_ms is not None else None)
            return _error(fault, f"injected fault {fault}", headers)
        if isinstance(fault, str) and fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
        if body.get("model") not in (served, None):
            return _error(404, f"model {body.get('model')!r} not found; this server has {served!r}")
        try:
            messages = from_openai_messages(body.get("messages") or [])
        except ValueError as err:
            return _error(400, str(err))
        if not messages:
            return _error(400, "messages is empty")
        max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 64)
        with lock:
            text = model.generate([Request(messages)], max_tokens)[0]
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": served,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    return app


@contextmanager
def running_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a background thread; yields the base URL (``http://host:port/v1``).

    ``port=0`` picks a free port. The server stops when the block ends.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on {host}:{port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m vl4gaze.serve --model SPEC [--host H] [--port P] [--api-key-env NAME]``."""
    import uvicorn

    from vl4gaze.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a vl4gaze model spec, e.g. tiny")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key-env", default=None,
                        help="require the key held by this environment variable")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    model = load_model(args.model, device=args.device)
    uvicorn.run(create_app(model, model_id=args.model, api_key=api_key), host=args.host,
                port=args.port)


if __name__ == "__main__":
    main()
