"""The build's options as one validated record (``vl4gaze build`` fills it; the manifest
is its serialisation)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vl4gaze.geometry import POINT_FORMATS

#: How a build writes images: copies or hard links, symlinks, or a plan only.
IMAGE_MODES = ("write", "link", "none")


@dataclass(frozen=True)
class BuildConfig:
    """What a benchmark is built with; the same record and inputs give the same bytes."""

    seed: int = field(default=0, metadata={
        "help": "Seed of every template choice and selection."})
    person_ref: str = field(default="box", metadata={
        "help": "How questions single out a person: box, coords or text."})
    point_format: str = field(default="norm", metadata={
        "help": "How answers write points: norm, norm1000 or pixel."})
    ambiguity_ratio: float = field(default=0.5, metadata={
        "help": "Share of ambiguity items that are unanswerable."})
    caps: dict[str, int] | None = field(default=None, metadata={
        "help": "At most this many items per task and split."})
    balance_directions: bool = field(default=False, metadata={
        "help": "Keep equal counts of every direction class."})
    absent_rate: float = field(default=0.25, metadata={
        "help": "Share of images that also get a question about a person not there."})
    images: str = field(default="write", metadata={
        "help": "write (copy or hard link), link (symlink) or none (plan only)."})
    tasks: tuple[str, ...] | str | None = field(default=None, metadata={
        "help": "Tasks and groups to build (paper: the VL4Gaze four; social; all)."})

    def __post_init__(self) -> None:
        from vl4gaze.tasks import registry

        if self.person_ref not in ("box", "coords", "text"):
            raise ValueError(f"person_ref={self.person_ref!r}: expected box, coords or text")
        if self.point_format not in POINT_FORMATS:
            raise ValueError(f"point_format={self.point_format!r}: expected one of "
                             f"{', '.join(POINT_FORMATS)}")
        if not 0 < self.ambiguity_ratio <= 1:
            raise ValueError(f"ambiguity_ratio={self.ambiguity_ratio!r} must be in (0, 1]")
        if not 0 <= self.absent_rate <= 1:
            raise ValueError(f"absent_rate={self.absent_rate!r} must be in [0, 1]")
        if self.images not in IMAGE_MODES:
            raise ValueError(f"images={self.images!r}: expected one of {', '.join(IMAGE_MODES)}")
        known = registry.task_names()
        for task, cap in (self.caps or {}).items():
            if task not in known or cap < 0:
                raise ValueError(f"cap {task}={cap!r}: task must be one of {', '.join(known)} "
                                 "and the cap >= 0")
        # Normalized: task names in report order (groups expanded).
        object.__setattr__(self, "tasks", registry.select(self.tasks))
