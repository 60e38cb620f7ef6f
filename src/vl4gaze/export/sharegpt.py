"""ShareGPT / LLaVA style JSON, as LLaMA-Factory and ms-swift read it.

One file per split, ``vl4gaze_<split>.json``: a list of ``{"messages": [{"role": "user",
"content": "<image>question"}, {"role": "assistant", "content": answer}], "images":
["images/..."], "id", "task"}``; one ``<image>`` tag per image. Image paths are relative
to OUT (``OUT/images`` links to the benchmark's images), and ``dataset_info.json``
registers every split for LLaMA-Factory (``--dataset_dir OUT``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vl4gaze.export._common import ensure_images, link_images, splits
from vl4gaze.schema import QAItem

IMAGE_TAG = "<image>"


def record(item: QAItem) -> dict[str, Any]:
    """One conversation: the question after the image tag, the canonical answer."""
    return {"id": item.id, "task": str(item.task),
            "messages": [{"role": "user", "content": f"{IMAGE_TAG}{item.question}"},
                         {"role": "assistant", "content": item.answer}],
            "images": [item.image]}


def export(bench: Path, out: Path) -> Path:
    ensure_images(bench)
    out.mkdir(parents=True, exist_ok=True)
    link_images(bench, out)
    info: dict[str, Any] = {}
    for split, items in splits(bench).items():
        name = f"vl4gaze_{split}"
        with open(out / f"{name}.json", "w", encoding="utf-8") as handle:
            json.dump([record(i) for i in items], handle, ensure_ascii=False, indent=1)
        info[name] = {"file_name": f"{name}.json", "formatting": "sharegpt",
                      "columns": {"messages": "messages", "images": "images"},
                      "tags": {"role_tag": "role", "content_tag": "content",
                               "user_tag": "user", "assistant_tag": "assistant"}}
    (out / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return out
