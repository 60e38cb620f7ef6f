"""Pretraining the tiny VLM's vision tower on GazeWorld, the way real VLMs start from a
pretrained image encoder.

A random ViT learns which way a drawn face points only from tens of thousands of images
(docs/learnability.md); fine-tuning a whole VLM cannot supply that in minutes on a CPU. So
``tiny-gaze`` models get a vision tower pretrained on *separate* GazeWorld scenes (their
own seed, never a benchmark's pictures) with a dense, task-agnostic objective: for every
patch, say what is in it. Patch classes are the eight directions a face in the patch
points (``geometry.DIRECTIONS`` order; face disc and nose), the back of a head, an object,
and anything else. Nothing about questions, answers or which person is asked is seen.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

#: Patch classes: 0-7 a face pointing that way, then these.
BACK_OF_HEAD, OBJECT, OTHER = 8, 9, 10
IGNORE = -100
N_CLASSES = 11
#: Pretraining scenes get seeds far from any benchmark's (0, 1, 2, ...): different pictures.
SEED_OFFSET = 7_919
#: ``tiny-gaze``'s pretraining: steps at batch 32 and GazeWorld scenes (fewer scenes
#: over-fit: 2,000 gave 0.36 held-out face accuracy against 0.59 with 8,000).
PRETRAIN_STEPS, PRETRAIN_SCENES = 1500, 8000


def patch_labels(record: dict[str, Any], grid: int) -> list[int]:
    """The class of each of ``grid`` x ``grid`` patches (row-major) of a GazeWorld record.

    The patch holding a head's centre gets the face's direction (or ``BACK_OF_HEAD``); the
    other patches within 1.8 head radii of it (face, hair, nose) are left out (``IGNORE``),
    since what they show depends on where the head sits in the patch grid. Then objects,
    then ``OTHER``."""
    from vl4gaze.geometry import DIRECTIONS, direction_of_angle

    patches = [((col + 0.5) / grid, (row + 0.5) / grid)  # patch centres, row-major
               for row in range(grid) for col in range(grid)]
    labels = [OTHER] * len(patches)
    for o in record["objects"]:
        x1, y1, x2, y2 = o["box"]
        for i, (x, y) in enumerate(patches):
            if x1 <= x <= x2 and y1 <= y <= y2:
                labels[i] = OBJECT
    centres = {}
    for person in record["people"]:
        x1, y1, x2, y2 = person["head"]
        cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2
        for i, (x, y) in enumerate(patches):
            if math.hypot(x - cx, y - cy) <= 1.8 * r + 0.5 / grid:
                labels[i] = IGNORE
        face = person["face_deg"]
        cls = BACK_OF_HEAD if person["eyes"] == "hidden" or face is None \
            else list(DIRECTIONS).index(direction_of_angle(face))
        centres[min(grid - 1, int(cy * grid)) * grid + min(grid - 1, int(cx * grid))] = cls
    for index, cls in centres.items():
        labels[index] = cls
    return labels


def _scenes(root: Path, scenes: int, seed: int, size: int,
            progress: bool) -> list[tuple[Path, dict]]:
    """Synthesize pretraining scenes (half with normal heads, half with 2x heads)."""
    from vl4gaze.sources.gazeworld import synthesize

    out = []
    for k, head_scale in enumerate((1.0, 2.0)):
        world = root / f"world-{k}"
        synthesize(world, scenes // 2, seed=SEED_OFFSET + 2 * seed + k, size=size,
                   head_scale=head_scale, max_objects=5, progress=progress)
        for line in (world / "annotations.jsonl").read_text().splitlines():
            record = json.loads(line)
            out.append((world / record["image"], record))
    return out


def pretrain_vision_tower(model: Any, processor: Any, *, scenes: int = PRETRAIN_SCENES,
                          steps: int = PRETRAIN_STEPS,
                          batch_size: int = 32, lr: float = 1e-3, seed: int = 0,
                          image_size: int = 224, progress: bool = True) -> dict[str, float]:
    """Train ``model``'s vision tower in place on the patch-class objective.

    Returns the first and last training loss and the patch accuracy on held-out scenes,
    so the caller can record what the tower learned. Deterministic for a seed."""
    import torch
    from PIL import Image
    from rich.progress import track

    vision = model.model.vision_tower if hasattr(model, "model") else model.vision_tower
    config = vision.config
    grid = config.image_size // config.patch_size
    with tempfile.TemporaryDirectory(prefix="vl4gaze-pretrain-") as tmp:
        data = _scenes(Path(tmp), scenes, seed, image_size, progress)
        pixels = torch.cat([processor.image_processor(Image.open(path).convert("RGB"),
                                                      return_tensors="pt")["pixel_values"]
                            for path, _ in data])
    labels = torch.tensor([patch_labels(record, grid) for _, record in data])
    held_out = max(1, len(data) // 10)
    train_x, train_y = pixels[held_out:], labels[held_out:]
    # Faces cover a few patches of each picture: weigh classes by inverse frequency so the
    # directions, not the wall, drive the loss.
    kept = train_y[train_y != IGNORE]
    counts = torch.bincount(kept, minlength=N_CLASSES).float()
    weight = (counts.sum() / counts.clamp(min=1)) / N_CLASSES
    head = torch.nn.Linear(config.hidden_size, N_CLASSES)
    params = [*vision.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                   pct_start=0.05)
    generator = torch.Generator().manual_seed(seed)
    vision.train()
    losses = []

    def patch_logits(x: torch.Tensor) -> torch.Tensor:
        hidden = vision(pixel_values=x, output_hidden_states=True).hidden_states[-1]
        return head(hidden[:, 1:])  # the patch tokens LLaVA's "default" strategy keeps

    steps_iter = range(steps)
    if progress:
        steps_iter = track(steps_iter, description="pretraining the vision tower",
                           transient=True)
    for _ in steps_iter:
        idx = torch.randint(0, len(train_x), (batch_size,), generator=generator)
        logits = patch_logits(train_x[idx])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, N_CLASSES),
                                                 train_y[idx].reshape(-1), weight=weight,
                                                 ignore_index=IGNORE)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    vision.eval()
    with torch.no_grad():
        pred = patch_logits(pixels[:held_out]).argmax(-1)
    truth = labels[:held_out]
    face = (truth >= 0) & (truth < BACK_OF_HEAD)
    known = truth != IGNORE
    return {"loss_first": losses[0], "loss_last": losses[-1],
            "patch_accuracy": (pred[known] == truth[known]).float().mean().item(),
            "face_patch_accuracy": (pred[face] == truth[face]).float().mean().item()
            if face.any() else float("nan")}
