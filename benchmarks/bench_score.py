"""How long scoring 489K predictions takes: parsing + per-item metrics (with the
items-table rows), aggregation with bootstrap CIs (everything ``score_predictions`` does,
embeddings replaced by a constant), and sentence embeddings (timed on a subset,
extrapolated; ``--embed 0`` skips them). Issue #20's goal: parse + aggregation <= 10 s.
``--out FILE`` writes the scores dict, to compare two trees' numbers.

    .venv/bin/python benchmarks/bench_score.py [--n 489000] [--embed 2000] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time

import numpy as np
from ratios import ratio_line

from vl4gaze.geometry import DIRECTIONS
from vl4gaze.schema import Prediction, QAItem
from vl4gaze.score import score_predictions

ANSWERS = {
    "point": ["({x:.3f}, {y:.3f})", "The person is looking at ({x:.2f}, {y:.2f}).",
              '{{"point_2d": [{px}, {py}]}}', "x={x:.2f}, y={y:.2f}", "I am not sure."],
    "direction": ["{d}", "The person is looking {d}.", "Looking toward the {d} of the image.",
                  "at 2 o'clock", "Hard to say."],
    "object": ["a red mug", "She is looking at the laptop on the desk.", "the dog",
               "a book", "The television."],
    "ambiguity": ["It cannot be answered: the person is looking at something outside the image.",
                  "upper left", "There are several people, unclear which one.", "A cup.",
                  "(0.412, 0.300)"],
}
#: Issue #20's goal: parse + aggregation of GOAL_N predictions in GOAL_S seconds.
GOAL_N, GOAL_S = 489_000, 10.0
OBJECTS = [("mug", "a red mug"), ("laptop", "an open laptop"), ("dog", "a brown dog"),
           ("book", "a paperback book"), ("tv", "a television screen")]


def _cpu() -> float:
    """CPU seconds of every thread of this process and of its finished children."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class NoEmbedder:
    def encode(self, texts):
        return np.ones((len(texts), 1), dtype=np.float32)


def synthetic(n: int, seed: int = 0) -> tuple[list[QAItem], list[Prediction]]:
    rng = random.Random(seed)
    items, preds = [], []
    tasks = list(ANSWERS)
    for i in range(n):
        task = tasks[i % 4]
        x, y = rng.random(), rng.random()
        d = DIRECTIONS[rng.randrange(8)]
        if task == "point":
            target = {"points": [[x, y], [min(1, x + 0.02), y]], "mean": [x, y],
                      "eye": [0.5, 0.5], "format": "norm"}
        elif task == "direction":
            target = {"direction": d, "angle_deg": DIRECTIONS.index(d) * 45.0 + 5}
        elif task == "object":
            label, desc = OBJECTS[rng.randrange(5)]
            target = {"label": label, "description": desc, "box": None, "synonyms": []}
        else:
            target = {"ambiguous": rng.random() < 0.5, "reason": "gaze_out_of_frame"}
        item = QAItem(id=f"i{i}", task=task, image="images/x.png", width=640, height=480,
                      source="synthetic", split="test", question="q", answer="a",
                      target=target, person_ref="box", template_id="t", sample_id="s")
        raw = rng.choice(ANSWERS[task]).format(
            x=min(1, x + rng.gauss(0, 0.05)) if x < 0.95 else x, y=y, px=int(x * 640),
            py=int(y * 480), d=d)
        items.append(item)
        preds.append(Prediction(item_id=item.id, model="bench", prompt_config="p", raw=raw))
    return items, preds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=489_000)
    ap.add_argument("--embed", type=int, default=2000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", help="write the scores dict here (JSON) to compare two trees")
    ap.add_argument("--workers", type=int, default=None,
                    help="scoring processes (default: score_predictions' own, at most 2)")
    args = ap.parse_args()
    items, preds = synthetic(args.n)
    load = os.getloadavg()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    scores, rows = score_predictions(items, preds, n_boot=args.n_boot, embedder=NoEmbedder(),
                                     workers=args.workers)
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    if args.out:
        with open(args.out, "w") as f:
            json.dump(scores, f, indent=2, sort_keys=True)
    n_obj = sum(it.task == "object" for it in items)
    print(f"predictions: {args.n} ({n_obj} object), n_boot={args.n_boot}, "
          f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"score_predictions (parse, per-item metrics, rows, CIDEr, {args.n_boot}-resample "
          f"CIs; no embeddings): {wall:.2f} s wall ({wall / args.n * 1e6:.1f} us/answer), "
          f"{cpu:.2f} s CPU (all threads and processes), {len(rows)} rows, overall "
          f"{scores['overall']['metrics']['mean_headline']['value']:.6f}")
    per_goal = wall * GOAL_N / args.n
    print(ratio_line("score_vs_goal", per_goal / GOAL_S,
                     f"parse + aggregation s for {GOAL_N:,} predictions (linear from "
                     f"{args.n:,}) / {GOAL_S:g} s goal; below 1 meets it"))
    if args.embed:
        embed(args.embed, n_obj)


def embed(n_texts: int, n_obj: int) -> None:
    """Time the sentence model on ``n_texts`` distinct texts (cache off)."""
    from vl4gaze.metrics.description import SentenceEmbedder

    emb = SentenceEmbedder(cache=None)
    emb.encode(["warm up"])
    rng = random.Random(1)
    texts = [f"{rng.choice(['a', 'the', 'one'])} {o[1]} number {i}"
             for i, o in zip(range(n_texts), OBJECTS * n_texts, strict=False)]
    t0 = time.perf_counter()
    emb.encode(texts)
    t_emb = time.perf_counter() - t0
    print(f"embeddings: {n_texts} distinct texts in {t_emb:.1f} s -> "
          f"{t_emb / n_texts * 1e3:.2f} ms/text; all {n_obj} object answers (worst case, "
          f"every answer distinct, plus references, nothing cached yet): "
          f"~{t_emb / n_texts * n_obj * 2 / 60:.1f} min")


if __name__ == "__main__":
    main()
