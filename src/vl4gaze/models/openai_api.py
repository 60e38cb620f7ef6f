"""Any OpenAI-compatible chat-completions endpoint: OpenAI, Gemini's compatible endpoint,
vLLM / SGLang / Ollama / LM Studio servers, or ``vl4gaze.serve``.

Images travel as base64 data URLs. A batch is sent with bounded concurrency (a thread
pool over the official ``openai`` client). Retries are ours (the client's are off, so
that they obey the deadlines): exponential backoff with jitter on 408/409/429/5xx,
connection errors and timeouts, honouring ``Retry-After`` / ``retry-after-ms``; after
``max_retries`` the item fails and the runner logs its error. Authentication, permission
and not-found errors (401/403/404) stop the run at once with a clear message; other 4xx
fail the one item.

Deadlines (issue 21: a server that accepted the connection and never answered held a run
744 s per item): ``request_timeout`` bounds one HTTP attempt from connecting to the last
byte of the body (every socket read and write gets at most the time left, so a server
that trickles bytes is cut too), ``item_timeout`` bounds an item's attempts and waits
together. A body that is not a JSON chat completion (HTML with status 200, a wrong
content-type, JSON of another shape) is a clear per-item error, not a traceback.

The API key is read from an environment variable (``OPENAI_API_KEY`` or the one named by
``api_key_env``) and only the variable's name goes into a run's config. Whatever a server
echoes (an error message quoting the Authorization header, an answer holding it), every
answer and error message leaves this module with the key replaced by ``[REDACTED]``, so
it reaches no file and no terminal.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import random
import threading
import time
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
#: Status codes worth asking again (with backoff).
RETRY_STATUS = {408, 409, 429}
#: What replaces the API key in every answer and message.
REDACTED = "[REDACTED]"
#: Keys shorter than this are not secrets a provider issues ("EMPTY" for local servers);
#: they are left alone rather than blanked out of every answer that contains the letters.
MIN_SECRET_CHARS = 8
#: Longest wait between attempts, and the cap on a server's Retry-After.
MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 60.0

_DEADLINE = threading.local()  # .at: time.monotonic() by which the current attempt ends


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
    """Chat completions over HTTP with deadlines, retries, backoff and bounded concurrency."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 5,
        request_timeout: float = 120.0,
        item_timeout: float = 600.0,
        timeout: float | None = None,
        temperature: float = 0.0,
        image_format: str = "png",
        name: str | None = None,
    ) -> None:
        import openai

        if timeout is not None:  # the older name of request_timeout
            request_timeout = timeout
        if not (request_timeout > 0 and item_timeout > 0):
            raise ValueError("request_timeout and item_timeout must be positive seconds")
        key = os.environ.get(api_key_env)
        if key is None:
            if base_url is None:
                raise FatalBackendError(
                    f"no API key: set the environment variable {api_key_env} (or pick another "
                    "variable with --api-key-env)")
            key = "EMPTY"  # local servers (vLLM, Ollama, vl4gaze.serve) often need none
        self._secrets = _secret_forms(key)
        self.name = name or f"openai:{model}"
        self.model = model
        self.base_url = base_url
        self.temperature = temperature
        self.image_format = image_format
        self.concurrency = max(1, concurrency)
        self.max_retries = max(0, max_retries)
        self.request_timeout = float(request_timeout)
        self.item_timeout = float(item_timeout)
        self._openai = openai
        http_client = openai.DefaultHttpxClient()
        self.deadline_enforced = install_deadlines(http_client)
        self.client = openai.OpenAI(api_key=key, base_url=base_url, max_retries=0,
                                    timeout=self.request_timeout, http_client=http_client)

    def __repr__(self) -> str:  # never show the client (it holds the key)
        return f"OpenAIModel(model={self.model!r}, base_url={self.base_url!r})"

    def redact(self, text: str) -> str:
        """``text`` with every form of the API key replaced by ``[REDACTED]``."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _ask(self, request: Request, max_new_tokens: int) -> str:
        """One item: attempts until an answer, a fatal error, the retries or the deadline."""
        messages = to_openai_messages(request.messages, self.image_format)
        deadline = time.monotonic() + self.item_timeout
        attempt = 0
        while True:
            budget = min(self.request_timeout, deadline - time.monotonic())
            try:
                if budget <= 0:
                    raise _Retry(f"no answer within item_timeout {self.item_timeout:g} s")
                return self.redact(self._attempt(messages, max_new_tokens, budget))
            except _Retry as err:
                attempt += 1
                message = self.redact(str(err))
                wait = _backoff(attempt, err.retry_after)
                late = time.monotonic() + wait >= deadline
                if attempt > self.max_retries or late:
                    why = (f"after {attempt} attempt{'s' * (attempt > 1)}" if not late else
                           f"item_timeout {self.item_timeout:g} s reached after {attempt} "
                           f"attempt{'s' * (attempt > 1)}")
                    raise BackendError(f"{message} ({why})") from None
                time.sleep(wait)
            except (BackendError, FatalBackendError) as err:
                raise type(err)(self.redact(str(err))) from None
            except Exception as err:  # anything else the client raises: one clear line
                raise BackendError(self.redact(f"{type(err).__name__}: {err}")) from None

    def _attempt(self, messages: list[dict[str, Any]], max_new_tokens: int,
                 budget: float) -> str:
        """One HTTP request, ended by ``budget`` seconds whatever the server does."""
        openai = self._openai
        where = self.base_url or "api.openai.com"
        _DEADLINE.at = time.monotonic() + budget
        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model=self.model, messages=messages, max_tokens=max_new_tokens,
                temperature=self.temperature, timeout=budget)
            http = raw.http_response
            body = http.content
        except openai.APIStatusError as err:
            message = f"HTTP {err.status_code} from {where} for model {self.model!r}: " \
                      f"{_error_text(err)}"
            if err.status_code in FATAL_STATUS:
                raise FatalBackendError(message) from None
            if err.status_code in RETRY_STATUS or err.status_code >= 500:
                raise _Retry(message, _retry_after(err.response.headers)) from None
            raise BackendError(message) from None
        except openai.APITimeoutError:
            raise _Retry(f"no complete answer from {where} within {budget:.3g} s "
                         "(request_timeout)") from None
        except openai.APIConnectionError as err:
            raise _Retry(f"cannot reach {where}: {err}") from None
        finally:
            _DEADLINE.at = None
        return _answer_of(http.status_code, http.headers.get("content-type"), body, where)

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


class _Retry(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's wish, in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _secret_forms(key: str) -> tuple[str, ...]:
    """The key as a server might echo it: as is, URL-quoted, JSON-escaped."""
    if len(key) < MIN_SECRET_CHARS:
        return ()
    from urllib.parse import quote

    forms = {key, quote(key, safe=""), json.dumps(key)[1:-1]}
    return tuple(sorted(forms, key=len, reverse=True))


def _backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds before attempt ``attempt + 1``: the server's Retry-After, else 0.5 * 2^n."""
    if retry_after is not None:
        return min(max(0.0, retry_after), MAX_RETRY_AFTER_S)
    return min(MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.75, 1.0)


def _retry_after(headers: Any) -> float | None:
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        try:
            return float(value) / divisor if value is not None else None
        except ValueError:
            continue
    return None


def _snippet(body: bytes, limit: int = 80) -> str:
    """The start of a body as one printable line (for error messages)."""
    text = body[:limit * 4].decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def _answer_of(status: int, content_type: str | None, body: bytes, where: str) -> str:
    """The answer text of a chat-completions body, or a BackendError saying what came."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime != "application/json" and not mime.endswith("+json"):
        raise BackendError(f"HTTP {status} from {where} is {mime}, not JSON: {_snippet(body)}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BackendError(f"HTTP {status} from {where}: the body is not JSON: "
                           f"{_snippet(body)}") from None
    try:
        content = data["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        if isinstance(data, dict) and isinstance(data.get("choices"), list) \
                and not data["choices"]:
            raise BackendError("the server returned no choices") from None
        raise BackendError(f"HTTP {status} from {where}: not a chat completion (no "
                           f"choices[0].message): {_snippet(body)}") from None
    if content is None:
        return ""
    if not isinstance(content, str):
        raise BackendError(f"HTTP {status} from {where}: choices[0].message.content is "
                           f"{type(content).__name__}, not text")
    return content


def install_deadlines(http_client: Any) -> bool:
    """Make every socket read / write of ``http_client`` stop at the current attempt's end.

    httpx's timeouts apply per read, so a server that sends one byte at a time is never
    cut; wrapping the connection pools' network backend clamps each operation to the time
    left (``_DEADLINE.at``). Relies on httpcore's ``ConnectionPool._network_backend``; returns
    False (only per-read timeouts then) when this httpx / httpcore does not have it.
    """
    transports = [getattr(http_client, "_transport", None),
                  *getattr(http_client, "_mounts", {}).values()]
    done = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            continue
        if not isinstance(backend, _DeadlineBackend):
            core = importlib.import_module(type(pool).__module__.split(".")[0])
            pool._network_backend = _DeadlineBackend(backend, core)
        done = True
    return done


def _time_left(core: Any, exc: str, timeout: float | None) -> float | None:
    at = getattr(_DEADLINE, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise getattr(core, exc)("the request's overall deadline (request_timeout) passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """A network stream whose reads and writes end by the attempt's deadline."""

    def __init__(self, inner: Any, core: Any) -> None:
        self._inner, self._core = inner, core

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(self._core, "ReadTimeout", timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(self._core, "WriteTimeout", timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> _DeadlineStream:
        inner = self._inner.start_tls(ssl_context, server_hostname,
                                      _time_left(self._core, "ConnectTimeout", timeout))
        return _DeadlineStream(inner, self._core)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    """httpcore's network backend, handing out :class:`_DeadlineStream` connections."""

    def __init__(self, inner: Any, core: Any) -> None:
        self._inner, self._core = inner, core

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> Any:
        stream = self._inner.connect_tcp(host, port, _time_left(self._core, "ConnectTimeout",
                                                                 timeout),
                                         local_address, socket_options)
        return _DeadlineStream(stream, self._core)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> Any:
        stream = self._inner.connect_unix_socket(
            path, _time_left(self._core, "ConnectTimeout", timeout), socket_options)
        return _DeadlineStream(stream, self._core)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _error_text(err: Any) -> str:
    """The server's message for a failed status, as one bounded printable line."""
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return _one_line(str(inner["message"]))
        if isinstance(body.get("detail"), str):
            return _one_line(body["detail"])
    response = getattr(err, "response", None)
    if response is not None:
        mime = response.headers.get("content-type", "").split(";")[0].strip() or "no type"
        return f"{mime} body {_snippet(response.content)}"
    return _one_line(str(getattr(err, "message", err)))


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text[:limit] + ("..." if len(text) > limit else "")
