"""The four VL4Gaze tasks: question templates, canonical answers, when a sample yields one.

One module per task (``object``, ``direction``, ``point``, ``ambiguity``); ``refs`` holds
what they share (person references, point formats, the seeded template choice).
"""

from vl4gaze.tasks.refs import Draft, Options, Ref, Template

__all__ = ["Draft", "Options", "Ref", "Template"]
