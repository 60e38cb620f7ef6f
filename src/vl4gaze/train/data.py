"""Benchmark items -> TRL's conversational vision dataset (``messages`` + ``images``).

Messages come from :func:`vl4gaze.prompting.build_messages` (the prompts eval asks), plus the
item's canonical answer as the assistant turn. Images stay file paths in an ``Image()``
column, so the dataset is built in seconds and decoded lazily per batch by the collator;
for a processor that stretches every picture to one fixed size (the tiny model, CLIP-style
LLaVA) they are shrunk to that size once, up front, which gives the processor the same
pixels and spares decoding a large PNG for every example of every step.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vl4gaze.schema import QAItem
from vl4gaze.tasks import registry


def parse_task_mix(text: str | None) -> dict[str, float] | None:
    """``"direction=2,point=1"`` -> ``{"direction": 2.0, "point": 1.0}`` (None when empty)."""
    if not text:
        return None
    mix: dict[str, float | str] = {}
    for chunk in text.split(","):
        name, sep, value = chunk.partition("=")
        name = name.strip()
        if not sep or name not in registry.task_names():
            raise ValueError(f"--task-mix: bad entry {chunk!r}; expected TASK=WEIGHT with TASK "
                             f"one of {', '.join(registry.task_names())}")
        mix[name] = value
    return check_task_mix(mix)


def check_task_mix(mix: Mapping[str, float | str]) -> dict[str, float]:
    """Task -> weight, checked: known tasks, numbers >= 0, not all zero."""
    tasks = registry.task_names()
    out: dict[str, float] = {}
    for name, value in mix.items():
        name = str(getattr(name, "value", name))  # a Task or its name
        if name not in tasks:
            raise ValueError(f"--task-mix: unknown task {name!r}; tasks are "
                             f"{', '.join(tasks)}")
        try:
            weight = float(value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"--task-mix: weight of {name!r} is not a number: {value!r}"
                             ) from err
        if weight < 0:
            raise ValueError(f"--task-mix: weight of {name!r} is negative: {weight}")
        out[name] = weight
    if not any(out.values()):
        raise ValueError("--task-mix: all weights are zero")
    return out


def load_items(bench: Path, split: str = "train") -> list[QAItem]:
    """The benchmark's items of one split (through ``vl4gaze.build`` when present)."""
    try:
        from vl4gaze.build import load_benchmark
    except ImportError:  # the build stage not installed yet: read the Parquet directly
        load_benchmark = None
    if load_benchmark is not None:
        return list(load_benchmark(Path(bench), split))
    import pyarrow.parquet as pq

    path = Path(bench) / "data" / f"{split}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no {split} split in benchmark {bench}")
    items = []
    for row, record in enumerate(pq.read_table(path).to_pylist()):
        for key in ("target", "person_head"):
            if isinstance(record.get(key), str):
                record[key] = json.loads(record[key])
        try:
            items.append(QAItem.from_dict(record))
        except ValueError as err:
            raise ValueError(f"{path}: row {row}: {err}") from err
    return items


def mix_tasks(
    items: Sequence[QAItem], mix: Mapping[str, float] | None, seed: int = 0
) -> list[QAItem]:
    """Resample items so the tasks appear in the ratios of ``mix`` (same total count).

    A task with weight 0 (or absent from ``mix``) is dropped; a task with fewer items than
    its share is repeated (drawn with replacement beyond one full pass). Deterministic.
    """
    if not mix:
        return list(items)
    by_task: dict[str, list[QAItem]] = defaultdict(list)
    for item in sorted(items, key=lambda it: it.id):
        by_task[str(item.task)].append(item)
    kept = {t: w for t, w in mix.items() if w > 0}
    missing = [t for t in kept if not by_task.get(t)]
    if missing:
        raise ValueError(f"--task-mix names tasks with no training items: {', '.join(missing)}")
    total = sum(len(by_task[t]) for t in kept)
    weight_sum = sum(kept.values())
    rng = random.Random(seed)
    out: list[QAItem] = []
    for task in sorted(kept):
        pool = by_task[task]
        want = max(1, round(total * kept[task] / weight_sum))
        picked = [*pool] * (want // len(pool)) + rng.sample(pool, want % len(pool))
        out.extend(picked)
    rng.shuffle(out)
    return out


def to_example(item: QAItem, bench: Path) -> dict[str, Any]:
    """One training example: eval's messages with image placeholders, the answer, image paths."""
    from vl4gaze.prompting import build_messages

    messages = build_messages(item, Path(bench), load_images=False)
    out_messages = []
    n_images = 0
    for message in messages:
        parts = message["content"]
        if isinstance(parts, str):
            parts = [{"type": "text", "text": parts}]
        new_parts = []
        for part in parts:
            if part.get("type") == "image":
                n_images += 1
                new_parts.append({"type": "image", "text": None})
            else:
                new_parts.append({"type": "text", "text": part.get("text", "")})
        out_messages.append({"role": message["role"], "content": new_parts})
    if n_images != 1:
        raise ValueError(f"item {item.id}: expected one image in the prompt, found {n_images}")
    out_messages.append({"role": "assistant",
                         "content": [{"type": "text", "text": item.answer}]})
    return {"messages": out_messages, "images": [str(Path(bench) / item.image)],
            "task": str(item.task), "item_id": item.id}


#: Image-processor options under which the output depends on more than one fixed size:
#: tiling (Idefics3 / SmolVLM splitting, InternVL crop_to_patches, LLaVA-NeXT / OneVision anyres
#: pinpoints, Gemma 3 pan-and-scan) or cropping.
_TILING_FLAGS = ("do_image_splitting", "crop_to_patches", "do_pan_and_scan", "do_center_crop",
                 "image_grid_pinpoints", "do_crop")


def processor_image_defaults(processor: Any) -> dict[str, Any]:
    """The image options a processor passes on every call (``images_kwargs`` defaults).

    They override the image processor's own attributes: InternVL's processor sends
    ``crop_to_patches=True`` whatever its ``preprocessor_config.json`` says."""
    import sys

    defaults: dict[str, Any] = {}
    module = sys.modules.get(type(processor).__module__)
    for obj in vars(module).values() if module else ():  # transformers < 5.2x: a TypedDict
        if isinstance(obj, type) and obj.__name__.endswith("ProcessorKwargs"):
            defaults.update((getattr(obj, "_defaults", None) or {}).get("images_kwargs", {}))
    own = getattr(type(processor), "images_kwargs", None)  # newer: a class attribute
    if isinstance(own, dict):
        defaults.update(own)
    return defaults


def fixed_image_size(processor: Any) -> tuple[int, int] | None:
    """``(width, height)`` every image is stretched to by ``processor``, else None.

    Only a plain resize to one fixed height x width qualifies (no crop, no kept aspect ratio,
    no tiling, with the processor's own call-time defaults), and only when a probe picture
    shrunk to that size beforehand comes out of the image processor exactly as the original
    does (a torchvision resize and PIL's differ): then shrinking is invisible to the model."""
    image_processor = getattr(processor, "image_processor", None)
    if image_processor is None or not getattr(image_processor, "do_resize", False):
        return None
    defaults = processor_image_defaults(processor)
    if any(defaults.get(flag, getattr(image_processor, flag, None)) for flag in _TILING_FLAGS):
        return None
    size = getattr(image_processor, "size", None)
    get = size.get if isinstance(size, dict) else lambda key: getattr(size, key, None)
    height, width = get("height"), get("width")
    if not height or not width or any(get(k) for k in ("shortest_edge", "longest_edge")):
        return None
    if not _probe_agrees(image_processor, defaults, (int(width), int(height))):
        return None
    return int(width), int(height)


def resize_like(image_processor: Any, image: Any, size: tuple[int, int]) -> Any:
    """``image`` (PIL, RGB) resized to ``size`` by the image processor's own resize (its
    torchvision or PIL backend and resample filter), back as a PIL image of 8-bit pixels."""
    import numpy as np
    from PIL import Image as PILImage
    from transformers.image_utils import SizeDict

    array = np.asarray(image.convert("RGB")).transpose(2, 0, 1).copy()
    resample = getattr(image_processor, "resample", 3)
    target = SizeDict(height=size[1], width=size[0])
    try:
        import torch

        out = image_processor.resize(torch.from_numpy(array), size=target, resample=resample)
        out = out.numpy() if hasattr(out, "numpy") else np.asarray(out)
    except (TypeError, AttributeError):
        out = np.asarray(image_processor.resize(array, size=target, resample=resample))
    return PILImage.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8).transpose(1, 2, 0))


def _probe_agrees(image_processor: Any, defaults: dict[str, Any], size: tuple[int, int]) -> bool:
    """Whether a random picture and its shrunk copy give the same pixel values."""
    import numpy as np
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    probe = PILImage.fromarray(rng.integers(0, 256, (size[1] + 37, size[0] * 2 + 11, 3),
                                            dtype=np.uint8))
    try:
        shrunk = resize_like(image_processor, probe, size)
        want = image_processor(probe, return_tensors="np", **defaults)["pixel_values"]
        got = image_processor(shrunk, return_tensors="np", **defaults)["pixel_values"]
    except (TypeError, ValueError, RuntimeError):
        return False
    return bool(np.shape(want) == np.shape(got) and np.array_equal(want, got))


def shrink_image(path: Path, size: tuple[int, int], image_processor: Any) -> bytes:
    """The picture at ``path`` resized to ``size`` as its processor would, as PNG bytes."""
    import io

    from PIL import Image as PILImage

    with PILImage.open(path) as image:
        small = resize_like(image_processor, image, size)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _shrink_all(paths: list[str], size: tuple[int, int], image_processor: Any
                ) -> dict[str, bytes]:
    """``shrink_image`` for many files on all cores (decoding and resizing release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    from rich.progress import track

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = pool.map(lambda p: shrink_image(Path(p), size, image_processor), paths)
        shrunk = list(track(jobs, total=len(paths), description="shrinking images",
                            transient=True))
    return dict(zip(paths, shrunk, strict=True))


def build_dataset(items: Sequence[QAItem], bench: Path, processor: Any = None) -> Any:
    """A ``datasets.Dataset`` of ``to_example`` rows; ``images`` decode lazily per batch.

    With a fixed-size ``processor`` (:func:`fixed_image_size`) each distinct picture is
    shrunk to that size once and stored in the dataset; otherwise images stay file paths.
    """
    from datasets import Dataset, Image, List

    rows = [to_example(item, bench) for item in items]
    if not rows:
        raise ValueError(f"benchmark {bench} has no training items (after task mixing)")
    size = fixed_image_size(processor) if processor is not None else None
    if size is not None:
        shrunk = _shrink_all(sorted({p for row in rows for p in row["images"]}), size,
                             processor.image_processor)
        for row in rows:
            row["images"] = [{"bytes": shrunk[path], "path": None} for path in row["images"]]
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    dataset = Dataset.from_dict(columns)
    return dataset.cast_column("images", List(Image()))


def token_lengths(dataset: Any, processor: Any) -> tuple[list[int], list[int]]:
    """(full length, prompt length) in tokens of every example, images expanded, from the
    rendering the loss mask uses (:class:`vl4gaze.train.collate.AnswerCollator`).

    A fixed-size processor expands every image into the same number of tokens, so only the
    first example goes through it with its picture; the rest are counted from their text
    (one placeholder per image) plus that expansion, which is many times faster and gives
    the same numbers (tested)."""
    from vl4gaze.train.collate import AnswerCollator

    collator = AnswerCollator(processor)
    if len(dataset) == 0 or collator.path != "chat" or fixed_image_size(processor) is None:
        return measured_token_lengths(dataset, processor)
    full, prompt = _text_token_lengths(dataset, collator)
    counts = [sum(part["type"] == "image" for message in messages for part in message["content"])
              for messages in dataset["messages"]]
    first_full, first_prompt = collator.lengths(dataset[0])
    extra = (first_full - full[0]) // max(1, counts[0])
    if first_prompt - prompt[0] != extra * counts[0] or first_full - full[0] != extra * counts[0]:
        return measured_token_lengths(dataset, processor)  # images not all before the answer
    return ([n + extra * k for n, k in zip(full, counts, strict=True)],
            [n + extra * k for n, k in zip(prompt, counts, strict=True)])


def _text_token_lengths(dataset: Any, collator: Any) -> tuple[list[int], list[int]]:
    """Token lengths with each image left as its single placeholder token."""
    tok = collator.tokenizer
    full, prompt = [], []
    for messages in dataset["messages"]:
        (text,), (completion,), _ = collator.texts([{"messages": messages, "images": []}])
        bos = tok.bos_token
        kwargs = {"add_special_tokens": False} if bos and text.startswith(bos) else {}
        n = len(tok(text + completion, **kwargs)["input_ids"])
        full.append(n)
        prompt.append(n - len(tok(completion, add_special_tokens=False)["input_ids"]))
    return full, prompt


def measured_token_lengths(dataset: Any, processor: Any) -> tuple[list[int], list[int]]:
    """``token_lengths`` the slow, sure way: the collator on every example and its images."""
    from rich.progress import track

    from vl4gaze.train.collate import AnswerCollator

    collator = AnswerCollator(processor)
    full, prompt = [], []
    for example in track(dataset, description="measuring lengths", total=len(dataset),
                         transient=True):
        n, p = collator.lengths(example)
        full.append(n)
        prompt.append(p)
    return full, prompt


def check_max_length(dataset: Any, full: list[int], prompt: list[int],
                     max_length: int | None) -> int:
    """Raise when ``max_length`` would cut an example's whole answer (loss 0, silently);
    return how many examples lose part of their answer."""
    if max_length is None:
        return 0
    cut = 0
    for i, (n, p) in enumerate(zip(full, prompt, strict=True)):
        if p >= max_length:
            raise ValueError(
                f"max_length={max_length} leaves no answer tokens for item "
                f"{dataset[i]['item_id']} ({dataset[i]['task']}): its prompt alone is {p} "
                f"tokens (with the answer {n}); raise --max-length to at least {n}")
        if n > max_length:
            cut += 1
    return cut
