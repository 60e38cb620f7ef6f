"""Any OpenAI-compatible chat-completions endpoint: OpenAI, Gemini's compatible endpoint,
vLLM / SGLang / Ollama / LM Studio servers, or ``vl4gaze.serve``.

Images travel as base64 data URLs. A batch is sent with bounded concurrency (a thread
pool over the official ``openai`` client). Retries are the client's own: exponential
backoff with jitter on 408/409/429/5xx, connection errors and timeouts, honouring
``Retry-After``; after ``max_retries`` the item fails and the runner logs its error.
Authentication, permission and not-found errors (401/403/404) stop the run at once with
a clear message; other 4xx fail the one item. The API key is read from an environment
variable (``OPENAI_API_KEY`` or the one named by ``api_key_env``) and is never logged or
written: only the variable's name goes into a run's config.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vl4gaze.models.base import (
    BackendError,
    FatalBackendError,
    PartialBatchError,
    Request,
    iter_parts,
)

#: Status codes that no other request can get past: stop the run.
FATAL_STATUS = {401, 403, 404}


def image_data_url(image: Any, fmt: str = "png") -> str:
    """A PIL image as a ``data:`` URL (PNG by default: lossless, what the model would read)."""
    buffer = io.BytesIO()
    fmt = fmt.lower()
    if fmt in ("jpg", "jpeg"):
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
        mime = "image/jpeg"
    else:
        image.save(buffer, format="PNG")
        mime = "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def to_openai_messages(
    messages: list[dict[str, Any]],
    image_format: str = "png",
    image_part: Callable[[Any], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """vl4gaze messages (PIL image parts) -> OpenAI chat messages (image_url parts).

    System and assistant turns become plain strings, which every compatible server takes.
    ``image_part`` replaces the base64 ``image_url`` part (vLLM takes PIL images as is).
    """
    if image_part is None:
        def image_part(image: Any) -> dict[str, Any]:
            return {"type": "image_url", "image_url": {"url": image_data_url(image, image_format)}}

    out = []
    for message in messages:
        role = message["role"]
        parts = [part for _, part in iter_parts([message])]
        if role in ("system", "assistant"):
            text = "\n".join(p["text"] for p in parts if p.get("type") == "text")
            out.append({"role": role, "content": text})
            continue
        content = []
        for part in parts:
            if part.get("type") == "image":
                content.append(image_part(part["image"]))
            elif part.get("type") == "text":
                content.append({"type": "text", "text": part["text"]})
            else:
                raise ValueError(f"unsupported message part type {part.get('type')!r}")
        out.append({"role": role, "content": content})
    return out


class OpenAIModel:
    """Chat completions over HTTP with retries, backoff and bounded concurrency."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 5,
        timeout: float = 120.0,
        temperature: float = 0.0,
        image_format: str = "png",
        name: str | None = None,
    ) -> None:
        import openai

        key = os.environ.get(api_key_env)
        if key is None:
            if base_url is None:
                raise FatalBackendError(
                    f"no API key: set the environment variable {api_key_env} (or pick another "
                    "variable with --api-key-env)")
            key = "EMPTY"  # local servers (vLLM, Ollama, vl4gaze.serve) often need none
        self.name = name or f"openai:{model}"
        self.model = model
        self.base_url = base_url
        self.temperature = temperature
        self.image_format = image_format
        self.concurrency = max(1, concurrency)
        self._openai = openai
        self.client = openai.OpenAI(api_key=key, base_url=base_url, max_retries=max_retries,
                                    timeout=timeout)

    def __repr__(self) -> str:  # never show the client (it holds the key)
        return f"OpenAIModel(model={self.model!r}, base_url={self.base_url!r})"

    def _ask(self, request: Request, max_new_tokens: int) -> str:
        openai = self._openai
        messages = to_openai_messages(request.messages, self.image_format)
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_new_tokens,
                temperature=self.temperature)
        except openai.APIStatusError as err:
            where = self.base_url or "api.openai.com"
            message = f"HTTP {err.status_code} from {where} for model {self.model!r}: " \
                      f"{_error_text(err)}"
            if err.status_code in FATAL_STATUS:
                raise FatalBackendError(message) from err
            raise BackendError(message) from err
        except openai.APITimeoutError as err:
            raise BackendError(f"timed out after retries: {err}") from err
        except openai.APIConnectionError as err:
            raise BackendError(f"cannot reach {self.base_url or 'the API'}: {err}") from err
        if not response.choices:
            raise BackendError("the server returned no choices")
        return response.choices[0].message.content or ""

    def _ask_safe(self, request: Request, max_new_tokens: int) -> str | BaseException:
        try:
            return self._ask(request, max_new_tokens)
        except Exception as err:
            return err

    def generate(self, requests: list[Request], max_new_tokens: int) -> list[str]:
        """Answers in request order, at most ``concurrency`` requests in flight.

        Raises :class:`FatalBackendError` when any request hit one, else
        :class:`PartialBatchError` (with every answer obtained) when some failed.
        """
        if len(requests) == 1:
            return [self._ask(requests[0], max_new_tokens)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            results = list(pool.map(lambda r: self._ask_safe(r, max_new_tokens), requests))
        for result in results:
            if isinstance(result, FatalBackendError):
                raise result
        if any(isinstance(r, BaseException) for r in results):
            raise PartialBatchError(results)
        return results  # type: ignore[return-value]


def _error_text(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("detail"), str):
            return body["detail"]
    return str(getattr(err, "message", err))
