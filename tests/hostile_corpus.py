"""A corpus of malformed and hostile dataset folders, one small case per fault, for every
source kind (issue 21). ``make_corpus(root)`` writes the cases and returns them with the
outcome each must have; ``tests/test_hostile_corpus.py`` runs ``inspect``,
``inspect --strict`` and ``build`` over them.

Each case is one valid record (so a build has something to build) plus one fault. The
expected outcome is a class per command:

- ``refused``: ``inspect`` exits 1 listing the problem (file, line, field);
  ``inspect --strict`` exits 1 and names ``[field]``; ``build`` exits 0 with the bad part
  skipped and counted ("N source problems were skipped").
- ``unusable``: the whole source cannot be read: as ``refused``, but ``build`` exits 1
  with one line (nothing to build; nothing written).
- ``accepted``: read right: ``inspect`` exit 0 without errors, ``build`` exit 0; a check
  on the samples says the values are the right ones.
- ``invalid`` / ``warning``: rows the source marks invalid, or odd rows kept: inspect and
  strict exit 0 and list them; build exits 0 and counts them.
- ``decode``: the image header reads fine but its pixels do not (a truncated JPEG):
  inspect (headers only) is clean; ``build`` decodes it, drops its items and reports it.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from PIL import Image

REFUSED, UNUSABLE, ACCEPTED, INVALID, WARNING, DECODE = (
    "refused", "unusable", "accepted", "invalid", "warning", "decode")
ESC = "\x1b]8;;http://attacker.example/\x07click\x1b]8;;\x07\x1b[31m"
HUGE = "9" * 200_000
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class Case:
    """One corpus entry: the source spec and what each command must do with it."""

    kind: str
    name: str
    spec: str
    outcome: str
    #: The field the problem must name (None: a line- or file-level problem).
    field: str | None = None
    #: A file name the problem must mention.
    file: str | None = None
    check: Callable[[list], bool] | None = None
    extra: dict = dc_field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}"


# --- files ------------------------------------------------------------------------------


def jpeg(path: Path, size: tuple[int, int] = (64, 64)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 90, 60)).save(path, quality=90)
    return path


def truncated_jpeg(path: Path) -> Path:
    """A JPEG whose header (and so its size) reads fine but whose pixels are cut off."""
    jpeg(path, (256, 256))
    Image.effect_noise((256, 256), 80).convert("RGB").save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def bomb_png(path: Path, side: int = 30_000) -> Path:
    """A PNG header declaring side x side pixels (a decompression bomb), tiny on disk."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    path.parent.mkdir(parents=True, exist_ok=True)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def loop(path: Path) -> Path:
    """A symlink that points at itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(path.name, path)
    return path


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_bytes(data.encode("utf-8"))
    return path


# --- GazeFollow -------------------------------------------------------------------------

GF_GOOD = "train/a.jpg,1,0.1,0.1,0.5,0.5,0.5,0.3,0.6,0.7,10,10,30,30,1,places,x.jpg"
GF_FIELDS = ("path", "id", "body_x", "body_y", "body_w", "body_h", "eye_x", "eye_y",
             "gaze_x", "gaze_y", "head_xmin", "head_ymin", "head_xmax", "head_ymax",
             "in_or_out", "source", "original_name")
GF_TEST = ("test2/b.jpg,1,0.1,0.1,0.5,0.5,0.4,0.3,0.6,0.7,10,10,30,30,pascal,x.jpg\n"
           "test2/b.jpg,1,0.1,0.1,0.5,0.5,0.4,0.35,0.6,0.6,10,10,30,30,pascal,x.jpg\n")


def _gf_row(**changes: str) -> str:
    values = GF_GOOD.split(",")
    for name, value in changes.items():
        values[GF_FIELDS.index(name)] = value
    return ",".join(values)


def gazefollow_cases(root: Path, outside: Path) -> list[Case]:
    cases: list[Case] = []
    train = "train_annotations_release.txt"

    def case(name: str, outcome: str, lines: list[str] | bytes | None = None,
             field_: str | None = None, setup: Callable[[Path], None] | None = None,
             check: Callable[[list], bool] | None = None, file: str | None = train) -> None:
        d = root / f"gazefollow-{name}"
        jpeg(d / "train" / "a.jpg")
        if isinstance(lines, bytes):
            write(d / train, lines)
        elif lines is not None:
            write(d / train, "\n".join([GF_GOOD, *lines]) + "\n")
        if setup:
            setup(d)
        cases.append(Case("gazefollow", name, f"gazefollow:{d}", outcome, field_, file, check))

    case("too-few-fields", REFUSED, [GF_GOOD.rsplit(",", 1)[0]])
    case("too-many-fields", REFUSED, [GF_GOOD + ",extra"])
    case("eye-not-a-number", REFUSED, [_gf_row(eye_x="abc")], "eye_x")
    case("eye-nan", REFUSED, [_gf_row(eye_x="nan")], "eye_x")
    case("gaze-inf", REFUSED, [_gf_row(gaze_x="inf")], "gaze_x")
    case("eye-far-out", REFUSED, [_gf_row(eye_y="5")], "eye_y")
    case("gaze-negative-far", REFUSED, [_gf_row(gaze_y="-3")], "gaze_y")
    case("head-zero-width", REFUSED, [_gf_row(head_xmin="20", head_xmax="20")], "head_xmax")
    case("head-zero-height", REFUSED, [_gf_row(head_ymin="20", head_ymax="20")], "head_ymax")
    case("head-far-out", REFUSED, [_gf_row(head_xmin="5000")], "head_xmin")
    case("head-overflow", REFUSED, [_gf_row(head_xmin="1e308", head_xmax="1e308")])
    case("in-or-out-2", REFUSED, [_gf_row(in_or_out="2")], "in_or_out")
    case("in-or-out-text", REFUSED, [_gf_row(in_or_out="yes")], "in_or_out")
    case("in-or-out-invalid", INVALID, [_gf_row(in_or_out="-1")], "in_or_out")
    case("empty-path", REFUSED, [_gf_row(path=" ")], "path")
    case("path-dotdot", REFUSED, [_gf_row(path="../outside/x.jpg")], "path")
    case("path-deep-dotdot", REFUSED, [_gf_row(path="train/../../outside/x.jpg")], "path")
    case("path-absolute", REFUSED, [_gf_row(path=str(outside / "x.jpg"))], "path")
    case("image-missing", REFUSED, [_gf_row(path="train/missing.jpg")], "path")
    case("image-is-directory", REFUSED, [_gf_row(path="train/d.jpg")], "path",
         lambda d: (d / "train" / "d.jpg").mkdir())
    case("image-symlink-loop", REFUSED, [_gf_row(path="train/loop.jpg")], "path",
         lambda d: loop(d / "train" / "loop.jpg"))
    case("image-bomb", REFUSED, [_gf_row(path="train/bomb.png")], "path",
         lambda d: bomb_png(d / "train" / "bomb.png"))
    case("image-not-an-image", REFUSED, [_gf_row(path="train/t.jpg")], "path",
         lambda d: write(d / "train" / "t.jpg", "just text"))
    case("image-empty-file", REFUSED, [_gf_row(path="train/e.jpg")], "path",
         lambda d: write(d / "train" / "e.jpg", b""))
    case("image-truncated", DECODE, [_gf_row(path="train/cut.jpg")], None,
         lambda d: truncated_jpeg(d / "train" / "cut.jpg"), file="cut.jpg")
    case("field-200k", REFUSED, [_gf_row(source=HUGE)])
    case("line-over-limit", REFUSED, ["x" * 70_000])
    case("not-utf8", REFUSED, ("\n".join([GF_GOOD, _gf_row(source="caf\udce9")]) + "\n")
         .encode("utf-8", "surrogateescape"))
    case("nul-byte", REFUSED, [_gf_row(source="a\x00b")])
    case("unterminated-quote", REFUSED, ['train/a.jpg,"1,0.1'])
    case("escape-codes-in-path", REFUSED, [_gf_row(path=f"train/{ESC}.jpg")], "path")
    case("bom", ACCEPTED, ("\ufeff" + GF_GOOD + "\n").encode(),
         check=lambda s: len(s) == 1 and s[0].source_id.startswith("train/a.jpg"))
    case("swapped-head-corners", ACCEPTED, [_gf_row(head_xmin="30", head_xmax="10")],
         check=lambda s: len(s) == 2 and s[1].person.head.x1 < s[1].person.head.x2)
    case("crlf-lines", ACCEPTED, (GF_GOOD + "\r\n" + GF_GOOD + "\r\n").encode(),
         check=lambda s: len(s) == 2)
    case("binary-test-file", REFUSED, [], None,
         lambda d: write(d / "test_annotations_release.txt", bytes(range(256)) * 40),
         file="test_annotations_release.txt")
    case("test-file-is-directory", REFUSED, [], None,
         lambda d: (d / "test_annotations_release.txt").mkdir(),
         file="test_annotations_release.txt")
    case("test-file-symlink-loop", REFUSED, [], None,
         lambda d: loop(d / "test_annotations_release.txt"), file="test_annotations_release.txt")
    case("train-file-is-directory", UNUSABLE, None, None,
         lambda d: (d / train).mkdir())
    case("train-file-symlink-loop", UNUSABLE, None, None, lambda d: loop(d / train))
    case("train-file-dangling-link", UNUSABLE, None, None,
         lambda d: os.symlink("nowhere.txt", d / train))
    case("test-annotators-split", WARNING, [], "eye_y", lambda d: (
        jpeg(d / "test2" / "b.jpg"), write(d / "test_annotations_release.txt", GF_TEST)),
        file="test_annotations_release.txt")
    if not IS_ROOT:  # root reads files whatever their permissions
        case("train-file-unreadable", UNUSABLE, [], None, lambda d: os.chmod(d / train, 0))
    return cases


# --- VideoAttentionTarget ---------------------------------------------------------------

VAT_GOOD = "00000000.jpg,10,10,30,30,40,40"


def vat_cases(root: Path, outside: Path) -> list[Case]:
    cases: list[Case] = []

    def case(name: str, outcome: str, line: str | bytes | None, field_: str | None = None,
             setup: Callable[[Path], None] | None = None, file: str | None = "s01.txt",
             check: Callable[[list], bool] | None = None) -> None:
        d = root / f"vat-{name}"
        clip = d / "annotations" / "train" / "Show" / "0_10"
        jpeg(d / "images" / "Show" / "0_10" / "00000000.jpg")
        write(clip / "s00.txt", VAT_GOOD + "\n")
        if isinstance(line, bytes):
            write(clip / "s01.txt", line)
        elif line is not None:
            write(clip / "s01.txt", line + "\n")
        if setup:
            setup(d)
        cases.append(Case("vat", name, f"vat:{d}", outcome, field_, file, check))

    def row(**changes: str) -> str:
        names = ("frame", "xmin", "ymin", "xmax", "ymax", "gazex", "gazey")
        values = VAT_GOOD.split(",")
        for key, value in changes.items():
            values[names.index(key)] = value
        return ",".join(values)

    clip = Path("annotations/train/Show/0_10")
    case("too-few-fields", REFUSED, "00000000.jpg,1,2,3")
    case("xmin-nan", REFUSED, row(xmin="nan"), "xmin")
    case("gazex-text", REFUSED, row(gazex="abc"), "gazex")
    case("head-zero-width", REFUSED, row(xmin="20", xmax="20"), "xmax")
    case("head-zero-height", REFUSED, row(ymin="5", ymax="5"), "ymax")
    case("head-far-out", REFUSED, row(xmax="900"), "xmax")
    case("gaze-far-out", REFUSED, row(gazey="900"), "gazey")
    case("frame-empty", REFUSED, row(frame=""), "frame")
    case("frame-dotdot", REFUSED, row(frame="../../../../outside/x.jpg"), "frame")
    case("frame-absolute", REFUSED, row(frame=str(outside / "x.jpg")), "frame")
    case("frame-escape-codes", REFUSED, row(frame=f"{ESC}.jpg"), "path")
    case("image-missing", REFUSED, row(frame="00000009.jpg"), "path")
    case("image-bomb", REFUSED, row(frame="bomb.png"), "path",
         lambda d: bomb_png(d / "images" / "Show" / "0_10" / "bomb.png"))
    case("image-is-directory", REFUSED, row(frame="dir.jpg"), "path",
         lambda d: (d / "images" / "Show" / "0_10" / "dir.jpg").mkdir())
    case("image-truncated", DECODE, row(frame="cut.jpg"), None,
         lambda d: truncated_jpeg(d / "images" / "Show" / "0_10" / "cut.jpg"), file="cut.jpg")
    case("field-200k", REFUSED, row(frame=HUGE))
    case("not-utf8", REFUSED, b"00000000.jpg,1\xff,2,3,4,5,6\n")
    case("binary", REFUSED, bytes(range(256)) * 40)
    case("nul-byte", REFUSED, row(frame="a\x00b.jpg"))
    case("person-file-is-directory", REFUSED, None, None,
         lambda d: (d / clip / "s01.txt").mkdir())
    case("person-file-symlink-loop", REFUSED, None, None, lambda d: loop(d / clip / "s01.txt"))
    case("bom", ACCEPTED, ("\ufeff" + VAT_GOOD).encode() + b"\n",
         check=lambda s: len(s) == 2 and all(x.image.endswith("00000000.jpg") for x in s))
    case("gaze-outside-frame", ACCEPTED, row(gazex="-1", gazey="-1"),
         check=lambda s: sorted(str(x.inout) for x in s) == ["in", "out"])
    case("no-annotations-folder", UNUSABLE, None, None,
         lambda d: os.rename(d / "annotations", d / "annotationz"), file=None)
    return cases


# --- ChildPlay --------------------------------------------------------------------------

CP_HEADER = "clip,frame,person_id,bbox_x,bbox_y,bbox_width,bbox_height,gaze_class,gaze_x,gaze_y"
CP_GOOD = "vid_1-5,1,p1,10,10,20,20,inside_visible,40,40"


def childplay_cases(root: Path, outside: Path) -> list[Case]:
    cases: list[Case] = []
    names = CP_HEADER.split(",")

    def row(**changes: str) -> str:
        values = CP_GOOD.split(",")
        for key, value in changes.items():
            values[names.index(key)] = value
        return ",".join(values)

    def case(name: str, outcome: str, text: str | bytes | None, field_: str | None = None,
             setup: Callable[[Path], None] | None = None, file: str | None = "zz_1-5.csv",
             check: Callable[[list], bool] | None = None) -> None:
        d = root / f"childplay-{name}"
        jpeg(d / "images" / "vid_1-5" / "vid_1.jpg")
        write(d / "annotations" / "train" / "vid_1-5.csv", f"{CP_HEADER}\n{CP_GOOD}\n")
        bad = d / "annotations" / "train" / "zz_1-5.csv"
        if isinstance(text, bytes) or text is not None:
            write(bad, text)
        if setup:
            setup(d)
        cases.append(Case("childplay", name, f"childplay:{d}", outcome, field_, file, check))

    def rows(*lines: str) -> str:
        return CP_HEADER + "\n" + "\n".join(lines) + "\n"

    case("header-missing-column", REFUSED, CP_HEADER.replace(",gaze_y", "") + "\n", "gaze_y")
    case("header-duplicated-column", REFUSED,
         CP_HEADER + ",gaze_x\n" + CP_GOOD + ",999\n", "gaze_x")
    case("empty-file", REFUSED, "", "frame")
    case("wrong-field-count", REFUSED, rows(CP_GOOD + ",1"))
    case("gaze-class-unknown", REFUSED, rows(row(gaze_class="looking")), "gaze_class")
    case("gaze-class-escape", REFUSED, rows(row(gaze_class=ESC)), "gaze_class")
    case("frame-zero", REFUSED, rows(row(frame="0")), "frame")
    case("frame-superscript", REFUSED, rows(row(frame="\u00b2")), "frame")
    case("frame-text", REFUSED, rows(row(frame="one")), "frame")
    case("frame-huge", REFUSED, rows(row(frame="9" * 40)), "frame")
    case("clip-misnamed", REFUSED, rows(row(clip="nonsense")), "clip")
    case("clip-dotdot", REFUSED, rows(row(clip="../../outside/x_1-5")), "clip")
    case("clip-absolute", REFUSED, rows(row(clip=str(outside / "x_1-5"))), "clip")
    case("bbox-negative", REFUSED, rows(row(bbox_width="-4")), "bbox_width")
    case("bbox-zero-width", REFUSED, rows(row(bbox_width="0")), "bbox_x+bbox_width")
    case("bbox-nan", REFUSED, rows(row(bbox_x="nan")), "bbox_x")
    case("gaze-text-visible", REFUSED, rows(row(gaze_x="x")), "gaze_x")
    case("gaze-negative-visible", REFUSED, rows(row(gaze_y="-5")), "gaze_y")
    case("gaze-far-out", REFUSED, rows(row(gaze_x="5000")), "gaze_x")
    case("image-missing", REFUSED, rows(row(frame="3")), "path")
    case("image-bomb", REFUSED, rows(row(clip="zz_1-5")), "path",
         lambda d: bomb_png(d / "images" / "zz_1-5" / "zz_1.jpg"))
    case("image-truncated", DECODE, rows(row(clip="zz_1-5")), None,
         lambda d: truncated_jpeg(d / "images" / "zz_1-5" / "zz_1.jpg"), file="zz_1.jpg")
    case("field-200k", REFUSED, rows(row(person_id=HUGE)))
    case("not-utf8", REFUSED, (CP_HEADER + "\n").encode() + b"vid_1-5,1,p\xe9,1,1,2,2,x,1,1\n")
    case("nul-byte", REFUSED, rows(row(person_id="a\x00")))
    case("clip-file-is-directory", REFUSED, None, None,
         lambda d: (d / "annotations" / "train" / "zz_1-5.csv").mkdir())
    case("clip-file-symlink-loop", REFUSED, None, None,
         lambda d: loop(d / "annotations" / "train" / "zz_1-5.csv"))
    case("bom-header", ACCEPTED, ("\ufeff" + rows(row(person_id="p2"))).encode(),
         check=lambda s: len(s) == 2)
    case("eyes-closed", ACCEPTED, rows(row(person_id="p2", gaze_class="eyes_closed",
                                           gaze_x="-1", gaze_y="-1")),
         check=lambda s: any("eyes_closed" in x.flags for x in s))
    case("duplicated-column-not-guessed", REFUSED,
         CP_HEADER.replace("gaze_y", "gaze_x") + "\n" + CP_GOOD + "\n", "gaze_y")
    return cases


# --- GOO --------------------------------------------------------------------------------


def goo_record(**changes) -> dict:
    record = {"filename": "a.jpg", "width": 640, "height": 480,
              "ann": {"bboxes": [[100, 100, 200, 200], [10, 10, 60, 60]], "labels": [1, -1]},
              "gaze_item": 1, "gazeIdx": 0, "gaze_cx": 150, "gaze_cy": 150, "hx": 30, "hy": 30}
    for key, value in changes.items():
        if value is _DROP:
            record.pop(key)
        else:
            record[key] = value
    return record


_DROP = object()


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def goo_cases(root: Path, outside: Path) -> list[Case]:
    cases: list[Case] = []

    def case(name: str, outcome: str, bad=None, field_: str | None = None,
             setup: Callable[[Path], None] | None = None, raw: bytes | None = None,
             check: Callable[[list], bool] | None = None, file: str | None = "goo_train.pkl"
             ) -> None:
        d = root / f"goo-{name}"
        jpeg(d / "a.jpg")
        pkl = d / "goo_train.pkl"
        if raw is not None:
            write(pkl, raw)
        else:
            records = [goo_record()] + ([] if bad is None else [bad])
            write(pkl, pickle.dumps(records, protocol=4))
        if setup:
            setup(d)
        cases.append(Case("goo", name, f"goo:{pkl}", outcome, field_, file, check))

    good = pickle.dumps([goo_record()], protocol=4)
    case("garbage-bytes", UNUSABLE, raw=b"this is not a pickle at all")
    case("truncated-pickle", UNUSABLE, raw=good[: len(good) // 2])
    case("empty-file", UNUSABLE, raw=b"")
    case("code-in-pickle", UNUSABLE, raw=pickle.dumps([_Evil()]))
    case("bytes-bomb", UNUSABLE, raw=b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00\x8c\x08"
         b"builtins\x94\x8c\tbytearray\x94\x93\x94J\x00\x00\x00@\x85\x94R\x94.")
    case("not-a-list", UNUSABLE, raw=pickle.dumps({"a": 1}))
    case("pickle-is-directory", UNUSABLE, raw=b"", setup=lambda d: (
        (d / "goo_train.pkl").unlink(), (d / "goo_train.pkl").mkdir()))
    case("pickle-symlink-loop", UNUSABLE, raw=b"", setup=lambda d: (
        (d / "goo_train.pkl").unlink(), loop(d / "goo_train.pkl")))
    case("record-not-a-dict", REFUSED, ["a", "list"])
    case("gaze-missing", REFUSED, goo_record(gaze_cx=_DROP), "gaze_cx")
    case("gaze-text", REFUSED, goo_record(gaze_cx="abc"), "gaze_cx")
    case("gaze-nan", REFUSED, goo_record(gaze_cy=float("nan")), "gaze_cy")
    case("head-point-far", REFUSED, goo_record(hx=10_000), "hx")
    case("bboxes-not-nx4", REFUSED, goo_record(ann={"bboxes": [[1, 2, 3]], "labels": [1]}),
         "ann.bboxes")
    case("labels-count", REFUSED, goo_record(ann={"bboxes": [[1, 2, 30, 40]], "labels": []}),
         "ann.labels")
    case("label-99", REFUSED,
         goo_record(ann={"bboxes": [[1, 2, 30, 40]], "labels": [99]}, gazeIdx=-1),
         "ann.labels")
    case("bbox-far-out", REFUSED,
         goo_record(ann={"bboxes": [[1, 2, 30000, 40]], "labels": [1]}), "ann.bboxes")
    case("gaze-idx-range", REFUSED, goo_record(gazeIdx=5), "gazeIdx")
    case("gaze-idx-text", REFUSED, goo_record(gazeIdx="x"), "gazeIdx")
    case("gaze-idx-head", REFUSED, goo_record(gazeIdx=1), "gazeIdx")
    case("gaze-item-head", REFUSED, goo_record(gaze_item=25), "gaze_item")
    case("filename-missing", REFUSED, goo_record(filename=_DROP), "filename")
    case("filename-dotdot", REFUSED, goo_record(filename="../outside/x.jpg"), "filename")
    case("filename-absolute", REFUSED, goo_record(filename=str(outside / "x.jpg")), "filename")
    case("filename-escape", REFUSED, goo_record(filename=ESC + ".jpg"), "filename")
    case("image-missing", REFUSED, goo_record(filename="nope.jpg"), "filename")
    case("image-bomb", REFUSED, goo_record(filename="bomb.png"), "filename",
         lambda d: bomb_png(d / "bomb.png"))
    case("image-truncated", DECODE, goo_record(filename="cut.jpg"), None,
         lambda d: truncated_jpeg(d / "cut.jpg"), file="cut.jpg")
    case("head-zero-area", REFUSED,
         goo_record(ann={"bboxes": [[100, 100, 200, 200], [10, 10, 10, 60]], "labels": [1, -1]}),
         "ann.bboxes")
    case("hbox-wrong-shape", REFUSED, goo_record(hbox=[1, 2]))
    case("occluded-maybe", REFUSED, goo_record(occluded="maybe"), "occluded")
    case("occluded-text-false", ACCEPTED, goo_record(occluded="False", filename="a.jpg"),
         check=lambda s: len(s) == 2 and all("occluded" not in x.flags for x in s))
    case("occluded-text-true", ACCEPTED, goo_record(occluded="True"),
         check=lambda s: [("occluded" in x.flags) for x in s] == [False, True])
    case("occluded-numpy-zero", ACCEPTED, goo_record(occluded=0),
         check=lambda s: all("occluded" not in x.flags for x in s))
    return cases


# --- GazeWorld --------------------------------------------------------------------------


def _gw_scene() -> dict:
    return {"id": "scene-000000", "image": "images/a.png", "width": 64, "height": 64,
            "split": "test",
            "objects": [{"label": "cup", "box": [0.6, 0.6, 0.8, 0.8], "description": "a cup"}],
            "people": [{"id": "p0", "index": 0, "head": [0.1, 0.1, 0.3, 0.3],
                        "eye": [0.2, 0.2], "description": "a person", "eyes": "open",
                        "gaze": [0.7, 0.7], "inout": "in",
                        "target": {"kind": "object", "label": "cup", "description": "a cup",
                                   "box": [0.6, 0.6, 0.8, 0.8]}}]}


def gazeworld_cases(root: Path, outside: Path) -> list[Case]:
    cases: list[Case] = []

    def scene(**changes) -> str:
        s = _gw_scene()
        s.update(changes)
        return json.dumps(s)

    def person(**changes) -> str:
        s = _gw_scene()
        s["people"][0].update(changes)
        return json.dumps(s)

    def case(name: str, outcome: str, line: str | bytes | None, field_: str | None = None,
             setup: Callable[[Path], None] | None = None, file: str | None = "annotations.jsonl",
             check: Callable[[list], bool] | None = None) -> None:
        d = root / f"gazeworld-{name}"
        img = d / "images" / "a.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 64), (200, 200, 200)).save(img)
        good = json.dumps(_gw_scene()) + "\n"
        if isinstance(line, bytes):
            write(d / "annotations.jsonl", good.encode() + line)
        elif line is not None:
            write(d / "annotations.jsonl", good + line + "\n")
        if setup:
            setup(d)
        cases.append(Case("gazeworld", name, f"gazeworld:{d}", outcome, field_, file, check))

    case("not-json", REFUSED, "{not json")
    case("not-an-object", REFUSED, "[1, 2, 3]")
    case("image-key-missing", REFUSED, json.dumps({"people": []}), "image")
    case("image-not-text", REFUSED, scene(image=7), "image")
    case("image-dotdot", REFUSED, scene(image="../outside/x.jpg"), "image")
    case("image-absolute", REFUSED, scene(image=str(outside / "x.jpg")), "image")
    case("image-escape", REFUSED, scene(image=ESC + ".png"), "image")
    case("image-missing", REFUSED, scene(image="images/none.png"), "image")
    case("image-is-directory", REFUSED, scene(image="images"), "image")
    case("objects-missing", REFUSED, scene(objects=None), "objects")
    case("person-head-zero-area", REFUSED, person(head=[0.1, 0.1, 0.1, 0.3]), "people[0].head")
    case("person-head-out-of-range", REFUSED, person(head=[0.1, 0.1, 3, 0.3]), "people[0]")
    case("person-key-missing", REFUSED, person(target=None), "people[0]")
    case("person-inout-bad", REFUSED, person(inout="sideways"), "people[0]")
    case("deep-nesting", REFUSED, "[" * 100_000 + "]" * 100_000)
    case("int-5000-digits", REFUSED, '{"image": ' + "9" * 5000 + "}")
    case("line-over-limit", REFUSED, json.dumps({"pad": "x" * (1 << 21)}))
    case("not-utf8", REFUSED, b'{"image": "\xff"}\n')
    case("bom", ACCEPTED, None, setup=lambda d: write(
        d / "annotations.jsonl", ("\ufeff" + json.dumps(_gw_scene()) + "\n").encode()),
        check=lambda s: len(s) == 1)
    case("annotations-is-directory", UNUSABLE, None, setup=lambda d: (
        d / "annotations.jsonl").mkdir())
    case("annotations-symlink-loop", UNUSABLE, None,
         setup=lambda d: loop(d / "annotations.jsonl"))
    return cases


# --- images (own photos with sidecars) --------------------------------------------------

IM_HEADER = "image,gaze_x,gaze_y,inout,head_x1,head_y1,head_x2,head_y2"


def images_cases(root: Path, outside: Path) -> list[Case]:
    cases: list[Case] = []
    sidecar = {"units": "norm", "people": [{"head": [0.1, 0.1, 0.3, 0.3], "gaze": [0.6, 0.6],
                                            "inout": "in"}]}

    def case(name: str, outcome: str, csv_text: str | bytes | None = None,
             field_: str | None = None, setup: Callable[[Path], None] | None = None,
             file: str | None = "gaze.csv", check: Callable[[list], bool] | None = None
             ) -> None:
        d = root / f"images-{name}"
        jpeg(d / "a.jpg")
        write(d / "a.gaze.json", json.dumps(sidecar))
        if csv_text is not None:
            write(d / "gaze.csv", csv_text)
        if setup:
            setup(d)
        cases.append(Case("images", name, f"images:{d}", outcome, field_, file, check))

    def rows(*lines: str) -> str:
        return IM_HEADER + "\n" + "\n".join(lines) + "\n"

    def with_b(d: Path) -> None:
        jpeg(d / "b.jpg")

    case("no-image-column", REFUSED, "gaze_x,gaze_y\n0.5,0.5\n", "image")
    case("duplicated-column", REFUSED,
         IM_HEADER + ",gaze_x\nb.jpg,0.5,0.5,in,0.1,0.1,0.3,0.3,0.9\n", "gaze_x", with_b)
    case("number-text", REFUSED, rows("b.jpg,abc,0.5,in,0.1,0.1,0.3,0.3"), "gaze_x", with_b)
    case("inout-bad", REFUSED, rows("b.jpg,0.5,0.5,sideways,0.1,0.1,0.3,0.3"), "inout", with_b)
    case("head-partial", REFUSED, rows("b.jpg,0.5,0.5,in,0.1,,0.3,0.3"), "head_y1", with_b)
    case("head-zero-area", REFUSED, rows("b.jpg,0.5,0.5,in,0.1,0.1,0.1,0.3"), "head_x2", with_b)
    case("gaze-far-out", REFUSED, rows("b.jpg,5,0.5,in,0.1,0.1,0.3,0.3"), "gaze_x", with_b)
    case("row-for-missing-image", REFUSED, rows("zz.jpg,0.5,0.5,in,0.1,0.1,0.3,0.3"), "image")
    case("image-escape", REFUSED, rows(f"{ESC}.jpg,0.5,0.5,in,0.1,0.1,0.3,0.3"), "image")
    case("too-many-fields", REFUSED, rows("b.jpg,0.5,0.5,in,0.1,0.1,0.3,0.3,9,9"), None, with_b)
    case("field-200k", REFUSED, rows(f"b.jpg,{HUGE},0.5,in,0.1,0.1,0.3,0.3"), None, with_b)
    case("not-utf8", REFUSED, (IM_HEADER + "\n").encode() + b"b\xff.jpg,0.5,0.5,in,,,,\n")
    case("bom", ACCEPTED, ("\ufeff" + rows("b.jpg,0.5,0.5,in,0.1,0.1,0.3,0.3")).encode(), None,
         with_b, check=lambda s: len(s) == 2)
    case("csv-is-directory", REFUSED, None, None, lambda d: (d / "gaze.csv").mkdir())
    case("csv-symlink-loop", REFUSED, None, None, lambda d: loop(d / "gaze.csv"))
    case("sidecar-bad-json", REFUSED, None, None, lambda d: (
        jpeg(d / "b.jpg"), write(d / "b.gaze.json", "{oops")), file="b.gaze.json")
    case("sidecar-deep-nesting", REFUSED, None, None, lambda d: (
        jpeg(d / "b.jpg"), write(d / "b.gaze.json", "[" * 100_000)), file="b.gaze.json")
    case("sidecar-not-utf8", REFUSED, None, None, lambda d: (
        jpeg(d / "b.jpg"), write(d / "b.gaze.json", b'{"people": "\xff"}')), file="b.gaze.json")
    case("sidecar-people-not-list", REFUSED, None, "people", lambda d: (
        jpeg(d / "b.jpg"), write(d / "b.gaze.json", '{"people": 3}')), file="b.gaze.json")
    case("sidecar-head-wrong-length", REFUSED, None, "people[0].head", lambda d: (
        jpeg(d / "b.jpg"), write(d / "b.gaze.json", '{"people": [{"head": [1, 2]}]}')),
        file="b.gaze.json")
    case("sidecar-is-directory", REFUSED, None, None, lambda d: (
        jpeg(d / "b.jpg"), (d / "b.gaze.json").mkdir()), file="b.gaze.json")
    case("image-bomb", REFUSED, None, None, lambda d: bomb_png(d / "bomb.png"), file="bomb.png")
    case("image-not-an-image", REFUSED, None, None,
         lambda d: write(d / "t.jpg", "text"), file="t.jpg")
    # The head detector decodes every photo while reading, so inspect already sees it.
    case("image-truncated", REFUSED, rows("cut.jpg,0.5,0.5,in,0.1,0.1,0.3,0.3"), None,
         lambda d: truncated_jpeg(d / "cut.jpg"), file="cut.jpg")
    return cases


# --- annotated (vl4gaze annotate output) ------------------------------------------------


def annotated_cases(root: Path, outside: Path) -> list[Case]:
    from vl4gaze.schema import Box, GazeSample, InOut, Person, Point

    cases: list[Case] = []

    def sample(image: str, head: tuple = (0.1, 0.1, 0.3, 0.3)) -> str:
        return GazeSample(image=image, width=64, height=64, source="gazefollow",
                          source_id=f"{image}#0", split="test",
                          person=Person(head=Box(*head), eye=Point(0.2, 0.2)),
                          gaze=(Point(0.6, 0.6),), inout=InOut.IN).to_json()

    def case(name: str, outcome: str, line: str | bytes | None, field_: str | None = None,
             setup: Callable[[Path], None] | None = None, file: str | None = "samples.jsonl",
             check: Callable[[list], bool] | None = None) -> None:
        d = root / f"annotated-{name}"
        jpeg(d / "a.jpg")
        good = sample("a.jpg") + "\n"
        if isinstance(line, bytes):
            write(d / "samples.jsonl", good.encode() + line)
        elif line is not None:
            write(d / "samples.jsonl", good + line + "\n")
        if setup:
            setup(d)
        cases.append(Case("annotated", name, f"annotated:{d}", outcome, field_, file, check))

    case("not-json", REFUSED, "{nope")
    case("validation-error", REFUSED, sample("a.jpg").replace('"split":"test"', '"split":7'))
    case("head-zero-area", REFUSED, sample("a.jpg", (0.2, 0.1, 0.2, 0.3)), "person.head")
    case("image-etc-passwd", REFUSED, sample("/etc/passwd"), "image")
    case("image-dotdot", REFUSED, sample("../outside/x.jpg"), "image")
    case("image-absolute-outside", REFUSED, sample(str(outside / "x.jpg")), "image")
    case("image-escape", REFUSED, sample(f"/{ESC}.jpg"), "image")
    case("deep-nesting", REFUSED, "[" * 100_000)
    case("not-utf8", REFUSED, b'{"image": "\xff"}\n')
    case("line-over-limit", REFUSED, json.dumps({"x": "y" * (1 << 21)}))
    case("bom", ACCEPTED, None, setup=lambda d: write(
        d / "samples.jsonl", ("\ufeff" + sample("a.jpg") + "\n").encode()),
        check=lambda s: len(s) == 1)
    case("relative-inside", ACCEPTED, sample("sub/../a.jpg"),
         check=lambda s: len(s) == 2 and all(x.image.endswith("a.jpg") for x in s))
    case("samples-is-directory", UNUSABLE, None, None, lambda d: (d / "samples.jsonl").mkdir())
    case("samples-symlink-loop", UNUSABLE, None, None, lambda d: loop(d / "samples.jsonl"))
    return cases


KINDS = {"gazefollow": gazefollow_cases, "vat": vat_cases, "childplay": childplay_cases,
         "goo": goo_cases, "gazeworld": gazeworld_cases, "images": images_cases,
         "annotated": annotated_cases}


def make_corpus(root: Path) -> list[Case]:
    """Write every case under ``root`` (and one valid image outside every dataset root,
    which no case may read) and return the cases."""
    root = Path(root)
    outside = root / "outside"
    jpeg(outside / "x.jpg")
    cases: list[Case] = []
    for make in KINDS.values():
        cases.extend(make(root, outside))
    return cases
