"""A static HTML gallery of items: image, ground truth, each model's answer and prediction.

Overlays are inline SVG over a thumbnail copied into ``REPORT/images`` (so the report
folder can be moved or zipped whole): the head box, the true gaze arrow from the eye to
the annotators' mean point (and each annotator's point), the gazed object's box, and
per model the predicted point (point task) or an arrow in the predicted direction
(direction task). Jinja2 renders with autoescape on and no ``|safe`` anywhere: every
string a model wrote reaches the page as text, never as markup.

Failures come first: the items kept per task are those most models got wrong or could
not parse, and the page opens sorted that way; gallery.js sorts (failures, task, model,
verdict, id), filters (task, model, verdict), pages and zooms in the browser.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from PIL import Image

from vl4gaze.geometry import direction_center_deg
from vl4gaze.overlays import HEAD_COLOR, TRUE_COLOR, arrow, origin_of, truth_shapes
from vl4gaze.report.runs import Run
from vl4gaze.schema import QAItem
from vl4gaze.tasks import registry

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = ("gallery.css", "gallery.js")
#: The figures with a panel per task or per model take the page's width: the headline
#: bars and every task's ``confusion`` figure.
WIDE_KINDS = ("confusion",)
THUMB_SIDE = 640  # sharp enough to enlarge; shown small in the grid


#: A verdict per answer: judged right, judged wrong, not readable, or not judged at all.
VERDICTS = ("correct", "wrong", "unparsed", "na")
FAILED = ("wrong", "unparsed")


def verdict(row: dict[str, Any]) -> str:
    """What the gallery says of one answer; unparsed as the scorer counts it (an error
    or nothing read), before right / wrong (an unparsed answer is scored wrong)."""
    if row.get("error") or row.get("parsed") is None:
        return "unparsed"
    correct = row.get("correct")
    return "na" if correct is None else ("correct" if correct else "wrong")


@dataclass
class Answer:
    """One model's answer to one item, as the gallery shows it."""

    model: int
    label: str
    color: str
    raw: str
    verdict: str  # one of VERDICTS
    error: str | None
    score: str


@dataclass
class Card:
    """One item in the gallery, its overlays in thumbnail pixels."""

    id: str
    task: str
    image: str
    width: int
    height: int
    question: str
    reference: str
    detail: str
    shapes: list[dict[str, Any]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)

    @property
    def failures(self) -> int:
        """How many models got this item wrong or gave no readable answer."""
        return sum(a.verdict in FAILED for a in self.answers)

    @property
    def task_order(self) -> int:
        return _task_order(self.task)


def prediction_shape(item: QAItem, row: dict[str, Any], model: int, color: str,
                     w: int, h: int) -> dict[str, Any] | None:
    """A model's predicted point or direction arrow, as the task's ``mark`` says."""
    side = max(w, h)
    mark = registry.get(item.task).mark
    parsed = row.get("parsed")  # the task's parsed_type, which has the mark's fields
    if parsed is None:
        return None
    if mark == "point":
        x = min(max(parsed.x, 0.0), 1.0) * w
        y = min(max(parsed.y, 0.0), 1.0) * h
        return {"kind": "pred_dot", "model": model, "color": color, "cx": round(x, 1),
                "cy": round(y, 1), "r": round(side * 0.016, 1)}
    if mark == "direction":
        origin = origin_of(item)
        if origin is None:
            return None
        angle = math.radians(direction_center_deg(parsed.direction))
        length = side * 0.22
        x1, y1 = origin[0] * w, origin[1] * h
        return {"kind": "pred_arrow", "model": model, "color": color,
                "width": round(side * 0.007, 1),
                **arrow(x1, y1, x1 + length * math.cos(angle), y1 - length * math.sin(angle),
                         side * 0.03)}
    return None


def _detail(item: QAItem) -> str:
    """A short line of ground-truth facts that the reference answer may not state."""
    return registry.get(item.task).detail(item)


class Thumbnails:
    """Copies each distinct benchmark image once, shrunk, into REPORT/images."""

    def __init__(self, out: Path) -> None:
        self.dir = out / "images"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.done: dict[Path, tuple[str, int, int]] = {}

    def __call__(self, source: Path) -> tuple[str, int, int]:
        """Relative href and thumbnail size of an image."""
        source = source.resolve()
        if source not in self.done:
            name = hashlib.sha1(str(source).encode()).hexdigest()[:16] + ".jpg"
            with Image.open(source) as image:
                image = image.convert("RGB")
                image.thumbnail((THUMB_SIDE, THUMB_SIDE))
                image.save(self.dir / name, quality=85)
                self.done[source] = (f"images/{name}", image.width, image.height)
        return self.done[source]


def _task_order(task: str) -> int:
    order = registry.task_names()
    return order.index(task) if task in order else len(order)


def failure_counts(runs: Sequence[Run]) -> dict[str, int]:
    """Per item id, how many runs answered it wrong or unreadably."""
    counts: dict[str, int] = {}
    for run in runs:
        for row in run.rows:
            counts[row["item_id"]] = counts.get(row["item_id"], 0) + (verdict(row) in FAILED)
    return counts


def select_items(runs: Sequence[Run], items: dict[str, QAItem],
                 max_per_task: int | None) -> list[QAItem]:
    """Items any run answered, failures first: most failing models, then the paper's task
    order, then id; at most N per task (the same items for every model)."""
    fails = failure_counts(runs)
    chosen = sorted((items[i] for i in fails if i in items),
                    key=lambda it: (-fails[it.id], _task_order(it.task), it.id))
    if max_per_task is None:
        return chosen
    counts: dict[str, int] = {}
    kept = []
    for item in chosen:
        counts[item.task] = counts.get(item.task, 0) + 1
        if counts[item.task] <= max_per_task:
            kept.append(item)
    return kept


def _fmt_score(score: Any) -> str:
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return ""
    return f"{float(score):.3f}"


def build_cards(runs: Sequence[Run], items: dict[str, QAItem], benches: dict[str, Path],
                colors: Sequence[str], out: Path, max_per_task: int | None) -> list[Card]:
    """One card per selected item; ``benches`` maps item id -> its benchmark directory."""
    thumbs = Thumbnails(out)
    by_run = [run.rows_by_id() for run in runs]
    cards = []
    for item in select_items(runs, items, max_per_task):
        href, w, h = thumbs(benches[item.id] / item.image)
        card = Card(id=item.id, task=str(item.task), image=href, width=w, height=h,
                    question=item.question, reference=item.answer, detail=_detail(item),
                    shapes=truth_shapes(item, w, h))
        for m, (run, rows) in enumerate(zip(runs, by_run, strict=True)):
            row = rows.get(item.id)
            if row is None:
                continue
            card.answers.append(Answer(model=m, label=run.label, color=colors[m],
                                       raw=row.get("raw") or "", verdict=verdict(row),
                                       error=row.get("error"), score=_fmt_score(row.get("score"))))
            shape = prediction_shape(item, row, m, colors[m], w, h)
            if shape is not None:
                card.shapes.append(shape)
        cards.append(card)
    return cards


def environment() -> Environment:
    """Jinja2 with autoescape ON for every template (the gallery shows untrusted text)."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def write_gallery(out: Path, *, runs: Sequence[Run], cards: Sequence[Card], colors: Sequence[str],
                  table: tuple[list[str], list[list[tuple[str, bool]]]],
                  plots: dict[str, list[Path]], title: str = "vl4gaze report",
                  warnings: Sequence[str] = (), note: str = "") -> Path:
    """Render REPORT/index.html (table, plots, gallery) and copy its CSS and JS next to it."""
    assets = out / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(TEMPLATES / name, assets / name)
    tasks = [t for t in registry.task_names() if any(c.task == t for c in cards)]  # filter order
    tasks += sorted({c.task for c in cards} - set(tasks))
    models = [{"index": i, "label": run.label, "color": colors[i]} for i, run in enumerate(runs)]
    wide = {"tasks"} | {f.name for s in registry.specs() for f in s.figures
                        if f.kind in WIDE_KINDS}
    figures = [{"name": name, "png": paths[0].relative_to(out).as_posix(),
                "svg": paths[-1].relative_to(out).as_posix(), "wide": name in wide}
               for name, paths in plots.items()]
    html = environment().get_template("index.html.j2").render(
        title=title, cards=cards, tasks=tasks, models=models, header=table[0], rows=table[1],
        figures=figures, true_color=TRUE_COLOR, head_color=HEAD_COLOR,
        warnings=list(warnings), note=note)
    path = out / "index.html"
    path.write_text(html)
    return path
