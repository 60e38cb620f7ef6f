"""What the exporters share: rendered images, items per split, images copied into OUT.

Every export is self-contained: the images its items use are placed inside OUT under
their benchmark-relative paths (hard links when OUT is on the same file system, copies
otherwise) and every path written is relative to OUT, so an export can be moved, archived
or shared, and the benchmark deleted, without breaking it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from vl4gaze.build import PLAN_FILE, load_benchmark, render_images
from vl4gaze.schema import QAItem


def ensure_images(bench: Path) -> None:
    """Render the images a build planned but did not write (``images="none"``)."""
    if (bench / PLAN_FILE).exists():
        render_images(bench, progress=False)


def splits(bench: Path) -> dict[str, list[QAItem]]:
    """Items per split, in file (id) order."""
    return {p.stem: load_benchmark(bench, p.stem)
            for p in sorted((bench / "data").glob("*.parquet"))}


def eval_split(bench: Path) -> str:
    """The split harness exports evaluate: ``test``, else the first there is."""
    data = Path(bench) / "data"
    if (data / "test.parquet").exists():
        return "test"
    files = sorted(data.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{data}: no Parquet files: not a benchmark directory")
    return files[0].stem


def place_images(bench: Path, out: Path, items: Iterable[QAItem]) -> int:
    """Put every image the items use at ``OUT/<item.image>``; returns how many were placed.

    A hard link costs no space; across file systems (or where links are refused) the
    file is copied. An image already there with the same size is kept."""
    placed = 0
    for rel in sorted({i.image for i in items}):
        src, dest = Path(bench) / rel, Path(out) / rel
        if not src.is_file():
            raise FileNotFoundError(f"{src}: image of the benchmark is missing")
        if dest.is_symlink():
            dest.unlink()
        elif dest.is_file() and dest.stat().st_size == src.stat().st_size:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            if dest.exists():
                dest.unlink()
            os.link(src, dest)
        except OSError:
            shutil.copy2(src, dest)
        placed += 1
    return placed


def copy_manifest(bench: Path, out: Path) -> None:
    """``OUT/manifest.json``: the point format and person marking prompts are made from.

    The build's list of its own data files (``files``) is left out: an export lays its
    data out differently, and the list would make the folder look like a broken build."""
    src = Path(bench) / "manifest.json"
    if src.exists():
        manifest = json.loads(src.read_text(encoding="utf-8"))
        manifest.pop("files", None)
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
