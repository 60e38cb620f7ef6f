"""A large scoring run's tasks split over two processes (issue #20) give the numbers of
one process, bit for bit; an error on either side ends the run with that error, not a
hang. The forked path only runs where torch is not imported (``vl4gaze.forking``), so
these run it in a fresh interpreter."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vl4gaze.metrics.scoring import Bootstrap, Resamples, SharedResamples

TESTS = Path(__file__).resolve().parent

# Run in a fresh interpreter: items from test_score's fixtures, ten copies with wrong,
# repeated and failed answers mixed in, scored with 1 and 2 workers.
SCRIPT = r"""
import json, random, sys
sys.path.insert(0, sys.argv[1])
from test_score import FakeEmbedder, make_items
from vl4gaze import score
from vl4gaze.schema import Prediction

assert "torch" not in sys.modules
rng = random.Random(3)
items, preds = [], []
for copy in range(10):
    for it in make_items():
        item = it.__class__(**{**it.__dict__, "id": f"{copy}-{it.id}"})
        items.append(item)
        same_task = [o.answer for o in make_items() if o.task == it.task]
        raw = rng.choice([item.answer, item.answer, rng.choice(same_task), "no idea"])
        error = "timeout" if rng.random() < 0.05 else None
        preds.append(Prediction(item_id=item.id, model="m", prompt_config="p", raw=raw,
                                error=error))
score.PARALLEL_MIN_PREDICTIONS = 0
split = []
choose = score._forked_tasks
score._forked_tasks = lambda *args: split.append(choose(*args)) or split[-1]
mode = sys.argv[2]
if mode == "child fails":
    def boom(tasks):
        raise RuntimeError("the forked process failed")
    score._score_forked = boom
if mode == "driver fails":
    from vl4gaze import progress
    def stop(self, n=1):
        raise KeyboardInterrupt("stopped in the driver")
    progress.ProgressLog.advance = stop
out = {"split": split}
try:
    runs = [score.score_predictions(items, preds, n_boot=40, embedder=FakeEmbedder(),
                                    workers=w) for w in (1, 2)] if mode == "same" else [
            score.score_predictions(items, preds, n_boot=40, embedder=FakeEmbedder(),
                                    workers=2)]
    out["runs"] = [json.dumps(r, sort_keys=True) for r in runs]
except BaseException as err:
    out["error"] = f"{type(err).__name__}: {err}"
print(json.dumps(out))
"""


def _run(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(TESTS), mode],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_processes_give_the_numbers_and_rows_of_one() -> None:
    out = _run("same")
    # the split balances items + 3 x distinct answers; every task is scored once
    assert len(out["split"]) == 1 and out["split"][0]
    assert set(out["split"][0]) < {"point", "direction", "object", "ambiguity"}
    one, two = out["runs"]
    assert one == two
    scores, rows = json.loads(one)
    assert scores["n_items"] == len(rows) == 170  # 17 fixture items x 10
    assert [r["item_id"] for r in rows][:3] == ["0-point-0", "0-point-1", "0-point-2"]


@pytest.mark.parametrize("mode", ["child fails", "driver fails"])
def test_an_error_on_either_side_ends_the_run(mode: str) -> None:
    out = _run(mode)
    assert "runs" not in out
    assert out["error"] == ("RuntimeError: the forked process failed" if mode == "child fails"
                            else "KeyboardInterrupt: stopped in the driver")


def _fill_in_child(shared: SharedResamples, seed: int, skip: int) -> None:
    rng = np.random.default_rng(seed)
    Bootstrap(skip, 7, rng)  # the task drawn before it
    shared.fill(rng, chunk=3)


def test_shared_resamples_are_the_ones_drawn_here() -> None:
    # filled by another process, in chunks, after another task's draw: the same indices
    context = multiprocessing.get_context("fork")
    shared = SharedResamples(23, 7, context)
    child = context.Process(target=_fill_in_child, args=(shared, 5, 11))
    child.start()
    child.join(60)
    rng = np.random.default_rng(5)
    Bootstrap(11, 7, rng)
    assert np.array_equal(shared.bootstrap().idx, Bootstrap(23, 7, rng).idx)


def test_a_waiting_process_is_told_when_the_drawer_stops() -> None:
    shared = SharedResamples(5, 3, multiprocessing.get_context("fork"))
    shared.failed.set()
    with pytest.raises(RuntimeError, match="stopped"):
        shared.bootstrap(poll_s=0.01)


def test_resamples_drawn_for_elsewhere_keep_the_stream() -> None:
    # tasks a, b (elsewhere), c: a and c get what one process drawing all three gets
    context = multiprocessing.get_context("fork")
    shared = SharedResamples(9, 4, context)
    split = Resamples([("a", 5), ("b", 9), ("c", 6)], 4, np.random.default_rng(1),
                      elsewhere={"b": shared})
    a, c = split.get("a", 5), split.get("c", 6)
    split.close()
    rng = np.random.default_rng(1)
    want = [Bootstrap(n, 4, rng).idx for n in (5, 9, 6)]
    assert np.array_equal(a.idx, want[0]) and np.array_equal(c.idx, want[2])
    assert np.array_equal(shared.bootstrap().idx, want[1])
