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
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vl4gaze.geometry import DIRECTIONS, format_point, gaze_direction
from vl4gaze.models.base import BackendError, Request
from vl4gaze.prompting import item_point_format
from vl4gaze.schema import Point, QAItem, Task, content_id

FALLBACK_DECLINE = "It cannot be answered: the question is ambiguous."
FALLBACK_ANSWER = "The person is looking at something in the image."
FALLBACK_OBJECT = "a person"
_HEAD_DEFAULT_STEP = 0.6


def _load_train(bench: Path | None) -> list[QAItem]:
    if bench is None:
        return []
    from vl4gaze.build import load_benchmark

    try:
        return load_benchmark(Path(bench), "train")
    except FileNotFoundError:
        return []


def _mode(counter: Counter, default: str) -> str:
    return counter.most_common(1)[0][0] if counter else default


def _head_origin(item: QAItem) -> Point | None:
    if item.person_head is not None:
        return item.person_head.center
    eye = item.target.get("eye") if isinstance(item.target, dict) else None
    return Point(*eye) if eye else None


def _gaze_of(item: QAItem) -> tuple[float, float] | None:
    if item.task == Task.POINT:
        mean = item.target.get("mean")
        return tuple(mean) if mean else None
    if item.task == Task.DIRECTION:
        gaze = item.target.get("gaze")
        return tuple(gaze) if gaze else None
    return None


class TrainPrior:
    """What the train split says without images: majority answers and head->gaze fit."""

    def __init__(self, train: Sequence[QAItem]) -> None:
        train = sorted(train, key=lambda it: it.id)
        by_task: dict[Task, list[QAItem]] = defaultdict(list)
        for item in train:
            by_task[Task(item.task)].append(item)
        self.directions = [it.answer for it in by_task[Task.DIRECTION]]
        self.objects = [it.answer for it in by_task[Task.OBJECT]]
        amb = by_task[Task.AMBIGUITY]
        self.declines = [it.answer for it in amb if it.target.get("ambiguous")]
        self.answers = [it.answer for it in amb if not it.target.get("ambiguous")]
        self.direction = _mode(Counter(self.directions), "down")
        self.object = _mode(Counter(self.objects), FALLBACK_OBJECT)
        self.decline = _mode(Counter(self.declines), FALLBACK_DECLINE)
        self.answer = _mode(Counter(self.answers), FALLBACK_ANSWER)
        self.ambiguous_majority = len(self.declines) > len(self.answers)
        self.head_map = self._fit_head_map(train)

    @staticmethod
    def _fit_head_map(train: Sequence[QAItem]) -> np.ndarray | None:
        rows, targets = [], []
        for item in train:
            origin, gaze = _head_origin(item), _gaze_of(item)
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


class Baseline:
    """Answers each request from its item (no pixels); subclasses define :meth:`answer`."""

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

    def answer(self, item: QAItem) -> str:
        raise NotImplementedError

    def point(self, item: QAItem, x: float, y: float) -> str:
        return format_point(x, y, item_point_format(item, self.bench), item.width, item.height)


class OracleBaseline(Baseline):
    kind = "oracle"

    def answer(self, item: QAItem) -> str:
        return item.answer


class RandomBaseline(Baseline):
    kind = "random"

    def answer(self, item: QAItem) -> str:
        rng = random.Random(content_id("random", self.seed, item.id))
        task = Task(item.task)
        if task == Task.POINT:
            return self.point(item, rng.random(), rng.random())
        if task == Task.DIRECTION:
            return rng.choice(DIRECTIONS)
        if task == Task.OBJECT:
            return rng.choice(self.prior.objects) if self.prior.objects else FALLBACK_OBJECT
        if rng.random() < 0.5:
            return rng.choice(self.prior.declines) if self.prior.declines else FALLBACK_DECLINE
        return rng.choice(self.prior.answers) if self.prior.answers else FALLBACK_ANSWER


class CenterBaseline(Baseline):
    kind = "center"

    def answer(self, item: QAItem) -> str:
        task = Task(item.task)
        if task == Task.POINT:
            return self.point(item, 0.5, 0.5)
        if task == Task.DIRECTION:
            return self.prior.direction
        if task == Task.OBJECT:
            return self.prior.object
        return self.prior.decline if self.prior.ambiguous_majority else self.prior.answer


class HeadBaseline(CenterBaseline):
    kind = "head"

    def answer(self, item: QAItem) -> str:
        task = Task(item.task)
        origin = _head_origin(item)
        if task == Task.AMBIGUITY and item.person_head is None:
            return self.prior.decline
        if origin is None or task not in (Task.POINT, Task.DIRECTION):
            return super().answer(item)
        gx, gy = self.prior.gaze_from_head(origin)
        if task == Task.POINT:
            return self.point(item, gx, gy)
        try:
            return gaze_direction(origin, Point(gx, gy), item.width, item.height)
        except ValueError:  # predicted point on the head: no direction, use the prior
            return self.prior.direction


class TextOnlyBaseline(Baseline):
    kind = "text-only"

    def __init__(self, train: Sequence[QAItem] = (), *, seed: int = 0,
                 bench: Path | None = None) -> None:
        super().__init__(train, seed=seed, bench=bench)
        self._answers: dict[tuple, Counter] = defaultdict(Counter)
        self._points: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
        for item in sorted(train, key=lambda it: it.id):
            for key in self._keys(item):
                if item.task == Task.POINT and item.target.get("mean"):
                    self._points[key].append(tuple(item.target["mean"]))
                else:
                    self._answers[key][item.answer] += 1

    @staticmethod
    def _keys(item: QAItem) -> list[tuple]:
        task = str(item.task)
        return [(task, "q", " ".join(item.question.lower().split())),
                (task, "t", item.template_id), (task,)]

    def answer(self, item: QAItem) -> str:
        for key in self._keys(item):
            if item.task == Task.POINT and self._points.get(key):
                pts = np.array(self._points[key])
                x, y = pts.mean(axis=0)
                return self.point(item, float(x), float(y))
            if item.task != Task.POINT and self._answers.get(key):
                return _mode(self._answers[key], "")
        return CenterBaseline.answer(self, item)


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
