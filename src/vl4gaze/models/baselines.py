"""Baselines that never look at the pixels: the floors and the ceiling of every table.

- ``random``: a uniformly random point, direction, train-split object description, and a
  coin flip between declining and answering (seeded per item).
- ``center``: the image centre; the most common direction, object description and
  ambiguity decision of the train split (the classic centre / majority prior).
- ``head``: the gaze point predicted from the head position alone, by an affine map
  (head centre -> gaze point) fitted by least squares on the train split's point and
  direction items; direction = from the head to that point. People near an edge tend to
  look into the picture, which this captures without seeing the image. Without train
  data it walks 60% of the way from the head towards the image centre. Objects and
  ambiguity as ``center``, except that a question with no head box is declined.
- ``text-only``: the most common train answer for the same question text, else for the
  same question template, else for the task (points: the mean point): shows how far the
  questions alone give the answers away.
- ``oracle``: the item's canonical answer; must score perfectly (it tests the scorer).

All answers use the benchmark's own forms (point format, direction names), so the
baselines measure the data, not the parser.

Each task says in its own module how each baseline answers it (``TaskSpec.baselines``:
kind -> ``fn(Ask) -> str | None``); this module holds only what every task shares: the
train prior, the seeded rng, the similar-question groups and the generic answers a task
that declares nothing gets (:func:`answer_for`).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from vl4gaze.geometry import format_point
from vl4gaze.models.base import BackendError, Request
from vl4gaze.prompting import item_point_format
from vl4gaze.schema import Point, QAItem, content_id
from vl4gaze.tasks import registry

#: A baseline's answer when neither the task nor the train split offers one.
NO_ANSWER = "I do not know."
_HEAD_DEFAULT_STEP = 0.6


def _load_train(bench: Path | None) -> list[QAItem]:
    if bench is None:
        return []
    from vl4gaze.build import load_benchmark

    try:
        return load_benchmark(Path(bench), "train")
    except FileNotFoundError:
        return []


def mode(values: Sequence[str] | Counter, default: str) -> str:
    """The most common value (ties: the first seen), ``default`` when there is none."""
    counter = values if isinstance(values, Counter) else Counter(values)
    return counter.most_common(1)[0][0] if counter else default


def head_origin(item: QAItem) -> Point | None:
    """Where gaze starts for the head baseline: the head box centre, else the eye."""
    if item.person_head is not None:
        return item.person_head.center
    eye = item.target.get("eye") if isinstance(item.target, dict) else None
    return Point(*eye) if eye else None


class TrainPrior:
    """What the train split says without images: each task's items and answers, their
    most common answer, and the head -> gaze affine map."""

    def __init__(self, train: Sequence[QAItem]) -> None:
        train = sorted(train, key=lambda it: it.id)
        self._items: dict[str, list[QAItem]] = defaultdict(list)
        for item in train:
            self._items[str(item.task)].append(item)
        self._memo: dict[tuple, Any] = {}
        self.head_map = self._fit_head_map(train)

    def items(self, task: object) -> list[QAItem]:
        """The task's train items, by id."""
        return self._items.get(str(task), [])

    def answers(self, task: object) -> list[str]:
        """The task's train answers, in item-id order."""
        return self.memo(("answers", str(task)), lambda: [it.answer for it in self.items(task)])

    def mode(self, task: object, default: str = NO_ANSWER) -> str:
        """The task's most common train answer (``default`` without train items)."""
        return mode(self.answers(task), default)

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per prior (a task's derived facts, e.g. its declines)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @staticmethod
    def _fit_head_map(train: Sequence[QAItem]) -> np.ndarray | None:
        rows, targets = [], []
        for item in train:
            origin, gaze = head_origin(item), registry.get(item.task).gaze_point(item)
            if origin is not None and gaze is not None:
                rows.append((1.0, origin.x, origin.y))
                targets.append(gaze)
        if len(rows) < 3:
            return None
        coef, *_ = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)
        return coef  # 3x2: bias, hx, hy -> gx, gy

    def gaze_from_head(self, origin: Point) -> tuple[float, float]:
        if self.head_map is None:
            x = origin.x + _HEAD_DEFAULT_STEP * (0.5 - origin.x)
            y = origin.y + _HEAD_DEFAULT_STEP * (0.5 - origin.y)
        else:
            x, y = np.array([1.0, origin.x, origin.y]) @ self.head_map
        return (min(1.0, max(0.0, float(x))), min(1.0, max(0.0, float(y))))


@dataclass
class Ask:
    """One question as a task's baseline function sees it.

    ``point(x, y)`` writes a normalized point in the item's answer format; ``rng`` is the
    item's own seeded generator (made on first use, so only ``random`` pays for it);
    ``similar`` (``text-only``) holds the train items with the same question, the same
    template and the same task, in that order.
    """

    item: QAItem
    prior: TrainPrior
    point: Callable[[float, float], str]
    seed: int = 0
    similar: tuple[list[QAItem], ...] = field(default=())

    @cached_property
    def rng(self) -> random.Random:
        return random.Random(content_id("random", self.seed, self.item.id))


def _random(ask: Ask) -> str | None:
    answers = ask.prior.answers(ask.item.task)
    return ask.rng.choice(answers) if answers else None


def _center(ask: Ask) -> str | None:
    return ask.prior.mode(ask.item.task)


def _text_only(ask: Ask) -> str | None:
    for group in ask.similar:
        if group:
            return mode([it.answer for it in group], "")
    return None


#: The generic answer of each kind for a task that declares none (None: next in chain).
GENERIC: dict[str, Callable[[Ask], str | None]] = {
    "random": _random, "center": _center, "text-only": _text_only}
#: Where a kind turns when it has no answer: ``head`` and ``text-only`` answer as
#: ``center`` does, ``random`` without train answers too.
CHAIN: dict[str, tuple[str, ...]] = {
    "random": ("random", "center"), "center": ("center",), "head": ("head", "center"),
    "text-only": ("text-only", "center")}


def answer_for(kind: str, ask: Ask) -> str:
    """Baseline ``kind``'s answer: the task's own function for each kind of its chain,
    else the generic one; :data:`NO_ANSWER` when nothing answers."""
    declared = registry.get(ask.item.task).baselines
    for step in CHAIN[kind]:
        fn = declared.get(step) or GENERIC.get(step)
        out = fn(ask) if fn is not None else None
        if out is not None:
            return out
    return NO_ANSWER


class Baseline:
    """Answers each request from its item (no pixels); the kind's answer comes from the
    item's task (:func:`answer_for`)."""

    kind = "baseline"

    def __init__(self, train: Sequence[QAItem] = (), *, seed: int = 0,
                 bench: Path | None = None) -> None:
        self.name = f"baseline:{self.kind}"
        self.seed = seed
        self.bench = bench
        self.prior = TrainPrior(train)

    def generate(self, requests: list[Request], max_new_tokens: int = 64) -> list[str]:
        out = []
        for request in requests:
            if request.item is None:
                raise BackendError(f"{self.name} needs the item of each request")
            out.append(self.answer(request.item))
        return out

    def ask(self, item: QAItem) -> Ask:
        return Ask(item, self.prior, lambda x, y: self.point(item, x, y), self.seed)

    def answer(self, item: QAItem) -> str:
        return answer_for(self.kind, self.ask(item))

    def point(self, item: QAItem, x: float, y: float) -> str:
        return format_point(x, y, item_point_format(item, self.bench), item.width, item.height)


class OracleBaseline(Baseline):
    kind = "oracle"

    def answer(self, item: QAItem) -> str:
        return item.answer


class RandomBaseline(Baseline):
    kind = "random"


class CenterBaseline(Baseline):
    kind = "center"


class HeadBaseline(Baseline):
    kind = "head"


class TextOnlyBaseline(Baseline):
    kind = "text-only"

    def __init__(self, train: Sequence[QAItem] = (), *, seed: int = 0,
                 bench: Path | None = None) -> None:
        super().__init__(train, seed=seed, bench=bench)
        self._similar: dict[tuple, list[QAItem]] = defaultdict(list)
        for item in sorted(train, key=lambda it: it.id):
            for key in self._keys(item):
                self._similar[key].append(item)

    @staticmethod
    def _keys(item: QAItem) -> list[tuple]:
        task = str(item.task)
        return [(task, "q", " ".join(item.question.lower().split())),
                (task, "t", item.template_id), (task,)]

    def ask(self, item: QAItem) -> Ask:
        ask = super().ask(item)
        ask.similar = tuple(self._similar.get(key, []) for key in self._keys(item))
        return ask


BASELINES: dict[str, type[Baseline]] = {
    cls.kind: cls
    for cls in (RandomBaseline, CenterBaseline, HeadBaseline, TextOnlyBaseline, OracleBaseline)
}


def make_baseline(
    name: str,
    *,
    bench: Path | None = None,
    seed: int = 0,
    train: Sequence[QAItem] | None = None,
    loader: Callable[[Path | None], list[QAItem]] = _load_train,
) -> Baseline:
    """A baseline by name; its priors come from ``train`` or else BENCH's train split."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    items = list(train) if train is not None else (loader(bench) if name != "oracle" else [])
    return BASELINES[name](items, seed=seed, bench=Path(bench) if bench else None)
