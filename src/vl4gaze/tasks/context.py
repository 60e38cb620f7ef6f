"""What the builder hands a task's item maker beyond one sample.

Most tasks make their items from one person alone (``TaskSpec.make``). Two kinds need
more, and get one of these records:

- ``SampleContext`` (``TaskSpec.make_from``): a task whose items depend on the items the
  other tasks made for the same person, and on the image around it (ambiguity's
  look-alikes copy another task's answer; its absent-person questions borrow a
  description from another image).
- ``PairContext`` (``TaskSpec.make_pair``): a task about two people of the same picture
  (the social tasks): the first person is the one marked red, the second blue.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from vl4gaze.schema import GazeSample
from vl4gaze.tasks.refs import Draft, Options, Ref

#: At most this many pairs of people per image (seeded choice), so crowds do not dominate.
MAX_PAIRS_PER_IMAGE = 6


@dataclass(frozen=True)
class SampleContext:
    """One person's sample, its reference, and what the builder knows around it."""

    sample: GazeSample
    ref: Ref
    options: Options
    #: The sample's Random, already used by the tasks before this one (fixed order).
    rng: random.Random
    #: The drafts the other tasks made for this sample, by task name.
    answers: Mapping[str, Draft]
    #: Descriptions of people in other images, most recent last (computed on demand).
    descriptions_elsewhere: Callable[[], Sequence[str]]
    #: The share of images that also get a question about a person who is not there.
    absent_rate: float
    #: Count a skipped item: ``skip("no_empty_region")`` -> ``task:no_empty_region``.
    skip: Callable[[str], None]


@dataclass(frozen=True)
class PairContext:
    """Two people of one picture (``first.person.index < second.person.index``), the
    build options, and a Random seeded by the task, the build seed and both samples."""

    first: GazeSample
    second: GazeSample
    options: Options
    rng: random.Random
    skip: Callable[[str], None]
