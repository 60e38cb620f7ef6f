"""GazeWorld: procedural gaze scenes with exact ground truth, the built-in offline data set.

``synthesize`` renders scenes with PIL and writes ``OUT/images/scene-000000.png``,
``OUT/annotations.jsonl`` (one scene per line: its people, their gaze and targets, and
every object) and ``OUT/meta.json`` (seed, arguments, generator version).
``read_gazeworld`` turns that directory into GazeSamples (source ``gazeworld:OUT``).

Scene ``i`` depends only on the seed, ``i`` and the arguments, so the same call writes
byte-identical files and a bigger run extends a smaller one.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from PIL import Image
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vl4gaze.schema import Box, Flag, GazeSample, InOut, Person, Point, SceneObject, Target
from vl4gaze.sources._common import (
    MAX_JSON_LINE,
    area_message,
    check_file,
    exists_at_all,
    inside_root,
    json_line,
    no_area,
    outside_message,
    text_lines,
)
from vl4gaze.sources.gazeworld_draw import render_record
from vl4gaze.sources.gazeworld_scene import (
    GENERATOR_VERSION,
    WorldConfig,
    sample_scene,
    scene_record,
)
from vl4gaze.sources.problems import ProblemLog, SourceProblem

__all__ = ["WorldConfig", "read_gazeworld", "render_scene", "scene_annotation", "synthesize"]

ANNOTATIONS = "annotations.jsonl"
META = "meta.json"
#: PNG encoding: zlib's run-length strategy (Z_RLE = 3, Pillow's ``compress_type``) suits
#: flat-colour pictures: ~3.5x faster than Pillow's default, for files ~40% larger (8 KiB).
PNG_OPTIONS: dict[str, int] = {"compress_level": 9, "compress_type": 3}


def scene_annotation(index: int, config: WorldConfig, seed: int = 0) -> dict[str, Any]:
    """The annotation record of scene ``index`` (no file is written)."""
    rng = random.Random(f"gazeworld:{GENERATOR_VERSION}:{seed}:{index}")
    split = "test" if rng.random() < config.test_fraction else "train"
    return scene_record(sample_scene(rng, config), f"scene-{index:06d}", split)


def render_scene(record: dict[str, Any]) -> Image.Image:
    """The picture of an annotation record (a PIL image)."""
    return render_record(record)


def synthesize(
    out: Path,
    scenes: int,
    seed: int = 0,
    size: int | None = None,
    *,
    config: WorldConfig | None = None,
    progress: bool = True,
    **options: Any,
) -> Path:
    """Render ``scenes`` GazeWorld scenes into ``out`` and return ``out``.

    ``config`` is the whole world (``WorldConfig()`` when None); ``size`` and ``options``
    (any ``WorldConfig`` field, e.g. ``p_mutual=0.3``) replace single fields of it, so the
    defaults live in one place. The ``p_*`` fields are fractions of people (see
    ``WorldConfig``). Files of an earlier run in ``out`` (scene pictures, annotations)
    are replaced.
    """
    if scenes < 0:
        raise ValueError(f"scenes={scenes} must not be negative")
    known = {f.name for f in fields(WorldConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"synthesize() got unknown world option(s) {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(known))}")
    if size is not None:
        options["size"] = size
    config = replace(config or WorldConfig(), **options)
    out = Path(out)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    # Until the new annotations and meta.json are renamed into place at the end, the folder
    # holds no annotations at all: a killed run is never read as a complete smaller one.
    for stale in (out / META, out / ANNOTATIONS, *images.glob("scene-*.png")):
        stale.unlink(missing_ok=True)
    columns = (TextColumn("GazeWorld"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    partial = out / f".{ANNOTATIONS}.{os.getpid()}.tmp"
    with partial.open("w", encoding="utf-8", newline="\n") as lines, Progress(
        *columns, disable=not progress, transient=True
    ) as bar:
        task = bar.add_task("scenes", total=scenes)
        for index in range(scenes):
            record = scene_annotation(index, config, seed)
            picture = out / record["image"]
            tmp = picture.with_name(f".{picture.name}.tmp")
            render_record(record).save(tmp, format="PNG", **PNG_OPTIONS)
            os.replace(tmp, picture)
            lines.write(json.dumps(record, separators=(",", ":")) + "\n")
            bar.advance(task)
    os.replace(partial, out / ANNOTATIONS)
    meta = {"generator": "gazeworld", "version": GENERATOR_VERSION, "seed": seed,
            "scenes": scenes, "config": asdict(config)}
    tmp = out / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / META)
    return out


# --- reading ---------------------------------------------------------------------------


def _box(value: Any) -> Box:
    return Box(*value)


def _person(p: dict[str, Any], description: bool = True) -> Person:
    eye = p.get("eye")
    return Person(head=_box(p["head"]), eye=Point(*eye) if eye is not None else None,
                  description=p.get("description") if description else None,
                  index=int(p["index"]))


def _sample(scene: dict[str, Any], p: dict[str, Any], image: str,
            objects: tuple[SceneObject, ...]) -> GazeSample:
    t = p["target"]
    if t["kind"] in ("object", "person", "space"):
        target = Target(label=t["label"], description=t["description"],
                        box=_box(t["box"]) if t["box"] is not None else None, kind=t["kind"],
                        rule="source")
    else:
        target = Target()
    flags = {"closed": (Flag.EYES_CLOSED.value,), "hidden": (Flag.EYES_HIDDEN.value,)}.get(
        p["eyes"], ())
    return GazeSample(
        image=image, width=int(scene["width"]), height=int(scene["height"]), source="gazeworld",
        source_id=f"{scene['id']}/{p['id']}", split=scene["split"], person=_person(p),
        gaze=(Point(*p["gaze"]),) if p["gaze"] is not None else (), inout=InOut(p["inout"]),
        target=target,
        others=tuple(_person(q) for q in scene["people"] if q["index"] != p["index"]),
        objects=objects, flags=flags,
    )


def _field_of(error: Exception) -> str | None:
    """The annotation field a KeyError or validation error points at, when it says."""
    if isinstance(error, KeyError):
        return str(error.args[0]) if error.args else None
    return None


def read_gazeworld(
    path: str, *, strict: bool = False, problems: list[SourceProblem] | None = None,
    allow_outside_root: bool = False,
) -> Iterator[GazeSample]:
    """Yield one GazeSample per person of a GazeWorld directory (or its annotations.jsonl).

    Bad lines are skipped and reported in ``problems`` (or raise ``SourceError`` when
    ``strict``), naming the file, line and field. An ``image`` that leads out of the
    directory is refused unless ``allow_outside_root``.
    """
    log = ProblemLog(strict, problems)
    root = Path(path)
    file = root if exists_at_all(root) and not root.is_dir() else root / ANNOTATIONS
    if not exists_at_all(file):
        log.add(str(file), None, None, "no GazeWorld annotations here (run `vl4gaze synth` "
                "to make some)")
        return
    if not check_file(file, log):
        return
    base = file.parent.resolve()
    for number, line in enumerate(text_lines(file, log, MAX_JSON_LINE), start=1):
        if not line.strip():
            continue
        try:
            scene = json_line(line)
        except ValueError as error:
            log.add(str(file), number, None, str(error))
            continue
        yield from _scene_samples(scene, base, str(file), number, log, allow_outside_root)


def _scene_samples(scene: Any, base: Path, file: str, number: int,
                   log: ProblemLog, allow_outside_root: bool = False) -> Iterator[GazeSample]:
    if not isinstance(scene, dict):
        log.add(file, number, None, "a scene line must be a JSON object")
        return
    rel = scene.get("image")
    if not isinstance(rel, str) or not rel:
        log.add(file, number, "image", f"image={rel!r} is not a file name")
        return
    where = inside_root(str(base), rel, allow_outside=allow_outside_root)
    if where is None:
        log.add(file, number, "image", outside_message(rel, str(base)))
        return
    try:
        image = Path(where)
        objects = tuple(SceneObject(label=o["label"], box=_box(o["box"]),
                                    description=o.get("description"))
                        for o in scene["objects"])
        people = scene["people"]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        field = _field_of(error) or "objects"
        log.add(file, number, field, f"bad scene: {error}")
        return
    if not image.exists():
        log.add(file, number, "image", f"image not found: {image}")
        return
    if not image.is_file():
        log.add(file, number, "image", f"image is not a file: {image}")
        return
    samples = []
    for k, p in enumerate(people):
        try:
            sample = _sample(scene, p, str(image), objects)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            field = _field_of(error)
            where = f"people[{k}]" + (f".{field}" if field else "")
            log.add(file, number, where, f"bad person: {error}")
            return
        if no_area(sample.person.head):
            log.add(file, number, f"people[{k}].head", area_message(sample.person.head))
            return
        samples.append(sample)
    yield from samples
