"""Helpers shared by the dataset readers: safe file and image reads, numbers, range checks.

Everything a reader opens goes through here so that every way a file can be broken (a
directory where a file belongs, a symlink loop, no read permission, bytes that are not
UTF-8, a field of 200,000 characters, an image header declaring 30000x30000 pixels, a path
that leaves the dataset root) becomes one ``SourceProblem`` naming file, line and field,
never a traceback and never a silent "no file".
"""

from __future__ import annotations

import codecs
import csv
import errno
import math
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

from PIL import Image

from vl4gaze.schema import Box, Point, trusted
from vl4gaze.sources.problems import ProblemLog

#: How far outside the image (as a fraction of its side) a coordinate may lie before it
#: is reported as impossible; anything nearer is annotation noise and clipped.
FAR_OUT = 0.1

#: The longest physical line and the longest field an annotation file may hold. The
#: longest real line (a GazeFollow train row) is ~200 characters; Python's csv module
#: raises at 131,072 characters per field, so longer lines are refused before it sees them.
MAX_LINE = 65_536
MAX_FIELD = 4_096
#: JSON Lines files (GazeWorld scenes, annotated samples) hold one record a line: longer.
MAX_JSON_LINE = 1 << 20
#: After this many undecodable lines a file is taken as not text at all (a binary file).
MAX_BAD_LINES = 5

#: The most pixels an image may declare: PIL's decompression-bomb threshold
#: (``Image.MAX_IMAGE_PIXELS``, 89,478,485 px, ~256 MiB decoded as RGB). A header
#: declaring more (a 30000x30000 "bomb" is 900 Mpx) is refused before any pixel is decoded.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485

#: ``image_size(path) -> (width, height)``; raises OSError when the image is missing or
#: unreadable. Readers take one as an option so benchmarks and tests can skip the files.
ImageSizeFn = Callable[[str], tuple[int, int]]


class BadImage(OSError):
    """An image that exists but cannot be used: not an image, too large, truncated."""


def _open_image(path: str) -> Image.Image:
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise BadImage(f"{error} (vl4gaze refuses images over {MAX_PIXELS:,} pixels)") from None
    except (ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError) as error:
        raise BadImage(f"not a readable image ({type(error).__name__}: {error})") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        image.close()
        raise BadImage(f"declares {width}x{height} pixels: more than the {MAX_PIXELS:,} "
                       "allowed (PIL's decompression-bomb limit) or none at all")
    return image


@lru_cache(maxsize=1 << 18)
def image_size(path: str) -> tuple[int, int]:
    """Width and height from the image header only (PIL decodes no pixels); cached.

    Raises OSError (``BadImage`` for a file that is not a usable image, including a header
    over MAX_PIXELS)."""
    with _open_image(path) as image:
        return image.size


def load_image(path: str) -> Image.Image:
    """Open and fully decode an image (size-bounded by MAX_PIXELS): a truncated or corrupt
    file raises ``BadImage`` here, where it is read, not later in a writer thread."""
    image = _open_image(path)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as error:
        image.close()
        raise BadImage(f"cannot be decoded ({type(error).__name__}: {error})") from None
    return image


def size_problem(path: str, error: OSError) -> str:
    """A short message for an image that could not be opened."""
    if isinstance(error, FileNotFoundError):
        return f"image not found: {path}"
    if isinstance(error, IsADirectoryError):
        return f"image path is a directory: {path}"
    if isinstance(error, PermissionError):
        return f"image cannot be read (permission denied): {path}"
    if getattr(error, "errno", None) == errno.ELOOP:
        return f"image path is a symlink loop: {path}"
    if isinstance(error, BadImage):
        return f"image unusable: {path}: {error}"
    return f"image cannot be read: {path} ({error.__class__.__name__}: {error})"


def to_float(text: str) -> float:
    """Parse a number, rejecting NaN and infinities (they are never valid coordinates)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def far_out(value: float, extent: float = 1.0) -> bool:
    """Whether ``value`` lies further than FAR_OUT outside [0, extent]."""
    return value < -FAR_OUT * extent or value > (1 + FAR_OUT) * extent


def clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def clipped_point(x: float, y: float) -> Point:
    """A Point of two numbers clipped to [0, 1]: valid by construction, so built without
    re-validation (``schema.trusted``; readers build hundreds of thousands of them)."""
    return trusted(Point, x=clip01(float(x)), y=clip01(float(y)))


def clipped_box(x1: float, y1: float, x2: float, y2: float, width: float = 1.0,
                height: float = 1.0) -> Box:
    """The Box of two corners in a ``width`` x ``height`` frame (pixels; 1 x 1: already
    normalized): corners put in order, then normalized and clipped, so valid by
    construction and built without re-validation (equal to ``geometry.box_from_pixels``)."""
    x1, x2 = sorted((float(x1), float(x2)))
    y1, y2 = sorted((float(y1), float(y2)))
    return trusted(Box, x1=clip01(x1 / width), y1=clip01(y1 / height),
                   x2=clip01(x2 / width), y2=clip01(y2 / height))


def no_area(box: Box) -> bool:
    """A head box that is a line or a point once clipped: no person has one."""
    return box.x2 <= box.x1 or box.y2 <= box.y1


def area_message(box: Box, width: int | None = None, height: int | None = None) -> str:
    where = f" once clipped to the {width}x{height} image" if width and height else ""
    return (f"head box has no area{where} (normalized x {box.x1:.4g}..{box.x2:.4g}, "
            f"y {box.y1:.4g}..{box.y2:.4g})")


# --- files -----------------------------------------------------------------------------


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as a regular file (None when it can; "missing" when
    nothing is there). A directory, a symlink loop, a dangling link, a device or an
    unreadable file each get their own message."""
    path = os.fspath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "dangling symlink" if os.path.islink(path) else "missing"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symlink loop"
        return f"cannot be examined ({error.strerror or error})"
    if stat.S_ISDIR(info.st_mode):
        return "a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    return None


def check_file(path: str | os.PathLike, log: ProblemLog, *, required: bool = True,
               what: str = "annotation file") -> bool:
    """Whether ``path`` is a readable regular file; else record why (a missing file only
    when ``required``) and return False."""
    why = file_problem(path)
    if why is None:
        return True
    if why != "missing" or required:
        log.add(str(path), None, None, f"{what} is {why}" if why != "missing"
                else f"{what} not found")
    return False


def exists_at_all(path: str | os.PathLike) -> bool:
    """Something (a file, a directory, a loop, a dangling link) is at ``path``."""
    return os.path.lexists(os.fspath(path))


def text_lines(path: str | os.PathLike, log: ProblemLog, max_line: int = MAX_LINE
               ) -> Iterator[str]:
    """The lines of a UTF-8 text file (a BOM accepted), one string per physical line.

    A line that is not UTF-8 or is longer than MAX_LINE is reported with its number and
    replaced by an empty line (so line numbers stay right); after MAX_BAD_LINES such lines
    the file is reported as not UTF-8 text and reading stops. ``max_line`` is in bytes.
    Opening errors (permission, a directory, ...) are reported, never raised."""
    name = os.fspath(path)
    bad = 0
    try:
        handle = open(name, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        log.add(name, None, None, f"cannot open: {error.strerror or error}")
        return
    with handle:
        number = 0
        while True:
            try:
                raw = handle.readline(max_line + 1)
            except OSError as error:
                log.add(name, number + 1, None, f"read failed: {error.strerror or error}")
                return
            if not raw:
                return
            number += 1
            if len(raw) > max_line and not raw.endswith(b"\n"):
                bad += 1
                log.add(name, number, None, f"line longer than {max_line:,} bytes; skipped")
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                    raw = handle.readline(max_line + 1)
                text = "\n"
            else:
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8):]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    bad += 1
                    log.add(name, number, None,
                            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column "
                            f"{error.start + 1}); line skipped")
                    text = "\n"
                else:
                    if "\x00" in text:
                        bad += 1
                        log.add(name, number, None, "holds a NUL byte (a binary file?); "
                                "line skipped")
                        text = "\n"
            if bad >= MAX_BAD_LINES:
                log.add(name, number, None, f"{bad} unreadable lines: not a UTF-8 text "
                        "file; the rest of it is not read")
                return
            yield text


def csv_rows(path: str | os.PathLike, log: ProblemLog,
             lines: Iterable[str] | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a comma-separated UTF-8 file, through ``text_lines``.

    A record the csv module cannot parse, or with a field longer than MAX_FIELD, is
    reported with its line and skipped."""
    name = os.fspath(path)
    reader = csv.reader(text_lines(name, log) if lines is None else lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            log.add(name, reader.line_num, None, f"not parseable as CSV: {error}")
            continue
        line = reader.line_num
        if row and max(map(len, row)) > MAX_FIELD:
            long = next(i for i, value in enumerate(row) if len(value) > MAX_FIELD)
            log.add(name, line, None, f"field {long + 1} is {len(row[long]):,} characters "
                    f"long (at most {MAX_FIELD:,}); line skipped")
            continue
        yield line, row


def json_line(text: str) -> object:
    """``json.loads`` that turns every way a line can fail (bad syntax, nesting deeper than
    the parser's recursion limit, an integer of 5,000 digits) into ValueError."""
    import json

    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} (line {error.lineno}, column "
                         f"{error.colno})") from None


def inside_root(root: str, relative: str, *, allow_outside: bool = False) -> str | None:
    """``relative`` (a path read from an annotation file) joined to ``root``, or None when
    it leaves the root (an absolute path, ``..``) and ``allow_outside`` is off.

    The check is lexical (``os.path.normpath``): a symlink the dataset itself holds may
    point elsewhere (image folders on another disk), a path written in a file may not."""
    if os.path.isabs(relative) or relative.startswith("\\"):
        return os.path.normpath(relative) if allow_outside else None
    if ".." not in relative:  # the common case, without normpath per row
        return os.path.join(root, relative)
    root = os.path.abspath(root)
    joined = os.path.normpath(os.path.join(root, relative))
    if allow_outside:
        return joined
    if os.path.commonpath([root, joined]) != root:
        return None
    return joined


def outside_message(relative: str, root: str) -> str:
    return (f"path {relative!r} leaves the dataset root {root}; refused (pass "
            "--allow-outside-root to follow it)")
