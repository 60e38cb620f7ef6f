"""What a task's scorer works with: the per-item record, the shared bootstrap resamples
and the scores.json task block it fills.

``vl4gaze.score`` drives them (parse every answer, group by task, draw resamples, sum up);
each task module's ``score_item`` / ``aggregate`` (declared in its ``TaskSpec``) says what
its items are worth. See docs/scoring.md for the definitions.
"""

from __future__ import annotations

import json
import math
import mmap
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vl4gaze.metrics import ambiguity as amb_metrics


@dataclass
class ItemScore:
    """One scored answer: what was read, by which rule, and the per-item metric values."""

    item_id: str
    task: str
    raw: str
    parsed: Any
    rule: str | None
    correct: bool | None
    score: float | None
    error: str | None
    values: dict[str, Any] = field(default_factory=dict)
    #: The item's typed target as ``score_item`` read it, so that ``aggregate`` need not
    #: build and validate it again (not written anywhere).
    target: Any = field(default=None, repr=False, compare=False)

    def row(self) -> dict[str, Any]:
        """The items.parquet row (``metrics``, the per-item values, goes to the samples
        log only)."""
        return {"item_id": self.item_id, "task": self.task, "raw": self.raw,
                "parsed": parsed_json(self.parsed), "rule": self.rule,
                "correct": self.correct, "score": self.score, "error": self.error,
                "metrics": self.values}

    @property
    def is_parsed(self) -> bool:
        """An answer without an error that the task's parser could read."""
        return self.error is None and self.parsed is not None


_JSON: dict[Any, str] = {}


def parsed_json(parsed: Any) -> str:
    """``json.dumps(parsed)``, cheaper for the shapes parsers return: a pair of finite
    floats is written directly (json writes ``float.__repr__``), strings, None and flat
    dicts of str / bool / None are remembered (a run repeats them)."""
    if type(parsed) is list and len(parsed) == 2 and all(
            type(v) is float and math.isfinite(v) for v in parsed):
        return f"[{parsed[0]!r}, {parsed[1]!r}]"
    if parsed is None or (type(parsed) is str and len(parsed) <= 512):
        key: Any = parsed
    elif type(parsed) is dict and all(v is None or type(v) in (str, bool)
                                      for v in parsed.values()):
        key = tuple((k, type(v), v) for k, v in parsed.items())
    else:
        return json.dumps(parsed)
    text = _JSON.get(key)
    if text is None:
        text = json.dumps(parsed)
        if len(_JSON) < 1 << 16:
            _JSON[key] = text
    return text


@dataclass(frozen=True)
class ScoreContext:
    """How a run's answers are read: the point convention, a heatmap when the model gave
    one, and the model's own Qwen2.5-VL resize (``score.qwen_resize``)."""

    convention: str = "auto"
    heatmap: list[list[float]] | None = None
    resize: dict[str, int] | None = None


def percentiles(samples: np.ndarray) -> tuple[float | None, float | None]:
    """The 2.5 / 97.5 % percentiles of the finite samples (None, None without any)."""
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None, None
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


class Bootstrap:
    """Shared resamples of one task's items: an (n_boot, n) matrix of item indices.

    The indices are those ``rng.integers(0, n, size=(rows, n), dtype=np.int64)`` drew in
    chunks before (any chunking and int32, uint32 or int64 give the same numbers: numpy
    draws bounded integers below 2**32 from one 32-bit stream), stored as uint32 when they
    fit.
    Every statistic is computed one resample at a time over that row, so each metric's
    sum adds the same values in the same order as ``values[idx].sum(1)`` did: the
    intervals are bit for bit the same. Counts (0/1 metrics, classes, validity) come from
    one histogram per resample over the items' combined category codes (exact integers,
    order-free), so a task pays one pass for all of them (``evaluate``).
    """

    def __init__(self, n: int, n_boot: int, rng: np.random.Generator | None,
                 idx: np.ndarray | None = None) -> None:
        self.n, self.n_boot = n, n_boot
        if idx is not None:  # drawn elsewhere (``SharedResamples``)
            self.idx = idx
        else:
            assert rng is not None
            self.idx = (_draw(rng, n, n_boot) if n and n_boot
                        else np.zeros((0, n), dtype=np.int64))

    def evaluate(self, sums: Sequence[np.ndarray], codes: np.ndarray | None,
                 n_codes: int) -> tuple[np.ndarray, np.ndarray]:
        """Per resample: the sum of each float array in ``sums`` (pairwise, in resample
        order) and the histogram of ``codes`` (int, < ``n_codes``); shapes (n_boot, k)
        and (n_boot, n_codes)."""
        out = np.zeros((len(self.idx), len(sums)))
        hist = np.zeros((len(self.idx), n_codes), dtype=np.int64)

        def part(rows: range) -> None:
            for b in rows:
                row = self.idx[b].astype(np.intp)
                for k, values in enumerate(sums):
                    # No ``out=``: with it numpy's bounds-checked take copies through a
                    # buffer (3x slower); the gathered values, and so the sums, are equal.
                    out[b, k] = values.take(row).sum()
                if codes is not None:
                    hist[b] = np.bincount(np.take(codes, row), minlength=n_codes)

        # numpy releases the GIL in take, sum and bincount: the halves run side by side.
        half = (len(self.idx) + 1) // 2
        with ThreadPoolExecutor(2, thread_name_prefix="vl4gaze-bootstrap") as pool:
            list(pool.map(part, (range(half), range(half, len(self.idx)))))
        return out, hist

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Bootstrap distribution of the mean of ``values`` ignoring NaN (excluded items)."""
        request = Requests(self.n)
        key = request.mean(np.asarray(values, dtype=float))
        return request.run(self)[key]

    def balanced(self, classes: np.ndarray, correct: np.ndarray) -> np.ndarray:
        """Bootstrap distribution of the balanced accuracy: the mean, over the true
        classes present in a resample, of the share of that class's items answered right."""
        request = Requests(self.n)
        key = request.balanced(np.asarray(classes), np.asarray(correct, dtype=bool))
        return request.run(self)[key]

    def binary(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
        """Bootstrap distributions of ``amb_metrics.binary_scores`` (accuracy, precision,
        recall, F1; positive: True)."""
        if not len(self.idx):
            return {}
        request = Requests(self.n)
        key = request.binary(np.asarray(y_true, bool), np.asarray(y_pred, bool))
        return request.run(self)[key]


def _draw(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    """``rows`` resamples of ``n`` item indices. uint32: the same numbers as int32 or int64
    (the 32-bit stream, Lemire's bounded draw) at a third of numpy 2.4's int32 time."""
    dtype = np.uint32 if n <= np.iinfo(np.uint32).max else np.int64
    return rng.integers(0, n, size=(rows, n), dtype=dtype)


class SharedResamples:
    """One task's resamples drawn by this process for a forked process that scores the
    task: an anonymous shared memory map (n_boot x n uint32, made before the fork) that
    the drawer fills in its turn of the generator's stream, and ``ready`` set when it is
    full. ``failed`` tells the waiting side that the drawer gave up."""

    def __init__(self, n: int, n_boot: int, context: Any) -> None:
        if n > np.iinfo(np.uint32).max:
            raise ValueError(f"{n} items: too many to share resamples as uint32")
        self.n, self.n_boot = n, n_boot
        self._map = mmap.mmap(-1, max(1, n * n_boot * 4))
        self.ready, self.failed = context.Event(), context.Event()

    def _array(self) -> np.ndarray:
        return np.frombuffer(self._map, dtype=np.uint32,
                             count=self.n * self.n_boot).reshape(self.n_boot, self.n)

    def fill(self, rng: np.random.Generator, chunk: int = 32) -> None:
        """Draw the resamples ``Bootstrap(n, n_boot, rng)`` would hold into the map, a few
        rows at a time (the same numbers: the stream does not depend on the chunking)."""
        view = self._array()
        if self.n:
            for start in range(0, self.n_boot, chunk):
                rows = min(chunk, self.n_boot - start)
                view[start:start + rows] = _draw(rng, self.n, rows)
        self.ready.set()

    def bootstrap(self, poll_s: float = 1.0) -> Bootstrap:
        """The filled resamples (waits for them; RuntimeError if the drawer gave up)."""
        while not self.ready.wait(poll_s):
            if self.failed.is_set():
                raise RuntimeError("the scoring process that draws these resamples stopped")
        if not self.n or not self.n_boot:
            return Bootstrap(self.n, self.n_boot, None, np.zeros((0, self.n), np.int64))
        return Bootstrap(self.n, self.n_boot, None, self._array())


class Resamples:
    """Every task's ``Bootstrap``, drawn in a background thread (numpy releases the GIL
    while drawing) while the answers are parsed: task after task in the given order from
    one generator, so the indices are those drawn one task at a time. At most ``ahead``
    tasks are drawn beyond the one being aggregated (each is n_boot x n uint32). The
    tasks in ``elsewhere`` are scored by another process: drawn in their turn into their
    ``SharedResamples``."""

    def __init__(self, sizes: Sequence[tuple[str, int]], n_boot: int,
                 rng: np.random.Generator, ahead: int = 2,
                 elsewhere: Mapping[str, SharedResamples] | None = None) -> None:
        self._order = list(sizes)
        self._elsewhere = dict(elsewhere or {})
        self._fills: list[Future[None]] = []
        self._n_boot, self._rng = n_boot, rng
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="vl4gaze-resample")
        self._futures: dict[str, Future[Bootstrap]] = {}
        self._next = 0
        for _ in range(max(1, ahead)):
            self._submit()

    def _submit(self) -> None:
        while self._next < len(self._order):
            task, n = self._order[self._next]
            self._next += 1
            shared = self._elsewhere.get(task)
            if shared is not None:  # one thread: drawn in turn, before the next task's
                self._fills.append(self._pool.submit(shared.fill, self._rng))
                continue
            self._futures[task] = self._pool.submit(Bootstrap, n, self._n_boot, self._rng)
            return

    def get(self, task: str, n: int) -> Bootstrap:
        """The task's resamples (tasks must be asked for in the order given)."""
        future = self._futures.pop(task, None)
        if future is None:
            raise RuntimeError(f"resamples of task {task!r} were not planned or taken twice")
        boot = future.result()
        if boot.n != n:
            raise RuntimeError(f"task {task!r}: resamples of {boot.n} items, {n} scored")
        self._submit()
        return boot

    def close(self) -> None:
        """Stop drawing this process's resamples (a draw under way finishes), finish
        those another process waits for, and free the thread."""
        stopped = [future for future in self._futures.values() if future.cancel()]
        if stopped:  # given up part way: the later fills would draw from the wrong place
            for fill in self._fills:
                fill.cancel()
        self._pool.shutdown(wait=True)
        self._futures.clear()
        for fill in self._fills:
            error = None if fill.cancelled() else fill.exception()
            if error is not None:
                raise error


def _category_codes(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each item's code among the distinct rows of its small-int ``columns`` (0..K-1), and
    those K rows (K x columns): mixed-radix numbers renumbered after every column, so
    they never overflow."""
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for col in columns:
        lo = int(col.min()) if len(col) else 0
        radix = int(col.max()) - lo + 1 if len(col) else 1
        codes = np.unique(codes * radix + (col - lo), return_inverse=True)[1].reshape(-1)
    first = np.unique(codes, return_index=True)[1]
    return codes, np.stack([np.asarray(c)[first] for c in columns], axis=1)


class Requests:
    """The statistics one task wants from its resamples, gathered so that one pass over
    the resamples computes them all (``run``). Each request returns a key of ``run``'s
    result."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._sums: list[np.ndarray] = []  # float arrays summed per resample
        self._columns: list[np.ndarray] = []  # small-int per-item columns, histogrammed
        self._finish: list[Any] = []  # (kind, ...) per request

    def _column(self, values: np.ndarray) -> int:
        self._columns.append(np.asarray(values, dtype=np.int64))
        return len(self._columns) - 1

    def count(self, mask: np.ndarray) -> int:
        """Per resample: how many drawn items have ``mask`` (a bool per item)."""
        self._finish.append(("count", self._column(np.asarray(mask, bool))))
        return len(self._finish) - 1

    def binary(self, y_true: np.ndarray, y_pred: np.ndarray) -> int:
        """Per resample: ``amb_metrics.binary_scores`` (a dict of arrays)."""
        self._finish.append(("binary", self._column(y_true), self._column(y_pred)))
        return len(self._finish) - 1

    def mean(self, values: np.ndarray) -> int:
        """Per resample: the mean of the finite drawn values, as ``v[idx].sum(1) /
        valid[idx].sum(1)`` (NaN when none is finite)."""
        valid = np.isfinite(values)
        v = np.where(valid, values, 0.0)
        count = None if valid.all() else self._column(valid)
        if np.isin(v, (0.0, 1.0)).all():  # 0/1 values: the sum is a count, exact anyway
            self._finish.append(("mean_count", self._column(v.astype(bool)), count))
        else:
            self._sums.append(v)
            self._finish.append(("mean_sum", len(self._sums) - 1, count))
        return len(self._finish) - 1

    def balanced(self, classes: np.ndarray, correct: np.ndarray) -> int:
        """Per resample: the balanced accuracy of ``correct`` over the true ``classes``."""
        present = np.unique(classes)
        codes = np.searchsorted(present, classes)
        self._finish.append(("balanced", self._column(codes), self._column(correct),
                             len(present)))
        return len(self._finish) - 1

    def run(self, boot: Bootstrap) -> list[np.ndarray]:
        """Every request's per-resample values, in request order."""
        combos: np.ndarray | None = None
        codes = None
        if self._columns:
            codes, combos = _category_codes(self._columns)
        sums, hist = boot.evaluate(self._sums, codes, 0 if combos is None else len(combos))

        def counts(column: int, value: int = 1) -> np.ndarray:
            assert combos is not None
            return hist @ (combos[:, column] == value).astype(np.int64)

        out: list[np.ndarray] = []
        with np.errstate(invalid="ignore", divide="ignore"):
            for kind, *args in self._finish:
                if kind == "count":
                    out.append(counts(args[0]))
                elif kind in ("mean_count", "mean_sum"):
                    total = (counts(args[0]).astype(float) if kind == "mean_count"
                             else sums[:, args[0]])
                    valid = counts(args[1]) if args[1] is not None else boot.n
                    out.append(total / valid)
                elif kind == "binary":
                    t, p = combos[:, args[0]] == 1, combos[:, args[1]] == 1  # type: ignore[index]
                    tp, fp, fn, tn = (hist @ (a & b).astype(np.int64) for a, b in
                                      ((t, p), (~t, p), (t, ~p), (~t, ~p)))
                    out.append(amb_metrics.binary_from_counts(tp, fp, fn, tp + tn, boot.n))
                else:
                    cls, hit, n_classes = args
                    assert combos is not None
                    recalls = []
                    for c in range(n_classes):
                        in_class = combos[:, cls] == c
                        right = (in_class & (combos[:, hit] == 1)).astype(np.int64)
                        recalls.append((hist @ right) / (hist @ in_class.astype(np.int64)))
                    out.append(np.nanmean(np.stack(recalls), axis=0) if recalls
                               else np.zeros(len(hist)))
        return out


def balanced_accuracy(classes: Sequence[Any], correct: Sequence[bool]) -> float | None:
    """Mean over the true classes of the share of each class's items answered right.

    ``sklearn.metrics.balanced_accuracy_score`` on the items; a constant answer scores
    exactly 1 / (number of classes present). Higher is better.

    >>> balanced_accuracy(["down", "down", "down", "up"], [True, True, True, False])
    0.5
    """
    by: dict[Any, list[bool]] = {}
    for c, ok in zip(classes, correct, strict=True):
        by.setdefault(c, []).append(bool(ok))
    return float(np.mean([np.mean(v) for v in by.values()])) if by else None


def metric_entry(value: float | None, boots: np.ndarray, higher: bool, n: int
                 ) -> dict[str, Any]:
    """One metric of a scores.json block: value, interval, direction, items counted."""
    lo, hi = percentiles(boots) if value is not None else (None, None)
    return {"value": value, "ci_low": lo, "ci_high": hi, "higher_is_better": higher, "n": n}


class TaskBlock:
    """One task's scores.json block while its ``aggregate`` fills it, and the bootstrap
    samples of each metric (the headline's feed ``overall``).

    ``add`` and ``add_balanced`` fill a metric's value at once and its interval at
    ``finish`` (the driver calls it after ``aggregate``), when one pass over the
    resamples computes every metric's bootstrap samples together."""

    def __init__(self, scores: Sequence[ItemScore], boot: Bootstrap) -> None:
        n = len(scores)
        self.boot = boot
        self.block: dict[str, Any] = {
            "n": n, "parse_rate": float(np.mean([s.is_parsed for s in scores])) if n else None,
            "n_errors": sum(s.error is not None for s in scores), "metrics": {}}
        self.metrics: dict[str, Any] = self.block["metrics"]
        self.samples: dict[str, np.ndarray] = {}
        self._requests = Requests(boot.n)
        self._pending: list[tuple[str, int, str | None]] = []

    def add(self, name: str, values: Sequence[Any], higher: bool) -> None:
        """A metric that is the mean of per-item values (None: the item is left out)."""
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        valid = np.isfinite(arr)
        value = float(arr[valid].mean()) if valid.any() else None
        self._defer(name, self._requests.mean(arr), value, higher, int(valid.sum()))

    def set(self, name: str, value: float | None, boots: np.ndarray, higher: bool, n: int
            ) -> None:
        """A metric computed by the task itself, with its bootstrap samples."""
        self.samples[name] = boots
        self.metrics[name] = metric_entry(value, boots, higher, n)

    def add_balanced(self, classes: list[Any], correct: list[bool]) -> None:
        """``balanced_accuracy`` over the items' true classes."""
        codes = {c: i for i, c in enumerate(sorted(set(map(str, classes))))}
        coded = np.array([codes[str(c)] for c in classes], dtype=np.int64)
        key = self._requests.balanced(coded, np.array(correct, dtype=bool))
        self._defer("balanced_accuracy", key, balanced_accuracy(classes, correct), True,
                    len(classes))

    def add_binary(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """``accuracy``, ``precision``, ``recall`` and ``f1`` of a binary decision
        (positive: True), as ``amb_metrics.binary_scores``."""
        t, p = np.asarray(y_true, bool), np.asarray(y_pred, bool)
        key = self._requests.binary(t, p)
        for name, value in amb_metrics.binary_scores(t, p).items():
            self._defer(name, key, float(value), True, len(t), part=name)

    def _defer(self, name: str, key: int, value: float | None, higher: bool, n: int,
               part: str | None = None) -> None:
        self.metrics[name] = metric_entry(value, np.zeros(0), higher, n)
        self._pending.append((name, key, part))

    def finish(self) -> None:
        """Compute the deferred metrics' bootstrap samples (one pass) and intervals."""
        if not self._pending:
            return
        got = self._requests.run(self.boot)
        for name, key, part in self._pending:
            entry = self.metrics[name]
            boots = got[key] if part is None else got[key].get(part, np.zeros(0))
            self.samples[name] = boots
            self.metrics[name] = metric_entry(entry["value"], boots,
                                              entry["higher_is_better"], entry["n"])
        self._pending.clear()
