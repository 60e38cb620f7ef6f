"""The one machine-readable line a side-by-side benchmark prints, and its reader.

``RATIO name=NAME value=X note=...``: X is vl4gaze's figure over the other side's (or a
goal's), ``skipped`` when the comparison could not run (the note says why). ``run_all.py``
collects these lines into its table of ratios.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"^RATIO name=(\S+) value=(\S+)(?: note=(.*))?$")


def ratio_line(name: str, value: float | None, note: str = "") -> str:
    """The line for one comparison; ``value=None`` marks it skipped."""
    shown = "skipped" if value is None else f"{value:.4g}"
    return f"RATIO name={name} value={shown}" + (f" note={note}" if note else "")


def parse_ratios(text: str) -> list[tuple[str, float | None, str]]:
    """Every ``(name, value or None when skipped, note)`` in a script's output, in order."""
    found = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            name, value, note = match.groups()
            found.append((name, None if value == "skipped" else float(value), note or ""))
    return found
