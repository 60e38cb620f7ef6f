"""review stage (see DESIGN.md): people accept, fix or reject items; decisions in SQLite.

``create_app`` (the web tool) lives in ``vl4gaze.review.app`` and is imported only when
served, so reading decisions or exporting needs no web framework.
"""

from vl4gaze.review.apply import apply_decisions, export_reviewed, point_fix
from vl4gaze.review.store import STATUSES, Decision, ReviewStore

__all__ = ["STATUSES", "Decision", "ReviewStore", "apply_decisions", "export_reviewed",
           "point_fix"]
