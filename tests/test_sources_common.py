"""The shared safe-read helpers of the readers (issue 21): properties over hostile bytes,
paths and text."""

from __future__ import annotations

import os
import re

import pytest
from hostile_corpus import bomb_png, truncated_jpeg
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.sources._common import (
    MAX_PIXELS,
    BadImage,
    csv_rows,
    file_problem,
    image_size,
    inside_root,
    load_image,
    text_lines,
)
from vl4gaze.sources.problems import ProblemLog, printable


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000))
def test_any_bytes_read_without_raising(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("b") / "f.txt"
    path.write_bytes(data)
    problems: list = []
    rows = list(csv_rows(path, ProblemLog(False, problems)))
    n_lines = data.count(b"\n") + 1
    assert all(1 <= line <= n_lines for line, _ in rows)
    assert all(p.line is None or 1 <= p.line <= n_lines for p in problems)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert problems, "undecodable bytes must be reported"


def test_bom_is_accepted_and_bad_lines_are_named(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"\xef\xbb\xbfa,b\nc,\xff\nd,e\n")
    problems: list = []
    assert list(text_lines(path, ProblemLog(False, problems))) == ["a,b\n", "\n", "d,e\n"]
    assert [(p.line, "UTF-8" in p.message) for p in problems] == [(2, True)]


segment = st.sampled_from(["a", "b", "..", ".", "", "c.jpg"])


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(segment, max_size=6), absolute=st.booleans())
def test_inside_root_never_lets_a_path_out(parts, absolute):
    root = "/data/set"
    relative = ("/" if absolute else "") + "/".join(parts)
    joined = inside_root(root, relative)
    if joined is not None:
        assert os.path.commonpath([root, os.path.normpath(joined)]) == root
    if not os.path.isabs(relative) and ".." not in parts:
        assert joined is not None
    assert inside_root(root, relative, allow_outside=True) is not None


@given(text=st.text(max_size=300))
def test_printable_leaves_no_control_character(text):
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", printable(text))


def test_images_are_size_bounded_and_decoded(tmp_path):
    with pytest.raises(BadImage, match="pixels"):
        image_size(str(bomb_png(tmp_path / "bomb.png")))
    cut = truncated_jpeg(tmp_path / "cut.jpg")
    assert image_size(str(cut)) == (256, 256)  # the header is fine...
    with pytest.raises(BadImage, match="decoded"):
        load_image(str(cut))  # ...its pixels are not
    assert MAX_PIXELS < 30_000 * 30_000


def test_file_problems_are_named(tmp_path):
    (tmp_path / "d").mkdir()
    os.symlink("loop", tmp_path / "loop")
    os.symlink("nowhere", tmp_path / "dangling")
    assert file_problem(tmp_path / "d") == "a directory, not a file"
    assert file_problem(tmp_path / "loop") == "a symlink loop"
    assert file_problem(tmp_path / "dangling") == "dangling symlink"
    assert file_problem(tmp_path / "none") == "missing"
