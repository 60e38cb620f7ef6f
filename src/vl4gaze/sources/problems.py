"""Validation problems found while reading a source, and how they are routed.

A reader never crashes on a bad line and never guesses silently: each bad line becomes a
``SourceProblem`` naming the file, line and field. In the default mode the line is skipped
and the problem recorded; in strict mode the first problem raises ``SourceError``.
Rows that the source itself marks invalid (GazeFollow's ``in_or_out = -1``) are recorded
with ``kind="invalid"``: they are part of the published data, not a fault, so strict mode
counts them but does not fail on them. Warnings (``kind="warning"``) flag lines that are
read and kept but look wrong (a value in a column nothing uses, annotator rows that a finer
grouping would split): strict mode records them without failing too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Control characters (C0, DEL, C1) and the bidirectional overrides: text read from an
#: annotation file must not drive the terminal (escape codes, hyperlinks, reordering).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Longest message kept: a hostile field must not flood the terminal.
MAX_MESSAGE = 600


def printable(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    """``text`` with every control character written as an escape (``\\x1b``) and cut to
    ``limit`` characters, so a file's content cannot act on the terminal."""
    if text is None:
        return None
    text = _UNSAFE.sub(lambda m: ascii(m.group())[1:-1], str(text))
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit:,} more characters)"
    return text


#: Problem kinds: a malformed or impossible value (the line is skipped), a row the source
#: marks invalid (skipped), or something odd in a line that is still kept.
ERROR = "error"
INVALID = "invalid"
WARNING = "warning"


@dataclass(frozen=True)
class SourceProblem:
    """One thing wrong with a source file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str | None
    message: str
    kind: str = ERROR

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message}"


class SourceError(ValueError):
    """A source file is malformed; ``problem`` says where (file, line, field)."""

    def __init__(self, problem: SourceProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ProblemLog:
    """Routes a reader's problems: raise at once (strict) or append to ``problems``."""

    def __init__(self, strict: bool = False, problems: list[SourceProblem] | None = None):
        self.strict = strict
        self.problems = problems

    def add(
        self,
        file: str,
        line: int | None,
        field: str | None,
        message: str,
        kind: str = ERROR,
    ) -> None:
        problem = SourceProblem(printable(str(file)) or "", line, printable(field, 120),
                                printable(message) or "", kind)
        if self.strict and kind == ERROR:
            raise SourceError(problem)
        if self.problems is not None:
            self.problems.append(problem)
