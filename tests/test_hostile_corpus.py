"""issue 21: ``inspect``, ``inspect --strict`` and ``build`` over the malformed-input corpus
(tests/hostile_corpus.py): every case ends in its expected outcome class, with no
traceback, no silently accepted impossible record, no read outside the dataset root and
no terminal escape code from a file reaching the terminal."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
from hostile_corpus import (
    ACCEPTED,
    DECODE,
    INVALID,
    KINDS,
    REFUSED,
    UNUSABLE,
    WARNING,
    Case,
    make_corpus,
)
from typer.testing import CliRunner

from vl4gaze.cli import app
from vl4gaze.sources import read_source

#: outcome -> (inspect, inspect --strict, build) classes
EXPECTED = {
    REFUSED: ("problem", "stopped", "partial"),
    UNUSABLE: ("problem", "stopped", "empty"),
    ACCEPTED: ("clean", "clean", "ok"),
    INVALID: ("listed", "listed", "partial"),
    WARNING: ("listed", "listed", "partial"),
    DECODE: ("clean", "clean", "partial"),
}


def _run(args: list[str]) -> tuple[int | None, str, BaseException | None]:
    result = CliRunner().invoke(app, args)
    error = result.exception
    if isinstance(error, SystemExit):
        error = None
    return result.exit_code, result.output, error


def _inspect_class(code: int | None, out: str) -> str:
    if code == 1:
        return "stopped" if "strict mode stopped" in out else "problem"
    if code == 0:
        return "clean" if "No problems found." in out else "listed"
    return f"exit {code}"


def _build_class(code: int | None, out: str) -> str:
    if code == 0:
        return "partial" if "source problems were skipped" in out else "ok"
    if code == 1 and out.strip().startswith("error:"):
        return "empty"
    return f"exit {code}"


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def outcome_of(case: Case, work: Path) -> dict:
    """Run the three commands on one case; what each did."""
    got: dict = {"case": case.id}
    outputs = []
    for name, args in (("inspect", ["inspect", case.spec, "--examples", "0"]),
                       ("strict", ["inspect", "--strict", case.spec, "--examples", "0"]),
                       ("build", ["build", case.spec, "-o", str(work / case.id)])):
        code, out, error = _run(args)
        got[name] = (f"traceback {type(error).__name__}: {error}" if error is not None else
                     _build_class(code, out) if name == "build" else _inspect_class(code, out))
        got[f"{name}_out"] = out
        outputs.append(out)
    got["escapes"] = any("\x1b" in o or "\x07" in o for o in outputs)
    problems: list = []
    samples = list(read_source(case.spec, problems=problems))
    got["samples"] = samples
    got["problems"] = problems
    return got


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[list[Case], Path]:
    root = tmp_path_factory.mktemp("corpus")
    return make_corpus(root), root


def test_corpus_is_large_and_covers_every_kind(corpus):
    cases, _ = corpus
    assert len(cases) >= 100
    assert {c.kind for c in cases} == set(KINDS)
    assert len({c.id for c in cases}) == len(cases)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_case_ends_in_its_outcome_class(corpus, tmp_path, kind):
    cases, _ = corpus
    failures = []
    for case in (c for c in cases if c.kind == kind):
        got = outcome_of(case, tmp_path)
        want = EXPECTED[case.outcome]
        have = (got["inspect"], got["strict"], got["build"])
        why = []
        if have != want:
            why.append(f"classes {have} != {want}")
        if got["escapes"]:
            why.append("a terminal escape code reached the output")
        case_root = os.path.dirname(case.spec.split(":", 1)[1]) if case.kind == "goo" else \
            case.spec.split(":", 1)[1]
        outside = [s.image for s in got["samples"]
                   if not os.path.abspath(s.image).startswith(os.path.abspath(case_root))]
        if outside:
            why.append(f"read outside the root: {outside}")
        errors = [p for p in got["problems"] if p.kind == "error"]
        if case.outcome in (REFUSED, UNUSABLE):
            if not errors:
                why.append("no problem recorded")
            elif case.field is not None and errors[0].field != case.field:
                why.append(f"field {errors[0].field!r} != {case.field!r}")
            elif case.file is not None and case.file not in errors[0].file:
                why.append(f"file {errors[0].file!r} does not name {case.file!r}")
            if case.field is not None and f"[{case.field}]" not in _flat(got["strict_out"]):
                why.append(f"--strict does not name [{case.field}]")
        if case.outcome == DECODE and case.file not in _flat(got["build_out"]) and \
                not (tmp_path / case.id / "manifest.json").is_file():
            why.append("build did not finish")
        if case.outcome == ACCEPTED:
            if errors:
                why.append(f"problems for an acceptable file: {errors[:2]}")
            if case.check is not None and not case.check(got["samples"]):
                why.append("values read wrong")
        if got["build"] == "empty" and (tmp_path / case.id / "manifest.json").exists():
            why.append("an empty build wrote a manifest")
        if why:
            failures.append(f"{case.id}: {'; '.join(why)}\n  inspect: "
                            f"{got['inspect_out'][-300:]!r}\n  build: {got['build_out'][-300:]!r}")
    assert not failures, "\n".join(failures)


def test_decode_failures_drop_only_their_items(corpus, tmp_path):
    """A truncated JPEG: the build finishes, its items are gone, the problem names it."""
    import json

    cases, _ = corpus
    case = next(c for c in cases if c.id == "gazefollow-image-truncated")
    code, out, error = _run(["build", case.spec, "-o", str(tmp_path / "b")])
    assert error is None and code == 0, out
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["source_problems"] == 1 and manifest["counts"]["total"] > 0
    from vl4gaze.build import load_benchmark

    assert all("cut" not in item.image for item in load_benchmark(tmp_path / "b"))


def test_outside_root_followed_only_when_allowed(corpus):
    cases, _ = corpus
    case = next(c for c in cases if c.id == "gazefollow-path-dotdot")
    assert [s for s in read_source(case.spec, problems=[]) if "outside" in s.image] == []
    allowed = list(read_source(case.spec, problems=[], allow_outside_root=True))
    assert any(s.image.endswith(os.path.join("outside", "x.jpg")) for s in allowed)
    code, out, error = _run(["inspect", case.spec, "--allow-outside-root"])
    assert error is None and code == 0, out


def corpus_table(cases: list[Case]) -> str:
    """The summary table docs/sources.md shows (cases per kind and outcome)."""
    counts = Counter((c.kind, c.outcome) for c in cases)
    outcomes = [REFUSED, UNUSABLE, ACCEPTED, INVALID, WARNING, DECODE]
    lines = ["| kind | " + " | ".join(outcomes) + " | all |",
             "|---|" + "---:|" * (len(outcomes) + 1)]
    for kind in KINDS:
        row = [counts[(kind, o)] for o in outcomes]
        lines.append(f"| {kind} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    total = [sum(counts[(k, o)] for k in KINDS) for o in outcomes]
    lines.append("| all | " + " | ".join(map(str, total)) + f" | {sum(total)} |")
    return "\n".join(lines)


def test_docs_table_matches_the_corpus(corpus):
    cases, _ = corpus
    docs = Path(__file__).parent.parent / "docs" / "sources.md"
    assert corpus_table(cases) in docs.read_text(), corpus_table(cases)


def test_examples_from_files_cannot_drive_the_terminal(tmp_path):
    """inspect prints example samples: text read from the file (ids, descriptions) is
    escaped there too, not only in problem messages."""
    import json

    from hostile_corpus import ESC, _gw_scene

    scene = _gw_scene()
    scene["id"] = f"scene{ESC}"
    scene["people"][0]["description"] = f"a person {ESC}"
    (tmp_path / "images").mkdir()
    from PIL import Image

    Image.new("RGB", (64, 64)).save(tmp_path / "images" / "a.png")
    (tmp_path / "annotations.jsonl").write_text(json.dumps(scene) + "\n")
    code, out, error = _run(["inspect", f"gazeworld:{tmp_path}"])
    assert error is None and code == 0, out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b" in out


def test_a_killed_build_is_refused_until_rebuilt(corpus, tmp_path, monkeypatch):
    """A build that dies while writing (here: the disk fills during the Parquet write)
    leaves a folder that load_benchmark refuses; the rerun repairs it."""
    import vl4gaze.build as build
    from vl4gaze.build import IncompleteBenchmark, build_benchmark, load_benchmark

    cases, _ = corpus
    spec = next(c for c in cases if c.id == "gazefollow-bom").spec
    build_benchmark([spec], tmp_path / "b", progress=False)
    assert load_benchmark(tmp_path / "b")

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build, "write_parquet", full)
    with pytest.raises(OSError):
        build_benchmark([spec], tmp_path / "b", progress=False)
    monkeypatch.undo()
    with pytest.raises(IncompleteBenchmark, match="did not finish"):
        load_benchmark(tmp_path / "b")
    build_benchmark([spec], tmp_path / "b", progress=False)
    assert load_benchmark(tmp_path / "b")
