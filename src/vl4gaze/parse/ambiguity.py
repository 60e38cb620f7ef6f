"""Decide whether an answer declines (flags the question as unanswerable) and why.

An answer *declines* when it says the question cannot be answered ("cannot be
determined", "it is unclear", "impossible to tell", "I don't know") or names a reason
the gaze cannot be read (several people and no way to tell which, the gaze leaves the
frame, the eyes are closed or hidden, the person asked about is not there). Anything
else counts as an attempt to answer. The reason is one of
``vl4gaze.schema.AmbiguityReason`` (the one whose phrase comes first in the answer),
or None.

Phrases are matched on the lower-cased answer with straight apostrophes; the canonical
answers of ``vl4gaze.tasks.ambiguity`` all parse to their own reason. Only the first
``vl4gaze.parse.limits.MAX_ANSWER_CHARS`` characters are read (bounded time per answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vl4gaze.parse.limits import window
from vl4gaze.schema import AmbiguityReason

_DECLINE = re.compile(
    r"cannot be (?:answered|determined|known|told|said|seen|identified|established)"
    r"|can ?not (?:tell|determine|say|know|answer|identify|see)"
    r"|can't (?:tell|determine|say|know|answer|identify|see|be)"
    r"|could ?n[o']t (?:tell|determine|say|be determined|identify)"
    r"|(?:unable|impossible|not possible|no way) to (?:tell|determine|say|know|answer|identify)"
    r"|(?:is|it's|remains) (?:unclear|ambiguous|not clear|uncertain|undeterminable)"
    r"|\bunclear\b|\bambiguous\b|\bambiguity\b|not enough information|insufficient information"
    r"|(?:i )?(?:do not|don't) know|not sure|unanswerable|not answerable"
    r"|not specified|doesn't specify|does not specify|not (?:be )?possible to answer"
)
_REASONS: tuple[tuple[AmbiguityReason, re.Pattern[str]], ...] = (
    (AmbiguityReason.PERSON_ABSENT, re.compile(
        r"there (?:is|are) no (?:such )?(?:person|people|one|man|woman|child|boy|girl|human"
        r"|individual|face|head)"
        r"|no (?:person|one|people|human|individual) (?:is )?(?:in|at|inside|matching|matches"
        r"|fits|wearing|visible in the (?:red )?box)"
        r"|nobody (?:is )?(?:in|at|matching|there)|\bno such person|does not exist|doesn't exist"
        r"|(?:box|region|area|position) (?:is empty|contains no|has no|does not contain"
        r"|doesn't contain)"
        r"|(?:cannot|can't|could not|couldn't) (?:find|see|locate) (?:a|any|the) "
        r"(?:person|man|woman|child|one)"
        r"|(?:person|man|woman|child) (?:is )?not (?:present|in the image|in the picture)")),
    (AmbiguityReason.UNSPECIFIED_PERSON, re.compile(
        r"which (?:person|one|individual|man|woman|child|of the)"
        r"|(?:several|multiple|more than one|various) "
        r"(?:people|persons?|individuals?|men|women|children|kids|faces|figures)"
        r"|(?:not|doesn't|does not|isn't) (?:say|specify|clear|indicate|specified)"
        r" (?:which|who)|unclear (?:who|which)")),
    (AmbiguityReason.GAZE_OUT_OF_FRAME, re.compile(
        r"out(?:side)? (?:of )?(?:the )?(?:frame|image|picture|photo|view|shot|field of view)"
        r"|off[ -]?(?:screen|frame|camera|image)|beyond the (?:frame|image|edge|picture)"
        r"|not (?:in|within|inside) the (?:frame|image|picture|photo)"
        r"|leaves? the (?:frame|image|picture)|not (?:shown|visible) in the (?:image|picture)")),
    (AmbiguityReason.EYES_NOT_VISIBLE, re.compile(
        r"eyes? (?:are |is )?(?:closed|shut|hidden|covered|obscured|not visible|invisible"
        r"|cannot be seen|can't be seen|not shown)"
        r"|face (?:is )?(?:turned away|hidden|covered|obscured|not visible|away)"
        r"|(?:back|head) (?:is )?(?:turned )?(?:to|towards|toward) the (?:camera|viewer)"
        r"|from behind|sunglasses|hidden from view|cannot be made out|can't be made out"
        r"|gaze (?:is )?(?:not visible|hidden|unreadable)")),
)


@dataclass(frozen=True)
class ParsedAmbiguity:
    """Whether an answer declines, the reason it gives, and the rule that decided."""

    declines: bool
    reason: str | None
    rule: str


def parse_ambiguity(text: str) -> ParsedAmbiguity:
    """Read an answer's stance. Never raises; a non-string or empty answer answers nothing.

    >>> parse_ambiguity("It cannot be answered: the person's eyes are closed.")
    ParsedAmbiguity(declines=True, reason='eyes_not_visible', rule='decline+reason')
    >>> parse_ambiguity("The person is looking at the red mug.").declines
    False
    """
    if not isinstance(text, str) or not text.strip():
        return ParsedAmbiguity(False, None, "empty")
    s = window(text).lower().replace("’", "'")
    s = re.sub(r"\s+", " ", s)
    reason = _reason(s)
    decline = _DECLINE.search(s) is not None
    if decline and reason:
        return ParsedAmbiguity(True, reason, "decline+reason")
    if decline:
        return ParsedAmbiguity(True, None, "decline")
    if reason:
        return ParsedAmbiguity(True, reason, "reason")
    return ParsedAmbiguity(False, None, "answer")


def _reason(s: str) -> str | None:
    best: tuple[int, str] | None = None
    for reason, pattern in _REASONS:
        m = pattern.search(s)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), reason.value)
    return best[1] if best else None
