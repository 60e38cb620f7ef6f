"""The review page in a real browser (Debian's headless Chromium driven by Playwright).

Clicks and keys post decisions and update the summary in place; a click on a point item's
image fixes its gaze point; a reload shows what was stored; item text never runs as script.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest
import uvicorn
from browser import needs_chromium, open_page

from vl4gaze.build import build_benchmark
from vl4gaze.review.app import create_app
from vl4gaze.review.store import ReviewStore
from vl4gaze.sources.gazeworld import synthesize

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("review_browser")
    synthesize(root / "scenes", 6, seed=1, size=96, progress=False)
    build_benchmark([f"gazeworld:{root / 'scenes'}"], root / "bench", progress=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(root / "bench", reviewer="ada"),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with open_page(f"http://127.0.0.1:{port}/", root / "profile") as (page, errors):
            yield page, errors, root
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _pill(page, status: str) -> str:
    return page.locator(f'#summary .pill[data-status="{status}"] b').inner_text()


def test_buttons_keys_and_clicks_record_decisions(served):
    page, errors, root = served
    cards = page.locator("article.card")
    cards.nth(0).locator("button.accept").click()
    page.wait_for_function(
        "document.querySelector('#summary .pill[data-status=accept] b').textContent === '1'")
    assert "st-accept" in cards.nth(0).get_attribute("class")
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.wait_for_function(
        "document.querySelector('#summary .pill[data-status=reject] b').textContent === '1'")
    point = page.locator("article.card[data-task=point]").first
    box = point.locator(".figure img").bounding_box()
    point.locator(".figure").click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.75})
    page.wait_for_function(
        "document.querySelector('#summary .pill[data-status=fix] b').textContent === '1'")
    answer = point.locator(".answer .current").inner_text()
    x, y = (float(v) for v in answer.strip("()").split(","))
    assert abs(x - 0.25) < 0.02 and abs(y - 0.75) < 0.02
    latest = ReviewStore.for_bench(root / "bench").latest()
    assert sorted(d.status for d in latest.values()) == ["accept", "fix", "reject"]
    assert {d.reviewer for d in latest.values()} == {"ada"}
    page.reload()
    page.wait_for_load_state("load")
    assert _pill(page, "accept") == "1" and _pill(page, "fix") == "1"
    assert page.locator("article.card.st-reject").count() == 1
    assert page.locator(".fix-point[visibility=visible], .fix-point:not([visibility])").count() == 1
    shot = root / "review.png"
    page.screenshot(path=str(shot))
    if os.environ.get("VL4GAZE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["VL4GAZE_SCREENSHOT"])
    assert errors == []
    assert page.evaluate("window.__pwned") is None
