"""The review web app: one page of items with overlays and accept / fix / reject buttons.

FastAPI serves an HTML page (Jinja2, autoescape on, no ``|safe``: questions and answers
are shown as text, never as markup), the item images, and a small JSON API the page's
script calls. Decisions go straight to ``BENCH/review.sqlite`` (see ``store.py``); the page
is a view of the store, so a reload or a second tab shows the same state.

A benchmark folder may come from anyone, so (issue 21):

- an image is served only when an item names it *and* the path, resolved (symlinks
  followed), lies inside BENCH; ``/etc/passwd``, ``../secret.png`` or a link out of the
  folder named in the image column are 404, and so are the store's own files;
- every request's ``Host`` must be the address the connection arrived on (or
  ``localhost`` on a loopback address), so a web page that rebinds its DNS name to
  127.0.0.1 gets 403, not the API;
- the API docs at ``/api/docs`` are one server-rendered page without scripts (FastAPI's
  default Swagger page loads its scripts from a CDN).
"""

from __future__ import annotations

import html
import ipaddress
import json
import math
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field

from vl4gaze.build import load_benchmark
from vl4gaze.overlays import HEAD_COLOR, TRUE_COLOR, truth_shapes
from vl4gaze.review.apply import (
    answer_fix,
    apply_decision,
    check_fixed_target,
    clickable,
    point_fix,
)
from vl4gaze.review.store import STATUSES, STORE_FILE, UNREVIEWED, Decision, ReviewStore, StoreError
from vl4gaze.schema import QAItem

HERE = Path(__file__).parent
PER_PAGE = 20
FIX_COLOR = "#ff4081"

Unit = Annotated[float, Field(ge=0, le=1)]
StatusFilter = Literal["all", "accept", "fix", "reject", "unreviewed"]


class DecisionIn(BaseModel):
    """A decision posted by the page (or any client) for one item."""

    status: Literal["accept", "fix", "reject"]
    fixed_answer: str | None = Field(default=None, min_length=1, max_length=2000)
    fixed_target: dict[str, Any] | None = None
    #: The true gaze point clicked on the image (normalized), for point / direction items.
    point: tuple[Unit, Unit] | None = None
    note: str = Field(default="", max_length=2000)
    reviewer: str | None = Field(default=None, max_length=200)


class Review:
    """The benchmark's items and decision store, shared by the routes."""

    def __init__(self, bench: Path, split: str | None, reviewer: str) -> None:
        self.bench = Path(bench)
        self.split = split
        self.reviewer = reviewer
        self.items: dict[str, QAItem] = {it.id: it for it in load_benchmark(self.bench, split)}
        self.root = self.bench.resolve()
        named = {it.image for it in self.items.values()}
        self.images = {name for name in named if self.servable(name) is not None}
        #: Images items name that are not served (outside BENCH, missing, not a file).
        self.refused = len(named) - len(self.images)
        self.tasks = sorted({str(it.task) for it in self.items.values()})
        self.store = ReviewStore.for_bench(self.bench)

    def servable(self, name: str) -> Path | None:
        """The file an image path names, if it may be served: resolved inside BENCH."""
        try:
            real = (self.bench / name).resolve()
        except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
            return None
        if real == self.root or not real.is_relative_to(self.root):
            return None
        if real.parent == self.root and real.name.startswith(STORE_FILE):
            return None  # review.sqlite and its -wal / -shm files
        return real if real.is_file() else None

    def item(self, item_id: str) -> QAItem:
        item = self.items.get(item_id)
        if item is None:
            raise HTTPException(404, f"no item {item_id!r} in {self.bench} (split {self.split})")
        return item

    def select(self, task: str, status: str) -> tuple[list[QAItem], dict[str, Decision]]:
        """Items matching the filters, in benchmark order, and every current decision."""
        latest = self.store.latest()
        chosen = []
        for item in self.items.values():
            decision = latest.get(item.id)
            state = decision.status if decision else UNREVIEWED
            if task in ("all", item.task) and status in ("all", state):
                chosen.append(item)
        return chosen, latest

    def summary(self) -> dict[str, Any]:
        """Counts per status, overall and per task."""
        latest = self.store.latest()
        per_task: dict[str, Counter[str]] = {t: Counter() for t in self.tasks}
        for item in self.items.values():
            decision = latest.get(item.id)
            per_task[str(item.task)][decision.status if decision else UNREVIEWED] += 1
        keys = (*STATUSES, UNREVIEWED)
        total = sum((c for c in per_task.values()), Counter())
        return {"total": len(self.items), "status": {k: total[k] for k in keys},
                "task": {t: {k: c[k] for k in keys} for t, c in per_task.items()}}

    def as_json(self, item: QAItem, decision: Decision | None) -> dict[str, Any]:
        """An item with its current decision and the answer / target it has after it."""
        row = {"answer": item.answer, "target": item.target}
        after = apply_decision(row, decision) or row
        return {"id": item.id, "task": str(item.task), "split": item.split,
                "image_url": f"/file/{item.image}", "width": item.width, "height": item.height,
                "question": item.question, "answer": item.answer, "target": item.target,
                "person_ref": str(item.person_ref),
                "person_head": None if item.person_head is None else
                list(item.person_head.as_tuple()),
                "decision": None if decision is None else decision.to_dict(),
                "current_answer": after["answer"], "current_target": after["target"]}

    def decide(self, item: QAItem, body: DecisionIn) -> Decision:
        """Validate a posted decision and append it to the store (422 when it is bad)."""
        fixed_answer, fixed_target = body.fixed_answer, body.fixed_target
        try:
            if body.status != "fix" and (fixed_answer or fixed_target or body.point):
                raise ValueError(f"status {body.status!r} takes no fixed answer, target or "
                                 "point; use 'fix'")
            if body.point is not None:
                answer, target = point_fix(item, *body.point)
                fixed_target = {**target, **(fixed_target or {})}
                fixed_answer = fixed_answer or answer
            elif fixed_answer is not None:
                fixed_answer, target = answer_fix(item, fixed_answer)
                fixed_target = {**target, **(fixed_target or {})}
            if fixed_target is not None:
                check_fixed_target(item.task, fixed_target)
            return self.store.record(item.id, body.status, fixed_answer=fixed_answer,
                                     fixed_target=fixed_target, note=body.note,
                                     reviewer=body.reviewer or self.reviewer)
        except ValueError as err:
            raise HTTPException(422, str(err)) from err


def _environment() -> Environment:
    """Autoescape ON for every template: item text is untrusted."""
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                       undefined=StrictUndefined)


def _card(review: Review, item: QAItem, decision: Decision | None) -> dict[str, Any]:
    data = review.as_json(item, decision)
    data["shapes"] = truth_shapes(item, item.width, item.height)
    data["target_text"] = json.dumps(item.target, indent=1, sort_keys=True)
    data["clickable"] = clickable(item.task)
    fixed = (decision.fixed_target or {}) if decision else {}
    point = fixed.get("mean") or fixed.get("gaze")
    data["fix_norm"] = point
    data["fix_point"] = None if point is None else [point[0] * item.width,
                                                    point[1] * item.height]
    data["fix_r"] = round(max(item.width, item.height) * 0.02, 1)
    return data


def create_app(bench: Path, *, split: str | None = "test", reviewer: str = "") -> FastAPI:
    """The review app for one benchmark split (``split=None``: every split)."""
    review = Review(bench, split, reviewer)
    env = _environment()
    app = FastAPI(title="vl4gaze review", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.review = review
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def same_host_only(request: Request, call_next: Any) -> Any:
        host = request.headers.get("host", "")
        if not host_allowed(host, request.scope.get("server")):
            return PlainTextResponse(
                f"Host {host!r} is not the address this review server listens on; open "
                "it by that address (e.g. http://127.0.0.1:PORT/)", status_code=403)
        return await call_next(request)

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(api_docs(app.openapi()))

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, task: str = "all", status: StatusFilter = "all",
              page: Annotated[int, Query(ge=1)] = 1,
              per_page: Annotated[int, Query(ge=1, le=200)] = PER_PAGE) -> HTMLResponse:
        chosen, latest = review.select(task, status)
        pages = max(1, math.ceil(len(chosen) / per_page))
        page = min(page, pages)
        shown = chosen[(page - 1) * per_page: page * per_page]

        def link(p: int) -> str:
            return "/?" + urlencode({"task": task, "status": status, "page": p,
                                     "per_page": per_page})

        html = env.get_template("review.html.j2").render(
            bench=str(review.bench), split=review.split or "all", reviewer=review.reviewer,
            tasks=review.tasks, task=task, status=status, statuses=(*STATUSES, UNREVIEWED),
            cards=[_card(review, it, latest.get(it.id)) for it in shown],
            matched=len(chosen), page=page, pages=pages, first=(page - 1) * per_page,
            prev_url=link(page - 1) if page > 1 else None,
            next_url=link(page + 1) if page < pages else None,
            summary=review.summary(), refused=review.refused, head_color=HEAD_COLOR,
            true_color=TRUE_COLOR,
            fix_color=FIX_COLOR)
        return HTMLResponse(html)

    @app.get("/file/{path:path}")
    def image(path: str) -> FileResponse:
        # Only paths items name, resolved again now (a link may have changed since start)
        # and inside BENCH: "../", absolute paths, links out and other files are not found.
        real = review.servable(path) if path in review.images else None
        if real is None:
            raise HTTPException(404, "no such image")
        return FileResponse(real)

    @app.get("/api/items")
    def items(task: str = "all", status: StatusFilter = "all",
              page: Annotated[int, Query(ge=1)] = 1,
              per_page: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        chosen, latest = review.select(task, status)
        shown = chosen[(page - 1) * per_page: page * per_page]
        return {"total": len(chosen), "page": page, "per_page": per_page,
                "items": [review.as_json(it, latest.get(it.id)) for it in shown]}

    @app.get("/api/items/{item_id}")
    def one(item_id: str) -> dict[str, Any]:
        item = review.item(item_id)
        history = review.store.history(item_id)
        return {**review.as_json(item, history[-1] if history else None),
                "history": [d.to_dict() for d in history]}

    @app.post("/api/items/{item_id}/decision")
    def decide(item_id: str, body: DecisionIn) -> dict[str, Any]:
        item = review.item(item_id)
        return review.as_json(item, review.decide(item, body))

    @app.get("/api/summary")
    def summary() -> dict[str, Any]:
        return review.summary()

    return app


_LOOPBACK_NAMES = ("localhost", "localhost.")


def host_allowed(host: str, server: tuple[str, int | None] | None) -> bool:
    """Whether a ``Host`` header names the address the connection arrived on.

    ``server`` is the ASGI scope's (local address, port). A name other than the address
    itself is refused (that is what DNS rebinding sends), except ``localhost`` when the
    address is a loopback one. Without a known local address only loopback names pass.
    """
    name, port = _split_host(host)
    if name is None:
        return False
    bound, bound_port = server if server else (None, None)
    if port is not None and bound_port is not None and port != bound_port:
        return False
    if port is None and bound_port not in (None, 80):
        return False
    if bound is None:
        return name in _LOOPBACK_NAMES or _is_loopback(name)
    if name == bound.lower().strip("[]"):
        return True
    return name in _LOOPBACK_NAMES and _is_loopback(bound)


def _split_host(host: str) -> tuple[str | None, int | None]:
    host = host.strip().lower()
    if not host:
        return None, None
    if host.startswith("["):  # [::1]:8765
        end = host.find("]")
        if end < 0:
            return None, None
        name, rest = host[1:end], host[end + 1:]
        if rest and not rest.startswith(":"):
            return None, None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = host.partition(":")
    if port_text:
        if not port_text.isdigit():
            return None, None
        return name, int(port_text)
    return name, None


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def api_docs(schema: dict[str, Any]) -> str:
    """The JSON API as one static HTML page: routes, parameters, body fields; no script."""
    rows = []
    for path, methods in sorted(schema.get("paths", {}).items()):
        for method, op in methods.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(f"<tr><td><code>{html.escape(method.upper())}</code></td>"
                        f"<td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td>"
                        f"<td>{html.escape(params)}</td></tr>")
    body = schema.get("components", {}).get("schemas", {}).get("DecisionIn", {})
    fields = ", ".join(f"<code>{html.escape(k)}</code>" for k in body.get("properties", {}))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>vl4gaze review API"
            "</title></head><body><h1>vl4gaze review: JSON API</h1>"
            "<table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>what</th>"
            f"<th>parameters</th></tr>{''.join(rows)}</table>"
            f"<p>Decision body fields: {fields}.</p>"
            "<p>Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a>. See "
            "docs/review.md.</p></body></html>")
