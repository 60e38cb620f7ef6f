"""The bound on the work a parser does per answer.

A model can answer with anything: 100 KB of spaces, digit runs, ``<point`` fragments.
Every parser reads at most the first :data:`MAX_ANSWER_CHARS` characters of an answer
(the rules all prefer what comes first), and every pattern is written so that one scan
is linear in the text it sees (possessive quantifiers, searches that start only at the
first character of a run). The work per answer is therefore bounded by a constant,
whatever its length; ``benchmarks/bench_parsers.py`` measures time against length.
"""

from __future__ import annotations

#: Characters of an answer the parsers read; the rest is ignored. 8,192 characters is
#: about 2,000 tokens, 30x the default ``--max-new-tokens`` of 64.
MAX_ANSWER_CHARS = 8192


def window(text: str) -> str:
    """The part of ``text`` a parser reads: its first :data:`MAX_ANSWER_CHARS` characters."""
    return text[:MAX_ANSWER_CHARS]
