"""The HTML gallery in a real browser: Debian's headless Chromium driven by Playwright.

Loads with no console errors and every image decoded, the filters, the sort orders,
paging, picture sizes and zoom change what is visible, model text never runs as
script, and a screenshot is kept for a person to look at (``tests/artifacts`` is not
used: the screenshot goes to pytest's tmp dir and its path is printed; set
VL4GAZE_SCREENSHOT=path to keep a copy).

The fixture's verdicts (tests/test_report.py ``make_runs``): the oracle is right or not
judged everywhere; the good model is wrong on both direction items; the evil model is
wrong on every object, direction and ambiguity item and unparsed on both point items.
"""

from __future__ import annotations

import os
import shutil

import pytest
from browser import needs_chromium, open_page
from test_report import loader, make_runs

from vl4gaze.report import write_report

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("gallery")
    runs, items = make_runs(root)
    index = write_report(runs, root / "REPORT", load_items=loader(items))
    with open_page(index.as_uri(), root / "profile") as (page, errors):
        yield page, errors, root


def _visible(page) -> int:
    return page.locator(".card:visible").count()


def _order(page) -> list[str]:
    return page.eval_on_selector_all(".card:not([hidden])", "cs => cs.map(c => c.dataset.id)")


def _reset(page) -> None:
    for select in ("#f-task", "#f-model", "#f-verdict"):
        page.select_option(select, "all")
    page.select_option("#f-sort", "failures")
    page.select_option("#f-limit", "48")


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
    _reset(pg)
    pg.select_option("#f-task", "point")
    assert _visible(pg) == 2
    pg.select_option("#f-task", "all")
    pg.select_option("#f-model", "1")  # the good model: right on object and ambiguity items
    pg.select_option("#f-verdict", "correct")
    assert _visible(pg) == 6
    assert pg.locator('.answer[data-model="2"]:visible').count() == 0
    assert pg.locator('.pred[data-model="2"]').first.evaluate("e => e.style.display") == "none"
    pg.select_option("#f-verdict", "wrong")
    assert _visible(pg) == 2  # its two direction answers
    pg.select_option("#f-model", "2")
    assert _visible(pg) == 8  # the evil model is wrong on all but the point items...
    pg.select_option("#f-verdict", "unparsed")
    assert _visible(pg) == 2  # ...where it gave nothing readable
    pg.select_option("#f-verdict", "failed")
    assert _visible(pg) == 10
    pg.select_option("#f-verdict", "wrong")
    pg.select_option("#f-task", "point")
    assert _visible(pg) == 0 and pg.locator("#empty").is_visible()
    _reset(pg)
    assert _visible(pg) == 10
    assert errors == []


def test_failures_first_and_the_other_sort_orders(page):
    pg, errors, _ = page
    _reset(pg)
    # two models fail each direction item, one model each other item; then task order
    assert _order(pg) == ["dir002", "dir003", "obj004", "obj005", "poi000", "poi001",
                          "amb006", "amb007", "amb008", "amb009"]
    pg.select_option("#f-sort", "task")
    assert _order(pg)[:4] == ["obj004", "obj005", "dir002", "dir003"]
    pg.select_option("#f-sort", "verdict")  # unparsed, then wrong (most failures first)
    assert _order(pg)[:4] == ["poi000", "poi001", "dir002", "dir003"]
    pg.select_option("#f-sort", "id")
    assert _order(pg)[:2] == ["amb006", "amb007"]
    pg.select_option("#f-sort", "model")  # the good model's failures, then the evil one's
    assert _order(pg)[:3] == ["dir002", "dir003", "obj004"]
    pg.select_option("#f-model", "2")
    pg.select_option("#f-sort", "verdict")
    assert _order(pg)[:2] == ["poi000", "poi001"]
    _reset(pg)
    assert errors == []


def test_paging_shows_a_few_cards_and_more_on_request(page):
    pg, errors, _ = page
    _reset(pg)
    pg.evaluate("document.getElementById('f-limit').add(new Option('4', '4'))")
    pg.select_option("#f-limit", "4")
    assert _visible(pg) == 4 and "10 match" in pg.locator("#count").inner_text()
    pg.click("#show-more")
    assert _visible(pg) == 8
    pg.click("#show-more")
    assert _visible(pg) == 10 and not pg.locator("#more").is_visible()
    _reset(pg)
    assert errors == []


def test_picture_size_and_zoom(page):
    pg, errors, _ = page
    _reset(pg)
    figure = pg.locator(".card:visible .figure").first
    small = figure.bounding_box()["width"]
    pg.select_option("#f-size", "large")
    large = figure.bounding_box()["width"]
    assert small == pytest.approx(180, abs=2) and large == pytest.approx(420, abs=2)
    pg.select_option("#f-size", "small")
    figure.click()
    zoom = pg.locator("dialog#zoom")
    assert zoom.evaluate("d => d.open")
    shown = zoom.locator(".figure")
    assert shown.locator("img").count() == 1 and shown.locator("svg.overlay").count() == 1
    box = shown.bounding_box()
    assert box["width"] > 3 * small and box["height"] <= 1000  # enlarged, inside the window
    assert "dir002" in zoom.locator(".zoom-caption").inner_text()
    pg.keyboard.press("Escape")
    assert not zoom.evaluate("d => d.open")
    figure.click()
    zoom.click()
    assert not zoom.evaluate("d => d.open")
    assert pg.evaluate("window.__pwned") is None
    assert errors == []
