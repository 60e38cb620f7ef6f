"""Automatic annotation: what each person looks at, and who they are, as a stage of its own.

``annotate_samples`` labels gaze targets with the box rule (``boxes``: the known object
under the gaze point) or the VLM rule (``vlm:SPEC``: any vl4gaze model asked twice about a
marked copy of the image), and checks itself against the truth wherever the source knows
it (GazeWorld, GOO). ``run_annotate`` does it for sources named ``KIND:PATH`` and writes a
directory that ``build`` reads as ``annotated:DIR``:

- ``samples.jsonl``: one annotated ``GazeSample`` per line (absolute image paths);
- ``annotations.jsonl``: the side table, one record per sample (rule, distance, answers,
  similarity, uncertain, errors, agreement with the truth);
- ``annotation_report.json``: counts per rule, uncertain, failures and the error rate.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from vl4gaze.annotate.boxes import DEFAULT_TOLERANCE, pick_object
from vl4gaze.annotate.similarity import DEFAULT_THRESHOLD, Embedder, similarities
from vl4gaze.executor import Executor, LocalExecutor
from vl4gaze.geometry import box_iou
from vl4gaze.schema import GazeSample, SceneObject, Target

#: Target.rule when an annotator found nothing, or the VLM's two answers disagreed.
BOX_NONE = "box:none"
VLM = "vlm"
VLM_UNCERTAIN = "vlm:uncertain"
NO_GAZE = "no_gaze"

#: A box counts as the true target when its IoU with the true box reaches this.
TRUTH_IOU = 0.5

__all__ = [
    "AnnotationResult", "annotate_batches", "annotate_samples", "read_annotated", "run_annotate",
    "true_target",
]


@dataclass
class AnnotationResult:
    """Annotated samples, the per-sample side table, and the summary report."""

    samples: list[GazeSample]
    records: list[dict[str, Any]]
    report: dict[str, Any] = field(default_factory=dict)


def true_target(sample: GazeSample) -> Target | None:
    """The source's own target (GazeWorld, GOO), used to measure the annotators."""
    target = sample.target
    if target.rule == "source" or (
        target.rule is None and (target.label or target.box or target.kind)
    ):
        return target
    return None


def annotate_samples(
    samples: Iterable[GazeSample],
    *,
    annotator: str = "boxes",
    model: Any = None,
    tolerance: float = DEFAULT_TOLERANCE,
    threshold: float = DEFAULT_THRESHOLD,
    cache_path: str | Path | None = None,
    embedder: Embedder | None = None,
    keep_source_targets: bool = False,
    people_as_objects: bool = True,
    batch_size: int = 8,
    progress: bool = False,
) -> AnnotationResult:
    """Label every sample's gaze target (and, with a VLM, the person).

    ``annotator`` is ``boxes`` or ``vlm:SPEC`` (SPEC as for ``vl4gaze.models.load_model``);
    ``model`` passes a ready Model instead. ``keep_source_targets`` leaves a target the
    source already gives untouched (the annotation is still measured against it).
    ``people_as_objects`` lets the box rule choose another person's head (people look at
    people as often as at things).
    """
    samples = list(samples)
    if model is not None and not annotator.startswith("vlm:"):
        annotator = f"vlm:{model.name}"
    if annotator == "boxes":
        labelled, records = _by_boxes(samples, tolerance, people_as_objects)
        extra: dict[str, Any] = {"tolerance": tolerance, "people_as_objects": people_as_objects}
    elif annotator.startswith("vlm:"):
        labelled, records, extra = _by_vlm(
            samples, annotator, model, threshold=threshold, cache_path=cache_path,
            embedder=embedder, batch_size=batch_size, progress=progress,
        )
    else:
        raise ValueError(f"unknown annotator {annotator!r} (use boxes or vlm:SPEC)")
    _score_against_truth(samples, labelled, records, threshold, embedder)
    if keep_source_targets:
        labelled = [
            replace(new, target=old.target) if true_target(old) is not None else new
            for old, new in zip(samples, labelled, strict=True)
        ]
    report = annotation_report(annotator, records, extra)
    return AnnotationResult(labelled, records, report)


def _record(sample: GazeSample) -> dict[str, Any]:
    return {"source": sample.source, "source_id": sample.source_id, "image": sample.image}


def _candidates(sample: GazeSample, people_as_objects: bool) -> list[SceneObject]:
    """The sample's objects, then (optionally) the other people's heads, as "person"."""
    found = list(sample.objects)
    if people_as_objects:
        found.extend(SceneObject(label="person", box=p.head, description=p.description)
                     for p in sample.others)
    return found


def _by_boxes(
    samples: Sequence[GazeSample], tolerance: float, people_as_objects: bool
) -> tuple[list[GazeSample], list[dict[str, Any]]]:
    out, records = [], []
    for sample in samples:
        record = _record(sample)
        point = sample.gaze_mean
        if point is None:
            record.update(rule=NO_GAZE, label=None, distance=None)
            out.append(replace(sample, target=Target(rule=NO_GAZE)))
        else:
            candidates = _candidates(sample, people_as_objects)
            pick = pick_object(point, candidates, tolerance=tolerance)
            if pick is None:
                record.update(rule=BOX_NONE, label=None, distance=None)
                target = Target(rule=BOX_NONE)
            else:
                obj = pick.object
                kind = "object" if pick.index < len(sample.objects) else "person"
                record.update(rule=pick.rule, label=obj.label, distance=round(pick.distance, 6),
                              kind=kind)
                target = Target(label=obj.label, description=obj.description or obj.label,
                                box=obj.box, kind=kind, rule=pick.rule)
            out.append(replace(sample, target=target))
        records.append(record)
    return out, records


def _by_vlm(
    samples: Sequence[GazeSample],
    annotator: str,
    model: Any,
    *,
    threshold: float,
    cache_path: str | Path | None,
    embedder: Embedder | None,
    batch_size: int,
    progress: bool,
) -> tuple[list[GazeSample], list[dict[str, Any]], dict[str, Any]]:
    from vl4gaze.annotate.cache import AnnotationCache
    from vl4gaze.annotate.similarity import normalize_phrase
    from vl4gaze.annotate.vlm import PROMPT_VERSION, VLMAnnotator

    if model is None:
        from vl4gaze.models import load_model

        model = load_model(annotator.removeprefix("vlm:"))
    cache = AnnotationCache(cache_path)
    vlm = VLMAnnotator(model, cache=cache, embedder=embedder, threshold=threshold,
                       batch_size=batch_size)
    try:
        results = _with_progress(vlm, samples, progress)
    finally:
        cache.close()
    out, records = [], []
    for sample, result in zip(samples, results, strict=True):
        record = _record(sample)
        person = result.person
        record["person"] = person.to_dict()
        if result.target is None:
            record.update(rule=NO_GAZE, label=None)
            target = Target(rule=NO_GAZE)
        else:
            verdict = result.target
            record["target"] = verdict.to_dict()
            if verdict.label is not None:
                record.update(rule=VLM, label=verdict.label)
                target = Target(label=normalize_phrase(verdict.label) or verdict.label,
                                description=verdict.label, kind="object", rule=VLM)
            else:
                record.update(rule=VLM_UNCERTAIN, label=None)
                target = Target(rule=VLM_UNCERTAIN)
        # An unsure description leaves the source's own (GazeWorld has one) in place.
        person_record = replace(sample.person,
                                description=person.label or sample.person.description)
        out.append(replace(sample, target=target, person=person_record))
        records.append(record)
    extra = {
        "model": model.name, "threshold": threshold, "prompt_version": PROMPT_VERSION,
        "model_calls": vlm.model_calls, "cache_hits": cache.hits,
    }
    return out, records, extra


def _with_progress(vlm: Any, samples: Sequence[GazeSample], progress: bool) -> list:
    if not progress:
        return vlm.annotate(samples)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("asking the VLM", total=None)
        return vlm.annotate(samples, advance=lambda n: bar.advance(task, n))


def _score_against_truth(
    originals: Sequence[GazeSample],
    labelled: Sequence[GazeSample],
    records: list[dict[str, Any]],
    threshold: float,
    embedder: Embedder | None,
) -> None:
    """Set ``record["truth_agree"]`` (True/False/None) where the source knows the target.

    A box annotation agrees when its box overlaps the true box (IoU >= TRUTH_IOU), or the
    labels match when the truth has no box; a VLM label agrees when it is similar enough to
    the true label or description. Finding nothing agrees only when the person looks at no
    object (``kind`` person/space without a label).
    """
    label_pairs: list[tuple[int, str, str]] = []
    first_pairs: list[tuple[int, str, str]] = []
    for i, (old, new) in enumerate(zip(originals, labelled, strict=True)):
        truth = true_target(old)
        record = records[i]
        record["truth_agree"] = None
        if truth is None or old.gaze_mean is None:
            continue
        record["truth"] = truth.label or truth.description or truth.kind
        got = new.target
        answers = record.get("target", {}).get("answers") or [None]
        if answers[0]:  # the VLM's first answer, before any checking
            first_pairs.extend(
                (i, answers[0], w) for w in {truth.label, truth.description} - {None})
        # Something nameable is gazed at: an object or a person (not empty space).
        has_object = bool(truth.label or truth.box) and truth.kind != "space"
        if got.label is None:
            record["truth_agree"] = None if got.rule == VLM_UNCERTAIN else not has_object
        elif not has_object:
            record["truth_agree"] = False
        elif got.box is not None and truth.box is not None:
            record["truth_agree"] = box_iou(got.box, truth.box) >= TRUTH_IOU
        else:  # a label to compare: with the true label and description, the best counts
            said = got.description or got.label or ""
            for wanted in {truth.label, truth.description} - {None}:
                label_pairs.append((i, said, wanted or ""))
    for i, score in _best(label_pairs, embedder).items():
        records[i]["truth_similarity"] = round(score, 4)
        records[i]["truth_agree"] = score >= threshold
    for i, score in _best(first_pairs, embedder).items():
        records[i]["first_answer_agree"] = score >= threshold
    person_pairs = [
        (i, r["person"]["label"], old.person.description)
        for i, (r, old) in enumerate(zip(records, originals, strict=True))
        if r.get("person", {}).get("label") and old.person.description
    ]
    for i, score in _best(person_pairs, embedder).items():
        records[i]["person"]["truth_agree"] = score >= threshold


def _best(pairs: list[tuple[int, str, str]], embedder: Embedder | None) -> dict[int, float]:
    """Record index -> the best similarity among its (said, wanted) pairs."""
    if not pairs:
        return {}
    best: dict[int, float] = {}
    scores = similarities([(a, b) for _, a, b in pairs], embedder)
    for (i, _, _), score in zip(pairs, scores, strict=True):
        best[i] = max(best.get(i, -1.0), score)
    return best


def annotation_report(annotator: str, records: list[dict[str, Any]], extra: dict[str, Any]
                      ) -> dict:
    """The annotation report: counts per rule, uncertain, failures, error rate vs truth.

    Public because every executor (local, Ray) derives the same report from its records.
    """
    rules = Counter(r["rule"] for r in records)
    judged = [r for r in records if r.get("truth_agree") is not None]
    agree = sum(1 for r in judged if r["truth_agree"])
    by_rule: dict[str, dict[str, int]] = {}
    for r in judged:
        entry = by_rule.setdefault(r["rule"], {"n": 0, "agree": 0})
        entry["n"] += 1
        entry["agree"] += int(bool(r["truth_agree"]))
    with_truth = sum(1 for r in records if "truth" in r)
    first = [r["first_answer_agree"] for r in records if "first_answer_agree" in r]
    def count(key: str) -> int:
        return sum(len(r.get(part, {}).get(key, ())) for r in records
                   for part in ("target", "person"))

    persons = [r["person"] for r in records if "person" in r]
    report: dict[str, Any] = {
        "annotator": annotator,
        "n_samples": len(records),
        "rules": dict(sorted(rules.items())),
        "uncertain": rules.get(VLM_UNCERTAIN, 0),
        "failures": count("errors"),
        "rejected_answers": count("rejected"),
        "truth": {
            "n_with_truth": with_truth,
            "n_judged": len(judged),
            "agree": agree,
            "agreement_rate": round(agree / len(judged), 4) if judged else None,
            "error_rate": round(1 - agree / len(judged), 4) if judged else None,
            # how many samples with a known target got a judged label at all
            "coverage": round(len(judged) / with_truth, 4) if with_truth else None,
            "by_rule": dict(sorted(by_rule.items())),
        },
        **extra,
    }
    if first:  # VLM: agreement of the first answer alone, before the agreement check
        report["truth"]["first_answer_agreement"] = round(sum(first) / len(first), 4)
    if persons:
        judged_people = [p["truth_agree"] for p in persons if "truth_agree" in p]
        report["person"] = {
            "described": sum(1 for p in persons if p["label"]),
            "uncertain": sum(1 for p in persons if p["uncertain"]),
            "n_judged": len(judged_people),
            "agreement_rate": round(sum(judged_people) / len(judged_people), 4)
            if judged_people else None,
        }
    return report


def run_annotate(
    sources: Sequence[str],
    out: str | Path,
    *,
    annotator: str = "boxes",
    coco: str | Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    threshold: float = DEFAULT_THRESHOLD,
    cache_path: str | Path | None = None,
    keep_source_targets: bool = False,
    model: Any = None,
    embedder: Embedder | None = None,
    problems: list | None = None,
    progress: bool = False,
    executor: Executor | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Read ``sources``, annotate them, write OUT (see the module docstring); return the report.

    ``executor`` (:func:`vl4gaze.executor.get_executor`, default local) and
    ``batch_size`` say where and in what batches (:func:`annotate_batches`); every
    executor writes the same files.

    ``coco`` adds objects from a COCO instances file to samples without any (matched by file
    name; GazeFollow's original names are used too). The VLM cache defaults to
    ``OUT/cache.sqlite``, so rerunning into the same OUT asks the model nothing.
    """
    from vl4gaze.sources import parse_spec, read_source

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problems = [] if problems is None else problems
    index = None
    if coco is not None:
        from vl4gaze.annotate.coco import read_coco_instances

        index = read_coco_instances(coco, problems=problems)
    samples: list[GazeSample] = []
    for spec in sources:
        read = read_source(spec, problems=problems)
        if index is not None:
            from vl4gaze.annotate.coco import attach_objects, gazefollow_original_names

            kind, path = parse_spec(spec)
            names = gazefollow_original_names(path) if kind == "gazefollow" else None
            read = attach_objects(read, index, original_names=names)
        samples.extend(read)
    result = annotate_batches(
        samples, executor or LocalExecutor(), batch_size=batch_size, progress=progress,
        annotator=annotator, model=model, tolerance=tolerance, threshold=threshold,
        cache_path=cache_path if cache_path is not None else out / "cache.sqlite",
        embedder=embedder, keep_source_targets=keep_source_targets,
    )
    with open(out / "samples.jsonl", "w", encoding="utf-8") as handle:
        for sample in result.samples:
            handle.write(sample.to_json() + "\n")
    with open(out / "annotations.jsonl", "w", encoding="utf-8") as handle:
        for record in result.records:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    report = {"sources": list(sources), "coco": None if coco is None else str(coco),
              "source_problems": len(problems), **result.report}
    (out / "annotation_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


#: Samples per executor batch when they are spread (Ray tasks, or VLM replicas).
BATCH_SIZE = 64
#: Annotator figures (beyond what ``annotation_report`` derives from the records) that add
#: up over batches; the others are the same in every batch.
_SUMMED = {"model_calls", "cache_hits"}


def annotate_batches(
    samples: Iterable[GazeSample],
    executor: Executor,
    *,
    batch_size: int | None = None,
    progress: bool = False,
    annotator: str = "boxes",
    model: Any = None,
    **options: Any,
) -> AnnotationResult:
    """:func:`annotate_samples` over batches of samples mapped through ``executor``.

    Each sample is annotated on its own, so the batches give the samples and records of
    one pass; the driver puts them back in order and derives the report from them.
    ``batch_size`` None is one batch on the local executor (one pass: the VLM's cache and
    batches span every sample, so even its call counts are those of ``annotate_samples``)
    and ``BATCH_SIZE`` elsewhere. ``vlm:SPEC`` is loaded once per replica; a ready
    ``model`` is for the local executor only (it is not shipped). ``options`` go to
    ``annotate_samples``.
    """
    samples = list(samples)
    if model is not None and not annotator.startswith("vlm:"):
        annotator = f"vlm:{model.name}"
    if annotator != "boxes" and not annotator.startswith("vlm:"):
        raise ValueError(f"unknown annotator {annotator!r} (use boxes or vlm:SPEC)")
    if model is not None and executor.name != "local":
        raise ValueError(f"annotate on {executor.name} loads the model in each replica: "
                         "pass annotator='vlm:SPEC' instead of a model object")
    if not samples:
        return annotate_samples([], annotator=annotator, model=model, **options)
    one_pass = batch_size is None and executor.name == "local"
    size = len(samples) if one_pass else batch_size or BATCH_SIZE
    labelled: list[GazeSample | None] = [None] * len(samples)
    records: list[dict[str, Any] | None] = [None] * len(samples)
    extra: dict[str, Any] = {}
    derived = {*annotation_report(annotator, [], {}), "person"}
    # One pass shows the VLM's own progress; batches show the executor's.
    make_fn = partial(_batch_annotator, annotator, model, progress and one_pass, options)
    for index, result in executor.map_batches(
            make_fn, list(enumerate(samples)), batch_size=size, label="annotating",
            unit="samples", progress=progress and not one_pass,
            per_replica=annotator.startswith("vlm:")):
        for i, sample, record in zip(index, result.samples, result.records, strict=True):
            labelled[i], records[i] = sample, record
        for key, value in result.report.items():
            if key in _SUMMED:
                extra[key] = extra.get(key, 0) + value
            elif key not in derived:
                extra.setdefault(key, value)
    if any(r is None for r in records):
        raise RuntimeError(f"annotate on {executor.name} lost samples: some batches "
                           "returned nothing")
    report = annotation_report(annotator, records, extra)  # type: ignore[arg-type]
    return AnnotationResult(labelled, records, report)  # type: ignore[arg-type]


def _batch_annotator(annotator: str, model: Any, progress: bool, options: dict[str, Any]
                     ) -> Callable[[list[tuple[int, GazeSample]]],
                                   tuple[list[int], AnnotationResult]]:
    """The executor function of :func:`annotate_batches`: (index, sample) pairs -> their
    indices and their ``annotate_samples`` result. The VLM is loaded here, once."""
    if model is None and annotator.startswith("vlm:"):
        from vl4gaze.models import load_model

        model = load_model(annotator.removeprefix("vlm:"))

    def annotate(batch: list[tuple[int, GazeSample]]) -> tuple[list[int], AnnotationResult]:
        return [i for i, _ in batch], annotate_samples(
            [s for _, s in batch], annotator=annotator, model=model, progress=progress,
            **options)

    return annotate


def read_annotated(path: str, **options: Any):
    """Reader for ``annotated:DIR`` (see vl4gaze.sources.annotated)."""
    from vl4gaze.sources.annotated import read_annotated as read

    return read(path, **options)
