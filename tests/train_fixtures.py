"""A tiny direction/ambiguity benchmark written straight from QAItem records (for train tests)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

from vl4gaze.schema import QAItem

DIRS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def write_bench(root: Path, n_train: int = 32, n_test: int = 8, seed: int = 0) -> Path:
    """BENCH/ with data/{train,test}.parquet and images: a head disk and a big arrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps({"point_format": "norm", "person_ref": "box",
                                                    "seed": seed}))
    for split, n in (("train", n_train), ("test", n_test)):
        rows = []
        for i in range(n):
            name = rng.choice(sorted(DIRS))
            dx, dy = DIRS[name]
            img = Image.new("RGB", (64, 64), "white")
            draw = ImageDraw.Draw(img)
            draw.ellipse((22, 22, 42, 42), fill="black")
            draw.rectangle((32 + 30 * dx - 6, 32 + 30 * dy - 6, 32 + 30 * dx + 6,
                            32 + 30 * dy + 6), fill="red")
            rel = f"images/{split}-{i}.png"
            img.save(root / rel)
            item = QAItem(
                id=f"{split}{i:04d}", task="direction", image=rel, width=64, height=64,
                source="fixture", split=split,
                question="From the viewer's point of view, in which direction is the person "
                "looking?",
                answer=name, target={"direction": name, "angle_deg": 0.0,
                                     "eye": [0.5, 0.5], "gaze": [0.5 + dx / 3, 0.5 + dy / 3]},
                person_ref="box", template_id="d0", sample_id=f"s{split}{i}",
            )
            row = item.to_dict()
            row["target"] = json.dumps(row["target"])
            rows.append(row)
        pq.write_table(pa.Table.from_pylist(rows), root / "data" / f"{split}.parquet")
    return root
