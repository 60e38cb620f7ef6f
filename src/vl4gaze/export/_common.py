"""What the exporters share: rendered images, items per split, the user's turn text."""

from __future__ import annotations

import os
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


def link_images(bench: Path, out: Path) -> None:
    """``OUT/images`` -> ``BENCH/images``, so exported paths stay relative to OUT."""
    link = out / "images"
    if link.is_symlink() or link.exists():
        if link.is_symlink() and Path(os.readlink(link)) == (bench / "images").resolve():
            return
        raise FileExistsError(f"{link} exists and is not a link to {bench / 'images'}")
    link.symlink_to((bench / "images").resolve(), target_is_directory=True)
