"""The HTML gallery in a real browser: Debian's headless Chromium driven by Playwright.

Loads with no console errors and every image decoded, the filters change what is
visible, model text never runs as script, and a screenshot is kept for a person to look
at (``tests/artifacts`` is not used: the screenshot goes to pytest's tmp dir and its
path is printed; set VL4GAZE_SCREENSHOT=path to keep a copy).
"""

from __future__ import annotations

import os
import shutil

import pytest
from browser import CHROMIUM, FLAGS, needs_chromium
from test_report import loader, make_runs

from vl4gaze.report import write_report

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("gallery")
    runs, items = make_runs(root)
    index = write_report(runs, root / "REPORT", load_items=loader(items))
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(root / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(index.as_uri())
            page.wait_for_load_state("load")
            yield page, errors, root
        finally:
            context.close()


def _visible(page) -> int:
    return page.locator(".card:visible").count()


def test_loads_without_errors_and_images_decode(page):
    pg, errors, root = page
    for img in pg.locator("img").all():
        img.scroll_into_view_if_needed()
    pg.wait_for_function(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert errors == []
    assert pg.evaluate("window.__pwned") is None  # the injected answers did not run
    assert _visible(pg) == 10
    assert pg.locator("#count").inner_text() == "10 of 10 items"
    assert pg.locator("table.main tbody tr").count() == 3
    shot = root / "gallery.png"
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("VL4GAZE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["VL4GAZE_SCREENSHOT"])
    print(f"screenshot: {shot}")


def test_filters_change_visible_items(page):
    pg, errors, _ = page
    pg.select_option("#f-task", "point")
    assert _visible(pg) == 2
    pg.select_option("#f-task", "all")
    pg.select_option("#f-model", "1")  # the good model: right on object and ambiguity items
    pg.select_option("#f-verdict", "right")
    assert _visible(pg) == 6
    assert pg.locator('.answer[data-model="2"]:visible').count() == 0
    assert pg.locator('.pred[data-model="2"]').first.evaluate("e => e.style.display") == "none"
    pg.select_option("#f-verdict", "wrong")
    assert _visible(pg) == 2  # its two direction answers
    pg.select_option("#f-model", "2")
    assert _visible(pg) == 8  # the evil model is wrong on all it is judged on (not point)
    pg.select_option("#f-task", "point")
    assert _visible(pg) == 0 and pg.locator("#empty").is_visible()
    for select in ("#f-task", "#f-model", "#f-verdict"):
        pg.select_option(select, "all")
    assert _visible(pg) == 10
    assert errors == []
