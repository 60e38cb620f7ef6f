"""Two helpers for the stage config records (``RunConfig``, ``TrainConfig``, ``ReportConfig``).

Each record is a frozen dataclass whose fields carry their help text (TRL's ``SFTConfig``
style), so the command line shows the same words as the library's docs. ``record=False``
marks a field that changes how a stage runs but not what it produces (progress, executor):
it is left out of the stage's config.json.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def option(default: Any = dataclasses.MISSING, *, help: str, record: bool = True,
           default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its help text (``metadata["help"]``)."""
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"help": help, "record": record})


def help_of(config: type, name: str) -> str:
    """The help text of one field of a config record (the CLI's option help)."""
    return config.__dataclass_fields__[name].metadata["help"]


def recorded(config: Any) -> dict[str, Any]:
    """The fields of a record that its stage writes down, by name."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if f.metadata.get("record", True)}
