"""GazeSample -> QAItem: the four tasks, splits, balance, and the benchmark directory.

``build_benchmark`` streams the sources once. Each sample yields its object / direction /
point items and its ambiguous items; every answerable sample also offers one answerable
look-alike for the ambiguity task, and at the end just enough look-alikes are kept (by a
seeded hash rank, per split) to reach ``ambiguity_ratio``. Items are gathered in Arrow
batches, so memory grows with the items, not with Python objects.

Why the output is reproducible: template choices use a Random seeded by (seed, sample,
task), selections rank items by a seeded hash, rows are sorted by id, and the Parquet
files carry no timestamps. The images are independent of the Parquet: the build writes
``image_plan.parquet`` (destination, source image, marker box) and ``render_images``
turns it into files, at once (``images="write"`` or ``"link"``) or later
(``images="none"``: the fast mode for GazeFollow-sized builds).

Why a build may use both cores and still give the same bytes: a sample's items depend
only on the sample, its image key and the 64 descriptions read before it (the
absent-person questions borrow them), never on the other items. A large build is cut
into contiguous shares of the samples; a forked process builds each share after the
first from its own ``_Builder`` seeded with the window before it, and the driver merges
the shares in order (first image split, plan entry and description win, as they would
have in one pass) before the one ``finish``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import multiprocessing
import os
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import vl4gaze
from vl4gaze.build_config import IMAGE_MODES, BuildConfig
from vl4gaze.forking import can_fork, worker_count
from vl4gaze.gc_pause import gc_paused
from vl4gaze.progress import ProgressLog
from vl4gaze.schema import Box, GazeSample, QAItem, content_id
from vl4gaze.tasks import registry
from vl4gaze.tasks.context import MAX_PAIRS_PER_IMAGE, PairContext, SampleContext
from vl4gaze.tasks.refs import Draft, Options, Ref, draw_marker, person_ref, rng_for

if TYPE_CHECKING:
    from vl4gaze.executor import Executor

#: Benchmark splits; a source's own split maps onto them (``val`` goes to train: the
#: benchmark's test stays the source's official test, comparable with published numbers).
SPLIT_MAP = {"train": "train", "val": "train", "validation": "train", "test": "test"}
__all__ = ["IMAGE_MODES", "BuildConfig", "build_benchmark", "build_from_samples",
           "load_benchmark"]
PLAN_FILE = "image_plan.parquet"
#: Present while a build writes the folder: one killed part way leaves it behind.
BUILDING = ".vl4gaze-building"
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_BATCH = 20_000
#: The recent descriptions an absent-person question may borrow (``SampleContext``).
_DESCRIPTION_WINDOW = 64
#: Threads that write images on the local executor: copies and decodes overlap their I/O.
RENDER_THREADS = 2
#: Fewer samples than this are built in one process: a fork costs more than it saves.
PARALLEL_MIN_SAMPLES = 20_000
_Entry = tuple[GazeSample, str]

_HEAD = pa.struct([(k, pa.float64()) for k in ("x1", "y1", "x2", "y2")])
#: The fixed Parquet schema of a benchmark split (the QAItem fields; target as JSON text).
SCHEMA = pa.schema([
    ("id", pa.string()), ("task", pa.string()), ("image", pa.string()),
    ("width", pa.int32()), ("height", pa.int32()), ("source", pa.string()),
    ("split", pa.string()), ("question", pa.string()), ("answer", pa.string()),
    ("target", pa.string()), ("person_ref", pa.string()), ("person_head", _HEAD),
    ("template_id", pa.string()), ("sample_id", pa.string()),
])
#: Working columns, dropped before writing: the clean image (split conflicts) and the
#: seeded selection rank.
_WORK = pa.schema([*SCHEMA, ("_base", pa.string()), ("_rank", pa.string())])
_SPLIT = SCHEMA.get_field_index("split")
#: Image plan: destination, source image, the first (red) marker box and the second
#: (blue) one of a question about two people.
_PLAN = pa.schema([("dest", pa.string()), ("src", pa.string()), ("box", _HEAD),
                   ("box2", _HEAD)])
_Markers = tuple[tuple[float, ...], ...]


class _Builder:
    """Accumulates items, look-alike candidates and the image plan while samples stream."""

    def __init__(self, config: BuildConfig) -> None:
        self.config = config
        self.options = Options(seed=config.seed, person_ref=config.person_ref,
                               point_format=config.point_format)
        self.absent_rate = config.absent_rate
        self.selected = frozenset(config.tasks)
        # Every per-person task is made (the sample's Random is drawn in registry order,
        # so a task's items do not depend on which others were selected); only the
        # selected ones are kept. Pair tasks run only when selected.
        self.person_specs = [s for s in registry.specs() if s.make or s.make_from]
        self.pair_specs = [s for s in registry.specs()
                           if s.make_pair and s.name in self.selected]
        #: The people of each multi-person picture, for the pair tasks (image key ->).
        self.people: dict[str, list[GazeSample]] = {}
        self.rows: list[tuple] = []
        self.lookalike_rows: list[tuple] = []
        #: Arrow batches per split (so the end needs no filtering copy of everything).
        self.tables: dict[str, list[pa.Table]] = {}
        self.lookalike_tables: dict[str, list[pa.Table]] = {}
        self.plan: dict[str, tuple[str, _Markers]] = {}
        self.image_split: dict[str, str] = {}
        self.conflicts: set[str] = set()
        self.skipped: Counter[str] = Counter()
        #: Where each sample's gazed-object target came from (source, box rule, VLM, ...).
        self.target_rules: Counter[str] = Counter()
        self.descriptions: list[tuple[str, str]] = []  # (image key, description), recent
        self.samples = 0
        self._dest_memo: dict[tuple, str] = {}
        self._head: tuple[Box | None, dict[str, float] | None] = (None, None)
        self._ref_images: tuple[Ref | None, str, str, str] = (None, "", "", "")

    # -- images ---------------------------------------------------------------------
    def _image(self, sample: GazeSample, key: str, markers: tuple[Box, ...]) -> str:
        boxes = tuple(m.as_tuple() for m in markers)
        memo_key = (key, boxes)
        dest = self._dest_memo.get(memo_key)
        if dest is not None:
            return dest
        if len(self._dest_memo) > 64:  # a picture's samples arrive together: stay small
            self._dest_memo.clear()
        ext = os.path.splitext(sample.image)[1].lower() or ".png"
        if not boxes:
            h = content_id(key)
            dest = f"images/{_safe(sample.source)}/{h[:2]}/{h}{ext}"
        else:
            h = content_id(key, *([round(v, 6) for v in b] for b in boxes))
            dest = f"images/marked/{h[:2]}/{h}{ext}"
        self.plan.setdefault(dest, (sample.image, boxes))
        self._dest_memo[memo_key] = dest
        return dest

    # -- rows -------------------------------------------------------------------------
    def _row(self, sample: GazeSample, draft: Draft, key: str, split: str, sample_id: str
             ) -> tuple:
        ref = draft.ref
        if ref is not self._ref_images[0] or key != self._ref_images[1]:
            # A sample's drafts share its Ref: its image paths are found once.
            markers = ref.markers
            image = self._image(sample, key, markers)
            base = self._image(sample, key, ()) if markers else image
            self._ref_images = (ref, key, image, base)
        _, _, image, base = self._ref_images
        target = _JSON.encode(draft.target)
        ref_kind = draft.ref.kind.value
        item_id = item_hash(draft.task, sample_id, draft.template_id, draft.question,
                            draft.answer, target, ref_kind, image)
        head = draft.ref.head
        if head is not self._head[0]:  # a sample's rows share its head box: round it once
            self._head = (head, None if head is None else _head_dict(head.as_tuple()))
        rank = hashlib.blake2b(f"{self.options.seed}:{item_id}".encode(),
                               digest_size=8).hexdigest()
        return (item_id, draft.task, image, sample.width, sample.height, sample.source, split,
                draft.question, draft.answer, target, ref_kind,
                self._head[1], draft.template_id, sample_id, base, rank)

    def _emit(self, row: tuple, lookalike: bool = False) -> None:
        rows = self.lookalike_rows if lookalike else self.rows
        rows.append(row)
        if len(rows) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        for rows, tables in ((self.rows, self.tables),
                             (self.lookalike_rows, self.lookalike_tables)):
            if rows:
                columns = list(zip(*rows, strict=True))
                batch = pa.Table.from_arrays(
                    [pa.array(c, type=f.type) for c, f in zip(columns, _WORK, strict=True)],
                    schema=_WORK)
                rows.clear()
                for split in set(columns[_SPLIT]):
                    tables.setdefault(split, []).append(
                        batch.filter(pc.equal(batch["split"], split)))

    # -- one sample ---------------------------------------------------------------------
    def add(self, sample: GazeSample, key: str) -> None:
        """All items of one sample (``key`` names its image, relocatably)."""
        self.samples += 1
        self.target_rules[sample.target.rule or "none"] += 1
        split = _split_of(sample)
        seen = self.image_split.setdefault(key, split)
        if seen != split:
            self.conflicts.add(self._image(sample, key, ()))  # its clean image path
        opts = self.options
        sid = f"{sample.source}:{sample.source_id}"
        ref = person_ref(sample, sample.person, opts)
        # One Random per sample, used in a fixed order: choices do not depend on the order
        # samples arrive in.
        rng = rng_for(opts.seed, sid)
        answers: dict[str, Draft] = {}
        for spec in self.person_specs:
            keep = spec.name in self.selected
            if spec.make is not None:
                draft = spec.make(sample, ref, opts, rng)
                if draft is None:
                    if keep:
                        reason = spec.skip_reason(sample) if spec.skip_reason else None
                        self.skipped[f"{spec.name}:{reason or 'unknown'}"] += 1
                    continue
                answers[spec.name] = draft
                if keep:
                    self._emit(self._row(sample, draft, key, split, sid))
                continue
            ctx = SampleContext(sample, ref, opts, rng, answers,
                                lambda k=key: [d for other, d in self.descriptions
                                               if other != k],
                                self.absent_rate, self._skipper(spec.name, keep))
            for draft in spec.make_from(ctx):
                if keep:
                    self._emit(self._row(sample, draft, key, split, sid), draft.reserve)
        if sample.person.description:
            self.descriptions.append((key, sample.person.description))
            del self.descriptions[:-_DESCRIPTION_WINDOW]
        if self.pair_specs and sample.others:
            self.people.setdefault(key, []).append(sample)

    def add_all(self, entries: Iterable[_Entry], bar: ProgressLog, workers: int = 1) -> None:
        """Every sample of ``entries``, in one pass, or in ``workers`` processes when there
        are enough samples and the platform forks (the same result either way)."""
        if workers > 1 and can_fork():
            entries = list(entries)
            if len(entries) >= PARALLEL_MIN_SAMPLES:
                self._add_shared(entries, bar, workers)
                return
        for sample, key in entries:
            self.add(sample, key)
            if self.samples % 2000 == 0:
                bar.update(self.samples)

    def _add_shared(self, entries: list[_Entry], bar: ProgressLog, workers: int) -> None:
        """The first share here, the others in forked processes, merged in order."""
        global _FORKED
        bounds = [len(entries) * i // workers for i in range(workers + 1)]
        done = multiprocessing.get_context("fork").Value("q", 0, lock=False)
        _FORKED = (entries, done)  # inherited by the forked workers, never pickled
        try:
            with ProcessPoolExecutor(workers - 1,
                                     mp_context=multiprocessing.get_context("fork")) as pool:
                futures = [pool.submit(_build_share, self.config, bounds[i], bounds[i + 1])
                           for i in range(1, workers)]
                for sample, key in entries[:bounds[1]]:
                    self.add(sample, key)
                    if self.samples % 2000 == 0:
                        bar.update(self.samples + done.value)
                for future in futures:
                    while not future.done():
                        bar.update(self.samples + done.value)
                        with contextlib.suppress(TimeoutError):
                            future.result(timeout=0.5)
                    self._merge(future.result(), entries)
        finally:
            _FORKED = None

    def share(self, first: int) -> dict[str, Any]:
        """What a forked share hands back (``first``: its first sample's index in the
        driver's list, so that people are named by index, not pickled)."""
        self._flush()
        mine = _FORKED[0][first:first + self.samples] if _FORKED and self.people else []
        index = {id(s): first + i for i, (s, _) in enumerate(mine)}
        return {"tables": self.tables, "lookalike_tables": self.lookalike_tables,
                "plan": self.plan, "image_split": self.image_split,
                "conflicts": self.conflicts, "skipped": self.skipped,
                "target_rules": self.target_rules, "samples": self.samples,
                "people": {k: [index[id(s)] for s in v] for k, v in self.people.items()}}

    def _merge(self, share: dict[str, Any], entries: list[_Entry]) -> None:
        """Add a later share's state as if its samples had come next in one pass."""
        self._flush()
        for mine, theirs in ((self.tables, share["tables"]),
                             (self.lookalike_tables, share["lookalike_tables"])):
            for split, tables in theirs.items():
                mine.setdefault(split, []).extend(tables)
        for dest, value in share["plan"].items():
            self.plan.setdefault(dest, value)
        clashes = {key for key, split in share["image_split"].items()
                   if self.image_split.setdefault(key, split) != split}
        if clashes:  # an image whose samples lie in two shares under two splits
            for sample, key in entries:
                if key in clashes:
                    clashes.discard(key)
                    self.conflicts.add(self._image(sample, key, ()))
        self.conflicts |= share["conflicts"]
        self.skipped.update(share["skipped"])
        self.target_rules.update(share["target_rules"])
        self.samples += share["samples"]
        for key, people in share["people"].items():
            self.people.setdefault(key, []).extend(entries[i][0] for i in people)

    def _skipper(self, task: str, keep: bool = True):
        def skip(reason: str) -> None:
            if keep:
                self.skipped[f"{task}:{reason}"] += 1
        return skip

    def _pairs(self) -> None:
        """The items about two people of one picture, for every selected pair task (two
        rows of one person, same head box, as GazeFollow train can have, are no pair)."""
        opts = self.options
        for key in sorted(self.people):
            people = sorted(self.people.pop(key), key=lambda s: (s.person.index, s.source_id))
            pairs = [(a, b) for i, a in enumerate(people) for b in people[i + 1:]
                     if a.person.index != b.person.index and a.person.head != b.person.head]
            if len(pairs) > MAX_PAIRS_PER_IMAGE:
                rng = rng_for(opts.seed, "pairs", key)
                pairs = sorted(rng.sample(pairs, MAX_PAIRS_PER_IMAGE),
                               key=lambda p: (p[0].person.index, p[1].person.index))
            for a, b in pairs:
                sid = f"{a.source}:{a.source_id}"
                pair_id = f"{sid}&{b.source_id}"
                split = _split_of(a)
                for spec in self.pair_specs:
                    ctx = PairContext(a, b, opts, rng_for(opts.seed, spec.name, pair_id),
                                      self._skipper(spec.name))
                    for draft in spec.make_pair(ctx):
                        # Both people share the picture's fields; the person asked about
                        # (whom asks both ways) is the draft's own reference.
                        self._emit(self._row(a, draft, key, split, pair_id))

    # -- the end ----------------------------------------------------------------------
    def _conflicts_to_test(self) -> None:
        """Items of an image that a source lists under two splits go to test."""
        conflicts = pa.array(sorted(self.conflicts))
        for tables in (self.tables, self.lookalike_tables):
            for split in [s for s in tables if s != "test"]:
                part = _concat(tables.pop(split))
                moved = pc.is_in(part["_base"], conflicts)
                tables[split] = [part.filter(pc.invert(moved))]
                going = part.filter(moved)
                tables.setdefault("test", []).append(going.set_column(
                    _SPLIT, "split", pa.array(["test"] * going.num_rows, pa.string())))

    def finish(self, ambiguity_ratio: float, caps: dict[str, int] | None,
               balance_directions: bool) -> Iterator[tuple[str, pa.Table]]:
        """Select look-alikes, apply balance and caps; yield one sorted table per split
        (in the final schema), so that only one split's copy is alive at a time."""
        self._pairs()
        self._flush()
        if self.conflicts:
            self._conflicts_to_test()
        for split in sorted(set(self.tables) | set(self.lookalike_tables)):
            part = _concat(self.tables.pop(split, []))
            part = self._with_reserve(part, _concat(self.lookalike_tables.pop(split, [])),
                                      ambiguity_ratio)
            if balance_directions:
                part = _balance_directions(part)
            for spec in registry.specs():
                if spec.balance is not None and spec.name in self.selected:
                    part = self._balance(part, spec)
            for task, cap in sorted((caps or {}).items()):
                part = _cap(part, task, cap)
            part = _unique(part.select(SCHEMA.names).sort_by([("id", "ascending")]))
            yield split, part.cast(SCHEMA).combine_chunks()

    def _with_reserve(self, part: pa.Table, pool: pa.Table, ratio: float) -> pa.Table:
        """Add just enough reserve items (look-alikes) of each task that has them for its
        other items to be ``ratio`` of it, smallest seeded rank first."""
        for spec in registry.specs():
            if spec.make_from is None or spec.name not in self.selected:
                continue
            n_main = int(pc.sum(pc.equal(part["task"], spec.name)).as_py() or 0)
            want = round(n_main * (1 - ratio) / ratio)
            mine = pool.filter(pc.equal(pool["task"], spec.name)) if pool.num_rows else pool
            if want < mine.num_rows:
                self.skipped[f"{spec.name}:lookalike_not_needed"] += mine.num_rows - want
            mine = _smallest(mine, want)
            if want > mine.num_rows:
                self.skipped[f"{spec.name}:lookalike_short"] += want - mine.num_rows
            part = pa.concat_tables([part, mine])
        return part

    def _balance(self, part: pa.Table, spec: registry.TaskSpec) -> pa.Table:
        """Keep as many of the task's items of each class as its rarest class has (none
        when a class is missing: a one-class task measures nothing)."""
        mask = pc.equal(part["task"], spec.name)
        rows = part.filter(mask)
        if rows.num_rows == 0:
            return part
        classes = [spec.balance(json.loads(t)) for t in rows["target"].to_pylist()]
        rows = rows.append_column("_class", pa.array(classes, pa.string()))
        found = Counter(classes)
        least = min(found.values()) if len(found) > 1 else 0
        self.skipped[f"{spec.name}:unbalanced"] += rows.num_rows - least * len(found)
        kept = [_smallest(rows.filter(pc.equal(rows["_class"], c)), least)
                .drop_columns(["_class"]) for c in sorted(found)]
        return pa.concat_tables([part.filter(pc.invert(mask)), *kept])


#: The samples and the progress counter a forked share reads (set only while sharing).
_FORKED: tuple[list[_Entry], Any] | None = None


def _build_share(config: BuildConfig, start: int, stop: int) -> dict[str, Any]:
    """In a forked worker: the items of samples ``start:stop``, with the descriptions
    window the one pass would have had there."""
    assert _FORKED is not None
    entries, done = _FORKED
    builder = _Builder(config)
    builder.descriptions = _window_before(entries, start)
    for sample, key in entries[start:stop]:
        builder.add(sample, key)
        if builder.samples % 2000 == 0:
            done.value = builder.samples
    done.value = builder.samples
    return builder.share(start)


def _window_before(entries: Sequence[_Entry], start: int) -> list[tuple[str, str]]:
    """The last ``_DESCRIPTION_WINDOW`` (image key, description) before ``start``."""
    window: list[tuple[str, str]] = []
    for sample, key in reversed(entries[:start]):
        if len(window) == _DESCRIPTION_WINDOW:
            break
        if sample.person.description:
            window.append((key, sample.person.description))
    return window[::-1]


def item_hash(*parts: str) -> str:
    """An item id: 16 hex digits of SHA-256 over the item's content (the form of
    ``schema.content_id``, hashed over the joined strings: no JSON pass, ~3x faster)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _head_dict(box: tuple[float, float, float, float]) -> dict[str, float]:
    # Not cached: nearly every box is a new one (a cache of 1,024 only cost hashing).
    x1, y1, x2, y2 = box
    return {"x1": round(x1, 6), "y1": round(y1, 6), "x2": round(x2, 6), "y2": round(y2, 6)}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "source"


def _split_of(sample: GazeSample) -> str:
    try:
        return SPLIT_MAP[sample.split]
    except KeyError:
        raise ValueError(f"sample {sample.source}:{sample.source_id}: split "
                         f"{sample.split!r} is not one of {', '.join(SPLIT_MAP)}") from None


def _concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables) if tables else _WORK.empty_table()


def _smallest(table: pa.Table, n: int) -> pa.Table:
    """The ``n`` rows of lowest seeded rank (a seeded random subset, order-independent)."""
    if n >= table.num_rows:
        return table
    return table.sort_by([("_rank", "ascending")]).slice(0, max(n, 0))


def _cap(table: pa.Table, task: str, cap: int) -> pa.Table:
    mask = pc.equal(table["task"], task)
    chosen = table.filter(mask)
    if chosen.num_rows <= cap:
        return table
    return pa.concat_tables([table.filter(pc.invert(mask)), _smallest(chosen, cap)])


def _balance_directions(table: pa.Table) -> pa.Table:
    """Keep as many direction items of every class as the rarest present class has."""
    mask = pc.equal(table["task"], "direction")
    dirs = table.filter(mask)
    if dirs.num_rows == 0:
        return table
    classes = [json.loads(t)["direction"] for t in dirs["target"].to_pylist()]
    dirs = dirs.append_column("_class", pa.array(classes))
    least = min(Counter(classes).values())
    kept = [_smallest(dirs.filter(pc.equal(dirs["_class"], c)), least).drop_columns(["_class"])
            for c in sorted(set(classes))]
    return pa.concat_tables([table.filter(pc.invert(mask)), *kept])


def _unique(table: pa.Table) -> pa.Table:
    """Drop repeated ids (identical content) from an id-sorted table."""
    ids = table["id"].to_pylist()
    keep = [i == 0 or ids[i] != ids[i - 1] for i in range(len(ids))]
    return table if all(keep) else table.filter(pa.array(keep))


def _image_key(sample: GazeSample, roots: list[str]) -> str:
    """The image's name relative to its source root, so that moving a dataset folder does
    not change any item id; absolute when it lies under none of the roots."""
    image = sample.image
    normal = os.path.normpath(image) == image
    for root in roots:
        prefix = root.rstrip(os.sep) + os.sep
        if normal and image.startswith(prefix):  # relpath's answer, without its cost
            return f"{sample.source}/{image[len(prefix):]}"
        rel = os.path.relpath(image, root)
        if not rel.startswith(".."):
            return f"{sample.source}/{rel}"
    return f"{sample.source}/{image}"


def _roots(path: str) -> list[str]:
    """Folders a source path names (``goo:PICKLE:IMAGES`` carries two parts)."""
    roots = []
    for part in path.split(":"):
        p = os.path.abspath(part)
        roots.append(p if os.path.isdir(p) else os.path.dirname(p))
    return roots


def read_sources(sources: list[str], problems: list | None = None,
                 allow_outside_root: bool = False, executor: Executor | None = None
                 ) -> Iterator[tuple[GazeSample, str]]:
    """(sample, image key) for every sample of every ``KIND:PATH`` source, in source order.

    With an ``executor`` several sources are read there, one batch each (on Ray: one task
    per source, all at once), and handed on in source order whatever order they finish
    in; one source, or no executor, is streamed here (shipping it would only cost)."""
    if executor is None or len(sources) < 2:
        yield from _read_here(sources, problems, allow_outside_root)
        return
    finished: dict[int, tuple[list[_Entry], list]] = {}
    following = 0
    for index, entries, found in executor.map_batches(
            partial(_source_reader, allow_outside_root), list(enumerate(sources)),
            batch_size=1, label="reading sources", unit="sources", progress=False):
        finished[index] = (entries, found)
        while following in finished:
            entries, found = finished.pop(following)
            if problems is not None:
                problems.extend(found)
            yield from entries
            following += 1


def _read_here(sources: list[str], problems: list | None, allow_outside_root: bool
               ) -> Iterator[_Entry]:
    from vl4gaze.sources import parse_spec, read_source

    options = {"allow_outside_root": True} if allow_outside_root else {}
    for spec in sources:
        _, path = parse_spec(spec)
        roots = _roots(path)
        for sample in read_source(spec, problems=problems, **options):
            yield sample, _image_key(sample, roots)


def _source_reader(allow_outside_root: bool
                   ) -> Callable[[list[tuple[int, str]]], tuple[int, list[_Entry], list]]:
    """The executor function of ``read_sources``: one (index, source) -> its index, its
    entries and its problems (a batch holds one source: ``batch_size=1``)."""
    def read(batch: list[tuple[int, str]]) -> tuple[int, list[_Entry], list]:
        [(index, spec)] = batch
        problems: list = []
        return index, list(_read_here([spec], problems, allow_outside_root)), problems

    return read


def build_benchmark(
    sources: list[str],
    out: Path,
    config: BuildConfig | None = None,
    *,
    progress: bool = True,
    allow_empty: bool = False,
    allow_outside_root: bool = False,
    executor: Executor | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Build the benchmark directory from ``KIND:PATH`` sources; returns the manifest.

    ``config`` holds the build's options (or pass its fields as keywords). A build that
    would hold no item raises :class:`EmptyBuildError` before anything is written
    (``allow_empty=True`` writes the empty benchmark anyway). Image paths read from
    annotation files must stay inside their dataset root unless ``allow_outside_root``.
    ``executor`` (:func:`vl4gaze.executor.get_executor`) reads several sources and
    renders the images; the items are made here in one ordered pass, so every executor
    writes the same bytes.
    """
    problems: list = []
    return build_from_samples(
        read_sources(sources, problems, allow_outside_root, executor), out, config,
        progress=progress, sources=sources, problems=problems, allow_empty=allow_empty,
        executor=executor, **options)


class EmptyBuildError(ValueError):
    """The sources gave nothing to build from; the message says where and why."""


def _empty_reason(sources: list[str], samples: int, problems: list) -> str:
    what = ", ".join(sources) or "the samples given"
    errors = [p for p in problems if getattr(p, "kind", "error") == "error"]
    if samples:
        head = f"{what}: {samples} gaze samples but no item could be made from them"
    else:
        head = f"{what}: no gaze samples read"
    if errors:
        more = f" (+{len(errors) - 1} more problems)" if len(errors) > 1 else ""
        head += f"; {errors[0]}{more}"
    elif problems:
        head += f"; {len(problems)} rows marked invalid by the source"
    return head + "; nothing written (--allow-empty writes an empty benchmark)"


def build_from_samples(
    samples: Iterable[tuple[GazeSample, str] | GazeSample],
    out: Path,
    config: BuildConfig | None = None,
    *,
    progress: bool = True,
    sources: list[str] | None = None,
    problems: list | None = None,
    allow_empty: bool = False,
    workers: int | None = None,
    executor: Executor | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Build from GazeSamples (optionally paired with image keys; else the absolute path
    names the image). ``build_benchmark`` reads sources and calls this. ``config``: the
    build's options (or its fields as keywords, not both). ``workers``: processes for
    the items of a large build (default: the CPUs, at most 2; the same bytes for any).
    ``executor``: where the images are rendered (default: ``RENDER_THREADS`` threads)."""
    if config is not None and options:
        raise TypeError(f"pass the options in config or as keywords, not both "
                        f"({', '.join(sorted(options))})")
    config = config if config is not None else BuildConfig(**options)
    images = config.images
    builder = _Builder(config)
    entries = (e if isinstance(e, tuple) else (e, e.image) for e in samples)
    with (gc_paused(),
          ProgressLog("building items", None, enabled=progress, unit="samples") as bar):
        builder.add_all(entries, bar, workers=worker_count(workers))
        splits = list(builder.finish(config.ambiguity_ratio, config.caps,
                                     config.balance_directions))
    if not allow_empty and not any(table.num_rows for _, table in splits):
        raise EmptyBuildError(_empty_reason(sources or [], builder.samples, problems or []))
    out = Path(out)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    # The manifest is written last and BUILDING removed after it: until then the folder
    # is recognisably incomplete (load_benchmark refuses it).
    (out / BUILDING).write_text("a vl4gaze build is writing this folder (or was killed)\n")
    (out / "manifest.json").unlink(missing_ok=True)
    used: set[str] = set()
    for _, table in splits:
        used.update(pc.unique(table["image"]).to_pylist())
    rendered = 0
    if images != "none":
        entries = _plan_rows(builder.plan, used)
        rendered, failed = render_plan(out, entries, link=images == "link", progress=progress,
                                       executor=executor)
        if failed:  # images that cannot be decoded: their items go, each one reported
            splits, used = _drop_images(splits, used, failed, entries, problems)
            if not allow_empty and not any(table.num_rows for _, table in splits):
                raise EmptyBuildError(_empty_reason(sources or [], builder.samples,
                                                    problems or []))
    for old in data.glob("*.parquet"):
        old.unlink()
    counts = counts_of({})
    while splits:
        split, table = splits.pop(0)
        write_parquet(table, data / f"{split}.parquet")
        counts = _add_counts(counts, counts_of({split: table}))
        del table
    _remove_stale_images(out, used)
    plan = _write_plan(builder.plan, used, out / PLAN_FILE)
    del used
    manifest = _manifest(out, counts, config, sources or [], builder, plan, rendered,
                         problems if problems is not None else [])
    atomic_write_text(out / "README.md", dataset_card(manifest))
    # The files this manifest vouches for; ``for_content_hash`` tells a tool that rewrites
    # the manifest (review --export) but not this list that the list is not its own.
    manifest["files"] = {"for_content_hash": manifest["content_hash"], **_files_of(out)}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (out / BUILDING).unlink(missing_ok=True)
    return manifest


def _drop_images(splits: list[tuple[str, pa.Table]], used: set[str], failed: dict[str, str],
                 entries: list[dict[str, Any]], problems: list | None
                 ) -> tuple[list[tuple[str, pa.Table]], set[str]]:
    """Remove the items whose image could not be written; record one problem per source
    image (file, field ``image``) so the build reports them as skipped."""
    from vl4gaze.sources.problems import SourceProblem

    bad = pa.array(sorted(failed))
    kept = [(split, table.filter(pc.invert(pc.is_in(table["image"], bad))))
            for split, table in splits]
    if problems is not None:
        src_of = {e["dest"]: e["src"] for e in entries}
        seen: set[str] = set()
        for dest, message in sorted(failed.items()):
            src = src_of.get(dest, dest)
            if src not in seen:
                seen.add(src)
                problems.append(SourceProblem(src, None, "image", message))
    return kept, used - set(failed)


def _files_of(out: Path) -> dict[str, dict[str, Any]]:
    """The files a manifest vouches for (bytes, SHA-256): the Parquet splits and the plan."""
    files = {}
    # The card is derived from the manifest (and rewritten with it): not listed.
    for path in [*sorted((out / "data").glob("*.parquet")), out / PLAN_FILE]:
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[path.relative_to(out).as_posix()] = {"bytes": path.stat().st_size,
                                                       "sha256": digest}
    return files


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``: a
    killed or failed write leaves the old file or none, never half of one."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(text, encoding="utf-8")


class atomic_path:  # a context manager, named like one
    """``with atomic_path(path) as tmp``: write ``tmp``; on success it replaces ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}."
                                       f"{threading.get_ident()}.tmp")

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            with contextlib.suppress(OSError):
                self.tmp.unlink(missing_ok=True)


def _remove_stale_images(out: Path, used: set[str]) -> None:
    """Delete images of an earlier build into the same folder that no item shows now."""
    images = out / "images"
    if not images.is_dir():
        return
    for path in sorted(images.rglob("*")):
        if (path.is_file() or path.is_symlink()) and \
                path.relative_to(out).as_posix() not in used:
            path.unlink()


def write_parquet(table: pa.Table, path: Path) -> None:
    """Deterministic Parquet: one fixed schema, fixed row groups, no timestamps; written
    to a temporary file and renamed (atomic)."""
    with atomic_path(Path(path)) as tmp:
        pq.write_table(table.combine_chunks(), tmp, compression="zstd",
                       row_group_size=100_000, write_statistics=True)


def _plan_rows(plan: dict[str, tuple[str, _Markers]], used: set[str]
               ) -> list[dict[str, Any]]:
    # Only images some item shows: a marked image needs no clean copy beside it.
    rows = sorted((d, s, b) for d, (s, b) in plan.items() if d in used)
    return [{"dest": d, "src": s, "box": _head_dict(b[0]) if b else None,
             "box2": _head_dict(b[1]) if len(b) > 1 else None} for d, s, b in rows]


def marked(image: Any, entry: dict[str, Any]) -> Any:
    """The plan entry's picture: ``image`` with its markers drawn (None: shown clean)."""
    boxes = [Box(**b) for b in (entry.get("box"), entry.get("box2")) if b is not None]
    return draw_marker(image, *boxes) if boxes else None


def _write_plan(plan: dict[str, tuple[str, _Markers]], used: set[str],
                path: Path) -> int:
    rows = sorted((d, s, b) for d, (s, b) in plan.items() if d in used)
    # Column by column (the rows of _plan_rows as dicts took ~10 s for 190K images).
    columns = [[d for d, _, _ in rows], [s for _, s, _ in rows],
               [_head_dict(b[0]) if b else None for _, _, b in rows],
               [_head_dict(b[1]) if len(b) > 1 else None for _, _, b in rows]]
    table = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in
                                  zip(columns, _PLAN, strict=True)], schema=_PLAN)
    write_parquet(table, path)
    return table.num_rows


def render_images(bench: Path, *, link: bool = False, workers: int = RENDER_THREADS,
                  progress: bool = True, executor: Executor | None = None) -> int:
    """Write every planned image that is missing or incomplete: clean images copied (hard
    link when possible) or symlinked, marked images drawn once per person. Returns how
    many were written; raises ValueError naming the images that could not be.
    ``executor`` (default: ``workers`` local threads) says where they are written."""
    bench = Path(bench)
    plan = pq.read_table(bench / PLAN_FILE).to_pylist()
    written, failed = render_plan(bench, plan, link=link, workers=workers, progress=progress,
                                  executor=executor)
    if failed:
        dest, message = next(iter(sorted(failed.items())))
        raise ValueError(f"{len(failed)} planned image(s) could not be written (their items "
                         f"have no picture); first: {dest}: {message}")
    return written


#: Plan entries per executor batch: one per thread here, many per Ray task.
_RENDER_BATCH = {"local": 1, "ray": 64}


def render_plan(bench: Path, plan: list[dict[str, Any]], *, link: bool = False,
                workers: int = RENDER_THREADS, progress: bool = True,
                executor: Executor | None = None) -> tuple[int, dict[str, str]]:
    """Render plan entries; returns (images written, {dest: why it failed}).

    Every image is written to a temporary name and renamed, so a file under its final name
    is complete. An existing file is still checked (``image_complete``) rather than trusted
    by its name: one truncated by an older version or by hand is written again. Sources are
    decoded (size-bounded) before use, so a truncated JPEG is a reported failure here."""
    from vl4gaze.executor import LocalExecutor

    bench = Path(bench)
    executor = executor or LocalExecutor(workers=workers)
    todo = [p for p in plan if not image_complete(bench / p["dest"])]
    failed: dict[str, str] = {}
    for found in executor.map_batches(partial(_image_writer, str(bench), link), todo,
                                      batch_size=_RENDER_BATCH.get(executor.name, 1),
                                      label="writing images", unit="images",
                                      progress=progress):
        failed.update(found)
    return len(todo) - len(failed), failed


def _image_writer(bench: str, link: bool) -> Callable[[list[dict[str, Any]]], dict[str, str]]:
    """The executor function of ``render_plan``: plan entries -> {dest: why it failed}."""
    def write(entries: list[dict[str, Any]]) -> dict[str, str]:
        failed = {}
        for entry in entries:
            why = write_image(Path(bench), entry, link=link)
            if why is not None:
                failed[entry["dest"]] = why
        return failed

    return write


def write_image(bench: Path, entry: dict[str, Any], *, link: bool = False) -> str | None:
    """Write one plan entry (atomically); None, or why its source could not be read.
    An error of the output folder (permissions, full disk) is raised: it stops the build."""
    from vl4gaze.sources._common import load_image

    dest = bench / entry["dest"]
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with load_image(entry["src"]) as image:
            drawn = marked(image, entry)
        if os.path.lexists(dest):
            dest.unlink()
        with atomic_path(dest) as tmp:
            if drawn is None:
                _place(entry["src"], tmp, link)
            else:
                save = {"quality": 95} if dest.suffix in (".jpg", ".jpeg") else {}
                drawn.save(tmp, format=_FORMATS.get(dest.suffix.lower()), **save)
    except OSError as error:
        if isinstance(error, (PermissionError, IsADirectoryError)) or error.errno in (
                errno.ENOSPC, errno.EROFS, errno.EDQUOT):
            raise  # the output folder, not the image: one clear error for the build
        return _image_error(entry["src"], error)
    return None


#: Temporary files keep their final name's format (their own suffix is ``.tmp``).
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP",
            ".tif": "TIFF", ".tiff": "TIFF", ".gif": "GIF"}


def _image_error(src: str, error: OSError) -> str:
    from vl4gaze.sources._common import size_problem

    return size_problem(src, error)


def image_complete(path: Path) -> bool:
    """Whether an image file is whole: quick for what vl4gaze writes (a JPEG ends with its
    EOI marker, a PNG with its IEND chunk), else decoded in full."""
    from vl4gaze.sources._common import load_image

    try:
        size = path.stat().st_size
    except OSError:
        return False
    if size == 0:
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, size - 12))
            tail = handle.read()
    except OSError:
        return False
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg") and tail.endswith(b"\xff\xd9"):
        return True
    if suffix == ".png" and tail.endswith(b"IEND\xaeB`\x82"):
        return True
    try:
        load_image(str(path)).close()
    except OSError:
        return False
    return True


def _place(src: str, dest: Path, link: bool) -> None:
    if link:
        os.symlink(os.path.abspath(src), dest)
        return
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def counts_of(tables: dict[str, pa.Table]) -> dict[str, Any]:
    """Item counts per split, task and source, and what each task's ``counts`` hook names
    per item (direction class, ambiguity reason, social labels and their rules)."""
    by: dict[str, Counter[str]] = {k: Counter() for k in
                                   ("split", "task", "source", "direction", "reason")}
    by_split_task: Counter[str] = Counter()
    hooks = {s.name: s.counts for s in registry.specs() if s.counts is not None}
    for split, table in sorted(tables.items()):
        if not table.num_rows:
            continue
        # Plain counts in Arrow; only the targets a hook reads are decoded from JSON.
        by["split"][split] += table.num_rows
        for column in ("task", "source"):
            for entry in pc.value_counts(table[column]).to_pylist():
                by[column][entry["values"]] += entry["counts"]
        for entry in pc.value_counts(table["task"]).to_pylist():
            by_split_task[f"{split}/{entry['values']}"] += entry["counts"]
        hooked = pc.is_in(table["task"], pa.array(sorted(hooks), pa.string()))
        for task, target in zip(table["task"].filter(hooked).to_pylist(),
                                table["target"].filter(hooked).to_pylist(), strict=True):
            for key, value in hooks[task](json.loads(target)):
                by.setdefault(key, Counter())[value] += 1
    result: dict[str, Any] = {k: dict(sorted(v.items())) for k, v in by.items()}
    result["split_task"] = dict(sorted(by_split_task.items()))
    result["total"] = sum(by["split"].values())
    return result


def _add_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Sum two ``counts_of`` results (splits are counted one at a time)."""
    merged: dict[str, Any] = {"total": a["total"] + b["total"]}
    for key in [k for k in a if k != "total"] + [k for k in b if k not in a]:
        both = Counter(a.get(key, {}))
        both.update(b.get(key, {}))
        merged[key] = dict(sorted(both.items()))
    return merged


def _manifest(out: Path, counts: dict[str, Any], config: BuildConfig, sources: list[str],
              builder: _Builder, planned: int, rendered: int, problems: list
              ) -> dict[str, Any]:
    digest = hashlib.sha256()
    for path in sorted((out / "data").glob("*.parquet")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return {
        "name": "vl4gaze",
        "version": vl4gaze.__version__,
        "seed": config.seed,
        "sources": list(sources),
        "person_ref": config.person_ref,
        "point_format": config.point_format,
        "tasks": list(config.tasks),
        "options": {"ambiguity_ratio": config.ambiguity_ratio,
                    "caps": dict(sorted((config.caps or {}).items())),
                    "balance_directions": config.balance_directions,
                    "absent_rate": config.absent_rate, "images": config.images},
        "splits": sorted(counts.get("split", {})),
        "counts": counts,
        "samples": builder.samples,
        "skipped": dict(sorted(builder.skipped.items())),
        "target_rules": dict(sorted(builder.target_rules.items())),
        "source_problems": len(problems),
        "images": {"planned": planned, "rendered_at_build": rendered,
                   "plan": PLAN_FILE},
        "content_hash": digest.hexdigest(),
    }


class IncompleteBenchmark(ValueError):
    """A benchmark folder whose build was killed or failed part way."""


def check_complete(bench: Path, *, exact: bool = False) -> dict[str, Any]:
    """The manifest of a finished build; raises IncompleteBenchmark otherwise.

    Always: no build is part way (the ``BUILDING`` marker), the manifest (when there is
    one: a hand-made folder has none) parses, and every data file it lists exists.
    ``exact`` also refuses data files it does not list and sizes other than recorded (a
    file edited after the build counts as changed); ``content_hash`` binds runs to bytes."""
    bench = Path(bench)
    path = bench / "manifest.json"
    if (bench / BUILDING).exists():
        raise IncompleteBenchmark(f"{bench}: the build did not finish (killed or failed: "
                                  f"{BUILDING} is still there); rerun `vl4gaze build`")
    if not path.is_file():
        if exact:
            raise IncompleteBenchmark(f"{bench}: no manifest.json; rerun `vl4gaze build`")
        return {}  # a folder put together by hand: nothing to check it against
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        raise IncompleteBenchmark(f"{path}: unreadable manifest ({err}); rerun "
                                  "`vl4gaze build`") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or files.get("for_content_hash") != manifest.get(
            "content_hash"):
        return manifest  # from before files were listed, or rewritten by another tool
    listed = {name for name in files if name.startswith("data/")}
    present = {f"data/{p.name}" for p in (bench / "data").glob("*.parquet")} if exact else set()
    for name in sorted(listed | present):
        entry = files.get(name)
        where = bench / name
        if entry is None or not where.is_file() or (
                exact and where.stat().st_size != entry.get("bytes")):
            why = ("not listed in the manifest" if entry is None else
                   "missing" if not where.is_file() else "not the size the manifest records")
            raise IncompleteBenchmark(f"{where}: {why}: the benchmark is incomplete or was "
                                      "changed after its build; rerun `vl4gaze build`")
    return manifest


def load_benchmark(bench: Path, split: str | None = None) -> list[QAItem]:
    """The items of a benchmark (one split or all, in file order); images relative to BENCH.

    A folder whose build did not finish (killed or failed part way) is refused: a
    half-written benchmark never passes for a complete one."""
    check_complete(bench)
    data = Path(bench) / "data"
    files = [data / f"{split}.parquet"] if split else sorted(data.glob("*.parquet"))
    if split and not files[0].exists():
        have = ", ".join(p.stem for p in sorted(data.glob("*.parquet"))) or "none"
        raise FileNotFoundError(f"{files[0]}: no split {split!r} (splits: {have})")
    if not files:
        raise FileNotFoundError(f"{data}: no Parquet files: not a benchmark directory")
    items: list[QAItem] = []
    for path in files:
        for n, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            try:
                row["target"] = json.loads(row["target"])
                items.append(QAItem.from_dict(row))
            except ValueError as err:
                raise ValueError(f"{path}: row {n} (id {row.get('id')!r}): {err}") from err
    return items


_CARD_TITLES = {"split": "Split", "task": "Task", "source": "Source",
                "direction": "Direction class (direction task)",
                "reason": "Ambiguity reason (ambiguity task; answerable = look-alike)"}
#: Sections of the other counts a task declares (``TaskSpec.counts``): a social task's
#: labels (``mutual``) and label:rule pairs (``mutual_rule``).
_EXTRA_TITLE = "Counts: "


def dataset_card(manifest: dict[str, Any]) -> str:
    """The benchmark's README.md: a Hugging Face dataset card with the manifest's counts."""
    counts = manifest["counts"]
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in manifest["splits"]:
        lines += [f"  - split: {split}", f"    path: data/{split}.parquet"]
    lines += ["task_categories:", "- visual-question-answering", "tags:", "- gaze-following",
              "- vl4gaze", "---", "", "# VL4Gaze benchmark", "",
              "Gaze-following annotations turned into question-answer items for the tasks "
              f"{', '.join(manifest.get('tasks') or registry.groups()['paper'])}, built by "
              "`vl4gaze build`.", "",
              f"- vl4gaze version: {manifest['version']}",
              f"- sources: {', '.join(manifest['sources']) or '(in-memory samples)'}",
              f"- seed: {manifest['seed']}; person reference: {manifest['person_ref']}; "
              f"point format: {manifest['point_format']}",
              f"- options: `{json.dumps(manifest['options'], sort_keys=True)}`",
              f"- content hash (SHA-256 of the Parquet files): `{manifest['content_hash']}`",
              f"- items: {counts['total']} from {manifest['samples']} gaze samples",
              _metric_line(counts.get("source", {})), "",
              "Load with `datasets.load_dataset(\"parquet\", data_dir=\"BENCH/data\")` or "
              "`vl4gaze.build.load_benchmark(BENCH)`. Image paths are relative to this "
              "folder; `target` is the task structure as JSON text.", ""]
    extra = [k for k in counts if k not in _CARD_TITLES and k not in ("split_task", "total")]
    titles = {**_CARD_TITLES, **{k: f"{_EXTRA_TITLE}{k}" for k in extra}}
    for key, title in titles.items():
        lines += [f"## {title}", "", "| value | items |", "|---|---:|"]
        lines += [f"| {name} | {n} |" for name, n in counts.get(key, {}).items()] or [
            "| (none) | 0 |"]
        lines.append("")
    lines += ["## Split x task", "", "| split/task | items |", "|---|---:|"]
    lines += [f"| {name} | {n} |" for name, n in counts["split_task"].items()]
    rules = manifest.get("target_rules", {})
    lines += ["", "## Gazed-object labels by rule", "",
              "Where each sample's target came from: `source` (the dataset's own label), "
              "`box:contains` / `box:nearest` (object boxes under the gaze point), `vlm` "
              "(two VLM prompts that agreed), `vlm:uncertain` (they disagreed: no object "
              "question), `none` (no label).", "", "| rule | samples |", "|---|---:|"]
    lines += [f"| {name} | {n} |" for name, n in rules.items()] or ["| (none) | 0 |"]
    lines += ["", "## Skipped", "", "| task:reason | samples |", "|---|---:|"]
    lines += [f"| {name} | {n} |" for name, n in manifest["skipped"].items()] or ["| (none) | 0 |"]
    return "\n".join(lines) + "\n"


def _metric_line(sources: dict[str, int]) -> str:
    """The card's line on point metrics: which AUC definition each source is scored with."""
    from vl4gaze.metrics.point import AUC_DEFINITIONS, auc_definition

    by_source = {src: auc_definition(src) for src in sorted(sources)}
    used = sorted(set(by_source.values()))
    return ("- point metrics (`vl4gaze score`): avg / min L2, acc@0.1 / 0.2, angular error; "
            "heatmap AUC by source, each as its dataset's reference evaluation computes it: "
            + (", ".join(f"{src} -> {d}" for src, d in by_source.items()) or "(no sources)")
            + "".join(f"; {d}: {AUC_DEFINITIONS[d]}" for d in used)
            + " (docs/scoring.md)")


def read_card_counts(text: str) -> dict[str, dict[str, int]]:
    """The count tables of a dataset card, by section key (to check a card against data)."""
    titles = {v: k for k, v in _CARD_TITLES.items()}
    out: dict[str, dict[str, int]] = {}
    section = None
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            section = titles.get(title) or (title[len(_EXTRA_TITLE):]
                                            if title.startswith(_EXTRA_TITLE) else None)
            if section:
                out[section] = {}
        elif section and line.startswith("| ") and not line.startswith("| value"):
            name, n = (c.strip() for c in line.strip("|").split("|"))
            if name != "(none)":
                out[section][name] = int(n)
    return out
