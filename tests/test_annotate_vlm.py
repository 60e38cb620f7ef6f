"""The VLM rule: markers, answer cleaning, the on-disk cache, the agreement check, failures.

A fake model (the Model protocol: ``name`` and ``generate``) stands in for a VLM in the
unit tests of caching and agreement; the end-to-end test runs the tiny offline VLM.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vl4gaze.annotate import annotate_samples, run_annotate
from vl4gaze.annotate.cache import AnnotationCache
from vl4gaze.annotate.vlm import (
    OBJECT_PROMPTS,
    PERSON_PROMPTS,
    VLMAnnotator,
    clean_answer,
    draw_marker,
)
from vl4gaze.models.base import Request, last_user_text, message_images
from vl4gaze.schema import Box, GazeSample, InOut, Person, Point, Target


class FakeVLM:
    """Answers by prompt id; counts every request it is sent."""

    def __init__(self, answers: dict[str, str], name: str = "fake", fail_on: str | None = None):
        self.name = name
        self.answers = answers
        self.fail_on = fail_on
        self.requests: list[Request] = []
        self.batches = 0

    def generate(self, requests: list[Request], max_new_tokens: int) -> list[str]:
        self.batches += 1
        out = []
        for request in requests:
            assert isinstance(request, Request) and len(message_images(request.messages)) == 1
            text = last_user_text(request.messages)
            prompt = next(p for p in (*OBJECT_PROMPTS, *PERSON_PROMPTS) if p.text == text)
            if self.fail_on and prompt.id == self.fail_on:
                raise RuntimeError("backend exploded")
            out.append(self.answers[prompt.id])
        self.requests.extend(requests)
        return out


class WordEmbedder:
    """Bag-of-words vectors: phrases sharing words are similar (a stand-in for MiniLM)."""

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 64))
        for i, text in enumerate(texts):
            for word in text.lower().replace(".", "").split():
                if word not in ("a", "an", "the"):
                    vectors[i, sum(map(ord, word)) % 64] += 1
        return vectors


AGREE = {"object-ring": "A red mug.", "object-dot": "red mug", "person-red": "a woman in blue",
         "person-blue": "The woman in blue"}


@pytest.fixture
def samples(tmp_path) -> list[GazeSample]:
    paths = []
    for i, colour in enumerate(("white", "gray")):
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (120, 80), colour).save(path)
        paths.append(path)
    head = Box(0.1, 0.1, 0.3, 0.4)
    return [
        GazeSample(image=str(paths[0]), width=120, height=80, source="t", source_id="a",
                   split="test", person=Person(head=head, description="a woman in a blue coat"),
                   gaze=(Point(0.6, 0.5),),
                   inout=InOut.IN,
                   target=Target(label="mug", description="a red mug", rule="source")),
        GazeSample(image=str(paths[1]), width=120, height=80, source="t", source_id="b",
                   split="test", person=Person(head=head), inout=InOut.OUT),
    ]


def test_clean_answer_keeps_a_short_phrase():
    assert clean_answer("  The person is looking at a red mug.\nMore text") == "a red mug"
    assert clean_answer('Answer: "a book"') == "a book"
    assert clean_answer("") == ""
    assert len(clean_answer("word " * 40).split()) == 12


def test_marker_is_drawn_on_a_copy():
    image = Image.new("RGB", (100, 100), "white")
    ring, dot = (p.style for p in OBJECT_PROMPTS)
    marked = draw_marker(image, Point(0.5, 0.5), Box(0.1, 0.1, 0.3, 0.3), dot)
    assert image.getpixel((50, 50)) == (255, 255, 255)
    assert marked.getpixel((50, 50)) == (255, 255, 0)  # the yellow dot
    assert marked.getpixel((10, 20)) != (255, 255, 255)  # the head box edge
    ringed = draw_marker(image, Point(0.5, 0.5), Box(0.1, 0.1, 0.3, 0.3), ring)
    assert ringed.getpixel((50, 50)) == (255, 0, 0)  # the crosshair centre
    assert ringed.tobytes() != marked.tobytes()


def test_agreeing_answers_are_kept_and_a_rerun_asks_nothing(tmp_path, samples):
    model = FakeVLM(AGREE)
    cache_file = tmp_path / "cache.sqlite"
    first = annotate_samples(samples, model=model, annotator="vlm:fake", cache_path=cache_file,
                             embedder=WordEmbedder())
    # sample a: 2 object + 2 person questions; sample b (gaze out of frame): 2 person.
    assert len(model.requests) == 6
    target = first.samples[0].target
    assert (target.rule, target.description, target.label) == ("vlm", "A red mug", "red mug")
    assert first.samples[0].person.description == "a woman in blue"
    assert first.samples[1].target.rule == "no_gaze"
    assert first.records[0]["truth_agree"] is True
    assert first.report["model_calls"] == 6 and first.report["truth"]["agreement_rate"] == 1.0
    assert first.records[0]["person"]["truth_agree"] is True
    assert first.report["person"] == {"described": 2, "uncertain": 0, "n_judged": 1,
                                      "agreement_rate": 1.0}

    again = FakeVLM(AGREE)
    second = annotate_samples(samples, model=again, annotator="vlm:fake",
                              cache_path=cache_file, embedder=WordEmbedder())
    assert again.requests == [] and second.report["model_calls"] == 0
    assert second.report["cache_hits"] == 6
    assert [s.to_json() for s in second.samples] == [s.to_json() for s in first.samples]

    other = FakeVLM(AGREE, name="another-model")  # the model is part of the key
    annotate_samples(samples, model=other, cache_path=cache_file, embedder=WordEmbedder())
    assert len(other.requests) == 6


def test_disagreeing_answers_are_marked_uncertain(samples):
    model = FakeVLM({**AGREE, "object-dot": "a laptop", "person-blue": "a dog"})
    result = annotate_samples(samples, model=model, embedder=WordEmbedder())
    target = result.samples[0].target
    assert target.rule == "vlm:uncertain" and target.label is None
    # no agreed description: the source's own stays, the sample without one gets none
    assert result.samples[0].person.description == "a woman in a blue coat"
    assert result.samples[1].person.description is None
    record = result.records[0]
    assert record["target"]["answers"] == ["A red mug", "a laptop"]
    assert record["target"]["similarity"] < 0.6 and record["truth_agree"] is None
    assert result.report["uncertain"] == 1 and result.report["person"]["uncertain"] == 2
    # the truth cannot judge an uncertain label, but the first answer alone was right
    truth = result.report["truth"]
    assert truth["coverage"] == 0.0 and truth["error_rate"] is None
    assert record["first_answer_agree"] is True and truth["first_answer_agreement"] == 1.0


def test_threshold_decides_agreement(samples):
    model = FakeVLM({**AGREE, "object-dot": "a big red mug on a table"})
    loose = annotate_samples(samples[:1], model=model, embedder=WordEmbedder(), threshold=0.3)
    strict = annotate_samples(samples[:1], model=model, embedder=WordEmbedder(), threshold=0.95)
    assert loose.samples[0].target.rule == "vlm"
    assert strict.samples[0].target.rule == "vlm:uncertain"


def test_failures_are_recorded_not_cached_and_retried(tmp_path, samples):
    cache = AnnotationCache(tmp_path / "c.sqlite")
    broken = FakeVLM(AGREE, fail_on="object-dot")
    missing = GazeSample(image=str(tmp_path / "gone.png"), width=10, height=10, source="t",
                         source_id="c", split="test", person=Person(head=Box(0, 0, 0.5, 0.5)),
                         gaze=(Point(0.5, 0.5),), inout=InOut.IN)
    annotator = VLMAnnotator(broken, cache=cache, embedder=WordEmbedder(), batch_size=8)
    results = annotator.annotate([*samples, missing])
    assert broken.batches > 1  # the failing batch was retried request by request
    assert results[0].target.uncertain and "backend exploded" in results[0].target.errors[0]
    assert results[0].person.label == "a woman in blue"  # other requests still answered
    assert "image cannot be read" in results[2].target.errors[0]
    assert len(cache) == 5  # 3 + 2 answered; the failed one is not cached

    fixed = FakeVLM(AGREE)
    results = VLMAnnotator(fixed, cache=cache, embedder=WordEmbedder()).annotate(samples)
    assert len(fixed.requests) == 1 and results[0].target.label == "A red mug"


@pytest.mark.parametrize(("answer", "why"), [
    ("   ", "empty answer"), ("bow560173 th042173 x9", "not a phrase"),
    ("a mug \ufffd", "broken characters"),
])
def test_answers_that_are_no_phrase_are_rejected(samples, answer, why):
    model = FakeVLM({**AGREE, "person-red": answer, "person-blue": answer})
    result = annotate_samples(samples[:1], model=model, embedder=WordEmbedder())
    person = result.records[0]["person"]
    assert why in person["rejected"][0] and len(person["rejected"]) == 2
    assert person["uncertain"]  # the source's own description stays
    assert result.samples[0].person.description == "a woman in a blue coat"
    assert result.report["rejected_answers"] == 2 and result.report["failures"] == 0


def test_phrase_check_accepts_ordinary_phrases():
    from vl4gaze.annotate.vlm import phrase_problem

    for text in ("a 2-liter bottle", "the child's red ball", "café table", "3 apples"):
        assert phrase_problem(text) is None, text


@pytest.mark.slow
def test_minilm_tells_same_labels_from_different_ones():
    from vl4gaze.annotate.similarity import similarities

    same, different, exact = similarities(
        [("a red mug", "a mug"), ("a mug", "a laptop"), ("The Mug.", "mug")])
    assert same >= 0.6 > different and exact == 1.0


@pytest.mark.slow
def test_annotate_with_the_tiny_vlm_then_build(tmp_path):
    from typer.testing import CliRunner

    from vl4gaze.cli import app
    from vl4gaze.sources.gazeworld import synthesize

    world = synthesize(tmp_path / "world", 1, seed=1, size=96)
    out = tmp_path / "annotated"
    command = ["annotate", f"gazeworld:{world}", "-o", str(out), "--annotator", "vlm:tiny"]
    assert CliRunner().invoke(app, command).exit_code == 0
    report = json.loads((out / "annotation_report.json").read_text())
    assert report["model"] == "tiny" and report["model_calls"] > 0
    assert report["failures"] == 0  # the random model babbles: rejected, never fatal
    rules = report["rules"]
    assert rules.get("vlm", 0) + report["uncertain"] + rules.get("no_gaze", 0) \
        == report["n_samples"]
    assert Path(out / "cache.sqlite").is_file()
    again = run_annotate([f"gazeworld:{world}"], out, annotator="vlm:tiny")
    assert again["model_calls"] == 0 and again["cache_hits"] == report["model_calls"]
    bench = tmp_path / "bench"
    built = CliRunner().invoke(app, ["build", f"annotated:{out}", "-o", str(bench),
                                     "--images", "none"])
    assert built.exit_code == 0, built.output
    assert (bench / "manifest.json").is_file()


def test_batches_through_an_executor_give_the_one_pass(samples, tmp_path):
    """annotate_batches: batches of one sample give the one pass's samples, records and
    report; the local default is that one pass; a ready model is refused off this process."""
    from dataclasses import dataclass

    from vl4gaze.annotate import annotate_batches
    from vl4gaze.executor import LocalExecutor

    def run(**options):
        result = annotate_batches(samples, model=FakeVLM(AGREE), embedder=WordEmbedder(),
                                  **options)
        return [s.to_json() for s in result.samples], result.records, result.report

    one = annotate_samples(samples, model=FakeVLM(AGREE), embedder=WordEmbedder())
    assert run(executor=LocalExecutor(), batch_size=1) == (
        [s.to_json() for s in one.samples], one.records, one.report)
    calls = []

    @dataclass(frozen=True)
    class Counting(LocalExecutor):
        def map_batches(self, make_fn, items, **options):
            calls.append(options["batch_size"])
            return super().map_batches(make_fn, items, **options)

    assert run(executor=Counting())[2] == one.report and calls == [len(samples)]

    @dataclass(frozen=True)
    class Elsewhere(LocalExecutor):
        name = "ray"

    with pytest.raises(ValueError, match="vlm:SPEC"):
        run(executor=Elsewhere())
    with pytest.raises(ValueError, match="unknown annotator"):
        annotate_batches(samples, LocalExecutor(), annotator="magic")
