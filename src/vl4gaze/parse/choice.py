"""Read a yes/no answer, or which of two people an answer names.

Yes / no (``parse_yes_no``), on the lower-cased first
``vl4gaze.parse.limits.MAX_ANSWER_CHARS`` characters, first rule that fires:

==================  ====================================================  ========
rule                fires when                                            reads
==================  ====================================================  ========
``leading``         the answer starts with yes / yeah / yep / correct /   yes
                    true, or with no / nope / not / false                 no
``word``            the first stand-alone "yes" or "no" in the answer     that
``negation``        "not", "n't", "neither", "nobody", "no one" occur     no
                    with no yes/no word
(None)              nothing of the above: unparsed                        None
==================  ====================================================  ========

Whom (``parse_whom``): the first of these to appear decides, ``nobody`` for "nobody",
"no one", "none", "no person", "not looking at anyone / anybody / any person" and
"nothing"; ``other`` for the second person's marker colour ("blue"), "the other person",
"the second person" or the second person's own phrase as the question gave it. Neither:
unparsed (None).

>>> parse_yes_no("Yes, they are.").value, parse_yes_no("They are not.").value
('yes', 'no')
>>> parse_whom("The person in the blue box.", "the person in the blue box").value
'other'
>>> parse_whom("Nobody in the image.", "the person in the blue box").value
'nobody'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vl4gaze.parse.limits import window
from vl4gaze.tasks.refs import MARKERS

_LEADING = re.compile(r"^\W*(yes|yeah|yep|correct|true|no|nope|not|false)\b")
_WORD = re.compile(r"\b(yes|no)\b")
_NEGATION = re.compile(r"\bnot\b|n't\b|\bneither\b|\bnobody\b|\bno one\b")
_YES = {"yes", "yeah", "yep", "correct", "true"}

_NOBODY = re.compile(r"\bnobody\b|\bno ?one\b|\bno-one\b|\bnone\b|\bno (?:person|people)\b"
                     r"|\bnot (?:looking at )?(?:anyone|anybody|any person|any of)\b"
                     r"|\bnothing\b")
_OTHER_WORDS = (rf"\b{MARKERS[1].name}\b", r"\bthe other (?:person|one)\b",
                r"\bthe second person\b")


@dataclass(frozen=True)
class Choice:
    """What an answer chose and the rule that read it."""

    value: str
    rule: str


def _text(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    return window(text).lower().replace("\u2019", "'")


def parse_yes_no(text: object) -> Choice | None:
    """``yes`` / ``no`` by the rule table above; None when the answer says neither."""
    low = _text(text)
    if low is None:
        return None
    lead = _LEADING.match(low)
    if lead:
        return Choice("yes" if lead.group(1) in _YES else "no", "leading")
    word = _WORD.search(low)
    if word:
        return Choice(word.group(1), "word")
    if _NEGATION.search(low):
        return Choice("no", "negation")
    return None


def parse_whom(text: object, other_phrase: str) -> Choice | None:
    """``other`` (the second person) or ``nobody``, whichever the answer names first."""
    low = _text(text)
    if low is None:
        return None
    phrase = " ".join(other_phrase.lower().split())
    patterns = [*_OTHER_WORDS, re.escape(phrase)] if phrase else list(_OTHER_WORDS)
    other = [m.start() for p in patterns if (m := re.search(p, low))]
    nobody = _NOBODY.search(low)
    first_other = min(other) if other else None
    if nobody is not None and (first_other is None or nobody.start() < first_other):
        return Choice("nobody", "names_nobody")
    if first_other is not None:
        return Choice("other", "names_other")
    return None
