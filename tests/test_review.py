"""The review tool: decisions store, JSON API, HTML page, image route, export, a real server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from review_server import review_server
from typer.testing import CliRunner

from vl4gaze.build import SCHEMA, build_benchmark, load_benchmark
from vl4gaze.cli import app as cli_app
from vl4gaze.parse.points import parse_point
from vl4gaze.review.app import create_app
from vl4gaze.review.apply import answer_fix, check_fixed_target, export_reviewed, point_fix
from vl4gaze.review.store import ReviewStore
from vl4gaze.score import score_one
from vl4gaze.sources.gazeworld import synthesize
from vl4gaze.tasks import registry
from vl4gaze.tasks.refs import MARKERS

SCRIPT = "<script>window.__pwned = 1</script>"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("review")
    synthesize(root / "scenes", 6, seed=1, size=96, progress=False)
    build_benchmark([f"gazeworld:{root / 'scenes'}"], root / "bench", progress=False)
    # One answer a model (or a bad template) could have written: markup, never to run.
    path = root / "bench" / "data" / "test.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[0]["answer"] = SCRIPT
    pq.write_table(pq.read_table(path).from_pylist(rows, schema=SCHEMA), path)
    return root / "bench"


@pytest.fixture
def bench(built, tmp_path) -> Path:
    """A fresh copy per test: every test starts with no decisions."""
    return Path(shutil.copytree(built, tmp_path / "bench"))


@pytest.fixture
def client(bench) -> TestClient:
    return TestClient(create_app(bench, reviewer="tester"))


def _flat(text: str) -> str:
    """CLI output without rich's line wrapping."""
    return " ".join(text.split())


def _first(bench: Path, task: str, split: str = "test"):
    return next(it for it in load_benchmark(bench, split) if it.task == task)


def test_store_latest_wins_and_keeps_history(tmp_path):
    store = ReviewStore(tmp_path / "r.sqlite")
    store.record("a", "accept", reviewer="x")
    store.record("b", "fix", fixed_answer="left", note="was right")
    store.record("a", "reject", note="wrong person")
    latest = ReviewStore(tmp_path / "r.sqlite").latest()  # a second handle sees it all
    assert {k: d.status for k, d in latest.items()} == {"a": "reject", "b": "fix"}
    assert latest["b"].fixed_answer == "left"
    assert [d.status for d in store.history("a")] == ["accept", "reject"]
    assert store.get("missing") is None
    with pytest.raises(ValueError, match="status='maybe'"):
        store.record("a", "maybe")
    with pytest.raises(ValueError, match="needs a fixed_answer"):
        store.record("a", "fix")
    with pytest.raises(ValueError, match="cannot carry"):
        store.record("a", "accept", fixed_answer="x")


def test_decisions_persist_across_app_instances(bench, client):
    item = _first(bench, "direction")
    url = f"/api/items/{item.id}/decision"
    assert client.post(url, json={"status": "accept"}).status_code == 200
    fixed = client.post(url, json={"status": "fix", "fixed_answer": "down", "note": "n"})
    assert fixed.json()["current_answer"] == "down"
    again = TestClient(create_app(bench))  # a restarted server reads the same store
    got = again.get(f"/api/items/{item.id}").json()
    assert got["decision"]["status"] == "fix"
    assert got["decision"]["reviewer"] == "tester"
    assert [d["status"] for d in got["history"]] == ["accept", "fix"]
    summary = again.get("/api/summary").json()
    assert summary["status"]["fix"] == 1 and summary["status"]["accept"] == 0
    assert summary["task"]["direction"]["fix"] == 1
    assert summary["status"]["unreviewed"] == summary["total"] - 1


def test_bad_requests(bench, client):
    item = _first(bench, "object")
    url = f"/api/items/{item.id}/decision"
    assert client.post(url, json={"status": "maybe"}).status_code == 422
    assert client.post("/api/items/nope/decision", json={"status": "accept"}).status_code == 404
    assert client.get("/api/items/nope").status_code == 404
    assert client.post(url, json={"status": "fix"}).status_code == 422  # nothing fixed
    assert client.post(url, json={"status": "accept", "fixed_answer": "x"}).status_code == 422
    point = client.post(url, json={"status": "fix", "point": [0.5, 0.5]})  # object: no point
    assert point.status_code == 422 and "no gaze point" in point.json()["detail"]
    bad = client.post(url, json={"status": "fix", "fixed_target": {"box": [0.5, 0.5, 0.1, 0.9]}})
    assert bad.status_code == 422 and "box" in bad.json()["detail"]
    assert client.get("/api/summary").json()["status"]["unreviewed"] == len(
        load_benchmark(bench, "test"))  # nothing bad was stored


def test_point_click_fixes_point_and_direction_items(bench, client):
    point = _first(bench, "point")
    got = client.post(f"/api/items/{point.id}/decision",
                      json={"status": "fix", "point": [0.25, 0.75]}).json()
    assert got["current_answer"] == "(0.250, 0.750)"
    assert got["current_target"]["mean"] == [0.25, 0.75]
    assert client.post(f"/api/items/{point.id}/decision",
                       json={"status": "fix", "point": [1.5, 0.2]}).status_code == 422
    direction = _first(bench, "direction")
    eye = direction.target["eye"]
    got = client.post(f"/api/items/{direction.id}/decision",
                      json={"status": "fix", "point": [eye[0], min(1.0, eye[1] + 0.3)]}).json()
    assert got["current_answer"] == "down"
    assert got["current_target"]["direction"] == "down"
    assert got["current_target"]["angle_deg"] == pytest.approx(270.0)


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.sampled_from(["norm", "norm1000", "pixel"]))
def test_point_fix_answer_parses_back(built, x, y, fmt):
    item = _first(built, "point")
    item = type(item).from_dict({**item.to_dict(), "target": {**item.target, "format": fmt}})
    answer, target = point_fix(item, x, y)
    check_fixed_target("point", target)
    convention = {"norm": "norm", "norm1000": "norm1000", "pixel": "pixel"}[fmt]
    parsed = parse_point(answer, convention, image_size=(item.width, item.height))
    tolerance = {"norm": 0.0005, "norm1000": 0.0005, "pixel": 0.5 / item.width + 1e-9}[fmt]
    assert parsed is not None
    assert abs(parsed.x - x) <= tolerance and abs(parsed.y - y) <= tolerance


def test_filters_and_pages(bench, client):
    items = load_benchmark(bench, "test")
    client.post(f"/api/items/{items[1].id}/decision", json={"status": "reject"})
    listed = client.get("/api/items", params={"status": "reject"}).json()
    assert [it["id"] for it in listed["items"]] == [items[1].id]
    points = client.get("/api/items", params={"task": "point"}).json()
    assert points["total"] == sum(it.task == "point" for it in items)
    paged = client.get("/api/items", params={"per_page": 2, "page": 2}).json()
    assert [it["id"] for it in paged["items"]] == [it.id for it in items[2:4]]
    html = client.get("/", params={"status": "unreviewed", "per_page": 5}).text
    assert html.count('class="card ') == 5 and items[1].id not in html
    assert client.get("/", params={"status": "bogus"}).status_code == 422


def test_images_served_and_path_traversal_refused(bench, client):
    item = load_benchmark(bench, "test")[0]
    ok = client.get(f"/file/{item.image}")
    assert ok.status_code == 200 and ok.content == (bench / item.image).read_bytes()
    (bench.parent / "secret.txt").write_text("secret")
    for path in ("..%2Fsecret.txt", "images%2F..%2F..%2Fsecret.txt", "manifest.json",
                 "review.sqlite", "%2Fetc%2Fpasswd", "images/../manifest.json",
                 "images%2F..%2Fmanifest.json", f"{item.image}%00.txt"):
        response = client.get(f"/file/{path}")
        assert response.status_code == 404, path
        assert b"secret" not in response.content


def test_page_escapes_item_text(bench, client):
    html = client.get("/", params={"per_page": 200}).text
    assert SCRIPT not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    item = _first(bench, "object")  # free-text answers: any string is a valid fix
    posted = client.post(f"/api/items/{item.id}/decision",
                         json={"status": "fix", "fixed_answer": '"><img src=x onerror=alert(1)>'})
    assert posted.status_code == 200
    html = client.get("/", params={"per_page": 200}).text
    assert "<img src=x" not in html and "&#34;&gt;&lt;img src=x" in html


def test_export_applies_decisions(bench, tmp_path):
    store = ReviewStore.for_bench(bench)
    test = load_benchmark(bench, "test")
    train = load_benchmark(bench, "train")
    point = next(it for it in test if it.task == "point")
    store.record(test[0].id, "reject")
    store.record(test[1].id, "accept")
    store.record(train[0].id, "fix", fixed_answer="a better answer")
    answer, target = point_fix(point, 0.1, 0.2)
    store.record(point.id, "fix", fixed_answer=answer, fixed_target=target)
    manifest = export_reviewed(bench, tmp_path / "out")
    out = load_benchmark(tmp_path / "out")
    by_id = {it.id: it for it in out}
    assert len(out) == len(test) + len(train) - 1 and test[0].id not in by_id
    assert by_id[train[0].id].answer == "a better answer"
    assert by_id[point.id].answer == "(0.100, 0.200)"
    assert by_id[point.id].target["points"] == [[0.1, 0.2]]
    assert by_id[point.id].target["eye"] == point.target["eye"]  # untouched fields stay
    assert pq.read_schema(tmp_path / "out" / "data" / "test.parquet").equals(SCHEMA)
    assert all((tmp_path / "out" / it.image).is_file() for it in out)
    assert manifest["counts"]["total"] == len(out)
    assert manifest["review"]["decisions"] == {
        "accept": 1, "fix": 2, "reject": 1, "unreviewed": len(out) - 3}
    assert manifest["review"]["removed"] == 1
    saved = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert saved["content_hash"] == manifest["content_hash"]
    assert "## Review" in (tmp_path / "out" / "README.md").read_text()
    # The CLI: reviewed items only, and a clear refusal to overwrite BENCH itself.
    result = CliRunner().invoke(cli_app, ["review", str(bench), "--export",
                                          str(tmp_path / "only"), "--reviewed-only"])
    assert result.exit_code == 0, result.output
    assert {it.id for it in load_benchmark(tmp_path / "only")} == {
        test[1].id, train[0].id, point.id}
    result = CliRunner().invoke(cli_app, ["review", str(bench), "--export", str(bench)])
    assert result.exit_code == 1 and "new directory" in _flat(result.output)


def test_real_server_over_http(bench):
    with review_server(bench) as address:
        base = f"http://{address}"
        item = load_benchmark(bench, "test")[2]
        posted = httpx.post(f"{base}/api/items/{item.id}/decision", json={"status": "accept"})
        assert posted.status_code == 200
        assert httpx.get(f"{base}/api/summary").json()["status"]["accept"] == 1
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "vl4gaze review" in page.text
        assert httpx.get(f"{base}/static/review.js").status_code == 200


def test_cli_serves_the_app(bench, tmp_path, monkeypatch):
    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app, **kw))
    result = CliRunner().invoke(cli_app, ["review", str(bench), "--port", "9123",
                                          "--reviewer", "ada", "--split", "all"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9123/" in result.output
    assert calls["port"] == 9123 and calls["host"] == "127.0.0.1"
    review = calls["app"].state.review
    assert review.reviewer == "ada" and len(review.items) == len(load_benchmark(bench))
    missing = CliRunner().invoke(cli_app, ["review", str(tmp_path / "nothing")])
    assert missing.exit_code == 1 and "not a benchmark directory" in _flat(missing.output)
    no_split = CliRunner().invoke(cli_app, ["review", str(bench), "--split", "dev"])
    assert no_split.exit_code == 1 and "no split 'dev'" in _flat(no_split.output)


def test_fixes_the_scorer_cannot_use_are_refused(bench, client):
    """A direction fix must be one of the eight classes, a point fix a point in the image;
    an accepted one lands in the target the scorer reads."""
    direction = _first(bench, "direction")
    url = f"/api/items/{direction.id}/decision"
    bad = client.post(url, json={"status": "fix", "fixed_answer": "sideways"})
    assert bad.status_code == 422 and "upper right" in bad.json()["detail"]
    good = client.post(url, json={"status": "fix", "fixed_answer": "Upper Left"})
    assert good.status_code == 200
    got = client.get(f"/api/items/{direction.id}").json()
    assert got["current_target"]["direction"] == "upper left"
    assert got["current_answer"] == "upper left"
    point = _first(bench, "point")
    url = f"/api/items/{point.id}/decision"
    outside = client.post(url, json={"status": "fix", "fixed_answer": "(3.5, 0.2)"})
    assert outside.status_code == 422 and "inside the image" in outside.json()["detail"]
    assert client.post(url, json={"status": "fix", "fixed_answer": "(0.25, 0.75)"}
                       ).status_code == 200
    got = client.get(f"/api/items/{point.id}").json()
    assert got["current_target"]["points"] == [[0.25, 0.75]]


@pytest.mark.parametrize(("task", "target", "message"), [
    ("point", {"mean": [0.5, 1.5]}, r"fixed_target\.mean\[1\]: 1\.5 is not a number in \[0, 1\]"),
    ("point", {"eye": [0.5]}, r"fixed_target\.eye: expected \[x, y\]"),
    ("direction", {"gaze": [True, 0.2]}, r"fixed_target\.gaze\[0\]: True is not a number"),
    ("point", {"points": []}, r"fixed_target\.points: expected \[\[x, y\], \.\.\.\]"),
    ("point", {"points": [[0.1, 0.2], [0.3, -1]]}, r"fixed_target\.points\[1\]\[1\]"),
    ("object", {"box": [0.5, 0.5, 0.1, 0.9]}, r"fixed_target\.box: corners out of order"),
    ("object", {"box": [0.1, 0.2]}, r"fixed_target\.box: expected \[x1, y1, x2, y2\]"),
    ("direction", {"direction": "north"},
     r"fixed_target\.direction: 'north' is not one of right, upper"),
    ("ambiguity", {"ambiguous": "yes"}, r"fixed_target\.ambiguous: 'yes' is not true/false"),
    ("ambiguity", {"reason": "bored"},
     r"fixed_target\.reason: 'bored' is not one of unspecified_person"),
    ("mutual", {"label": "maybe"}, r"fixed_target\.label: 'maybe' is not one of yes, no"),
    ("shared", {"label": "other"}, r"fixed_target\.label: 'other' is not one of yes, no"),
    ("whom", {"label": "yes"}, r"fixed_target\.label: 'yes' is not one of other, nobody"),
    ("whom", {"other": " "}, r"fixed_target\.other: ' ' is not a phrase"),
    ("mutual", {"first_looks_at_second": "yes"}, r"fixed_target\.first_looks_at_second: 'yes'"),
    ("shared", {"rule": ""}, r"fixed_target\.rule: '' is not a rule name"),
    ("shared", {"heads": [[0.1, 0.1, 0.2, 0.2]]}, r"fixed_target\.heads: expected one for each"),
    ("whom", {"heads": [[0.1, 0.1, 0.2, 0.2], None]}, r"fixed_target\.heads\[1\]: a head box"),
    ("mutual", {"heads": [[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.4, 0.6]]},
     r"fixed_target\.heads\[1\]: corners out of order"),
    ("whom", {"gazes": [None, [0.5, 1.5]]}, r"fixed_target\.gazes\[1\]\[1\]: 1\.5"),
    # A field the task's target does not have: nothing would read it.
    ("object", {"mean": [0.5, 0.5]}, r"fixed_target\.mean: a object target has no such field"),
    ("mutual", {"other": "the man"}, r"fixed_target\.other: a mutual target has no such"),
])
def test_each_fixed_target_field_is_checked_by_the_items_task(task, target, message):
    with pytest.raises(ValueError, match=message):
        check_fixed_target(task, target)


@pytest.mark.parametrize(("task", "target"), [
    ("point", {"mean": [0.5, 1], "eye": [0, 0.2], "points": [[0.1, 0.2]], "format": "norm"}),
    ("direction", {"gaze": [0.3, 0.4], "direction": "upper left", "angle_deg": 12.5}),
    ("object", {"box": None, "label": "anything"}),
    ("ambiguity", {"ambiguous": False, "reason": None}),
    ("mutual", {"label": "yes", "rule": "review", "first_looks_at_second": None,
                "heads": [[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.6, 0.6]], "gazes": [None, [1, 0]]}),
    ("shared", {"label": "no"}),
    ("whom", {"label": "nobody", "other": "the man in red"}),
])
def test_well_formed_fixed_targets_pass_unchanged(task, target):
    assert check_fixed_target(task, dict(target)) == target


@pytest.fixture(scope="module")
def social_built(tmp_path_factory) -> Path:
    """A benchmark of the social tasks only: GazeWorld's 20 scenes (seed 1) give both
    labels of mutual, shared and whom."""
    root = tmp_path_factory.mktemp("review-social")
    synthesize(root / "scenes", 20, seed=1, size=64, progress=False)
    build_benchmark([f"gazeworld:{root / 'scenes'}"], root / "bench", progress=False,
                    tasks="social")
    return root / "bench"


#: What a reviewer types for each label (any form the task's scorer reads).
TYPED = {"yes": "yes", "no": "No", "other": MARKERS[1].name, "nobody": "nobody"}


@pytest.mark.parametrize("task", ["mutual", "shared", "whom"])
def test_a_social_item_is_fixed_end_to_end(social_built, tmp_path, task):
    """A reviewer types the other choice of a social item: the decision stores the answer
    the build would write and the flipped label (rule ``review``), the export carries
    them, and the scorer reads the fixed truth."""
    bench = Path(shutil.copytree(social_built, tmp_path / "bench"))
    client = TestClient(create_app(bench, split=None))
    item = _first(bench, task, split="train")
    before = registry.target_of(item)
    url = f"/api/items/{item.id}/decision"
    bad = client.post(url, json={"status": "fix", "fixed_answer": "perhaps"})
    assert bad.status_code == 422 and f"a {task} fix must" in bad.json()["detail"]
    same = client.post(url, json={"status": "fix", "fixed_answer": TYPED[before.label]})
    assert same.json()["current_target"] == item.target  # the rules' label stands
    assert same.json()["current_answer"] == item.answer
    label = before.LABELS[before.positive]  # the other one of the two
    got = client.post(url, json={"status": "fix", "fixed_answer": TYPED[label]}).json()
    assert got["current_answer"] == before.answer_of(label) != item.answer
    assert got["current_target"] == {**item.target, **got["decision"]["fixed_target"]}
    assert (got["current_target"]["label"], got["current_target"]["rule"]) == (label, "review")
    export_reviewed(bench, tmp_path / "out")
    fixed = next(it for it in load_benchmark(tmp_path / "out") if it.id == item.id)
    after = registry.target_of(fixed)
    assert (after.label, fixed.answer) == (label, before.answer_of(label))
    assert after.heads == before.heads and after.gazes == before.gazes
    assert score_one(fixed, fixed.answer)["accuracy"] == 1.0
    assert score_one(fixed, item.answer)["accuracy"] == 0.0


@pytest.mark.parametrize(("label", "looks"), [("yes", True), ("no", None)])
def test_a_mutual_fix_says_who_looks_at_whom_as_far_as_it_follows(social_built, label, looks):
    """Yes: each looks at the other; no: which one looks away is not known (null)."""
    item = next(it for it in load_benchmark(social_built) if it.task == "mutual"
                and it.target["label"] != label)
    answer, changes = answer_fix(item, label)
    assert answer == registry.target_of(item).answer_of(label)
    assert changes == {"label": label, "rule": "review", "first_looks_at_second": looks,
                       "second_looks_at_first": looks}
    assert check_fixed_target("mutual", changes) == changes
