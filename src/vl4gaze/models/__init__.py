"""Model back ends behind one protocol (``base.Model``), chosen by a spec string.

``load_model(spec, **options)`` understands ``hf:NAME_OR_PATH``, ``openai:MODEL``,
``vllm:NAME_OR_PATH``, ``baseline:NAME``, ``tiny`` (the offline random LLaVA, built
once into the cache) and ``tiny-gaze`` (the same with a GazeWorld-pretrained vision
tower). The run's context (``bench``, ``seed``) may be passed to any back end and
is ignored where unused; None values are dropped; any other option a back end does not
take is refused with the list of those it does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vl4gaze.models.base import (
    BackendError,
    FatalBackendError,
    HeatmapModel,
    Model,
    PartialBatchError,
    Request,
)
from vl4gaze.models.tiny import TINY_KINDS

__all__ = [
    "SPEC_FORMS",
    "BackendError",
    "FatalBackendError",
    "HeatmapModel",
    "Model",
    "PartialBatchError",
    "Request",
    "load_model",
]

SPEC_FORMS = ("hf:NAME_OR_PATH, openai:MODEL, vllm:NAME_OR_PATH, baseline:NAME, tiny[:SEED], "
              "tiny-gaze[:SEED]")


def check_local_path(spec: str, name: str) -> None:
    """A NAME written as a path (``./ckpt``, ``../x``, ``/abs``, ``~/x``) must exist:
    otherwise transformers would send it to the hub as a repository id."""
    if name.startswith(("./", "../", "/", "~", ".\\")) and not Path(name).expanduser().exists():
        raise FileNotFoundError(f"{spec}: no such model directory {name!r}")


def _hf(name: str, **options: Any) -> Model:
    from vl4gaze.models.hf import HFModel

    check_local_path(f"hf:{name}", name)
    return _call(HFModel, name, options)


def _tiny(arg: str, *, kind: str = "tiny", **options: Any) -> Model:
    """``tiny`` is the seed-0 tiny LLaVA, ``tiny:SEED`` another one (not the run's --seed);
    ``tiny-gaze[:SEED]`` the same with a GazeWorld-pretrained vision tower."""
    from vl4gaze.models.hf import HFModel
    from vl4gaze.models.tiny import tiny_spec_path

    options["name"] = kind if not arg else f"{kind}:{arg}"
    return _call(HFModel, str(tiny_spec_path(options["name"])), options)


def _tiny_gaze(arg: str, **options: Any) -> Model:
    return _tiny(arg, kind="tiny-gaze", **options)


def _openai(name: str, **options: Any) -> Model:
    from vl4gaze.models.openai_api import OpenAIModel

    return _call(OpenAIModel, name, options)


def _vllm(name: str, **options: Any) -> Model:
    check_local_path(f"vllm:{name}", name)
    from vl4gaze.models.vllm import VLLMModel

    return _call(VLLMModel, name, options)


def _baseline(name: str, **options: Any) -> Model:
    from vl4gaze.models.baselines import make_baseline

    return _call(make_baseline, name, options)


_FACTORIES: dict[str, Callable[..., Model]] = {
    "hf": _hf,
    "openai": _openai,
    "vllm": _vllm,
    "baseline": _baseline,
    "tiny": _tiny,
    "tiny-gaze": _tiny_gaze,
}


#: Options every caller may pass whatever the back end (the run's context); a back end
#: that has no use for one ignores it. Any other option a back end does not take is an error.
CONTEXT_OPTIONS = frozenset({"bench", "seed"})


def _call(factory: Callable[..., Any], arg: str, options: dict[str, Any]) -> Any:
    """Call ``factory(arg, **options)``; context options it does not take are left out,
    any other unknown option is refused (a typo must not be dropped silently)."""
    params = inspect.signature(factory).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return factory(arg, **options)
    unknown = sorted(set(options) - set(params) - CONTEXT_OPTIONS)
    if unknown:
        takes = sorted(k for k, p in params.items() if p.kind is p.KEYWORD_ONLY)
        raise ValueError(f"{factory.__name__} ({arg}) does not take the option(s) "
                         f"{', '.join(unknown)}; it takes {', '.join(takes) or 'none'}")
    return factory(arg, **{k: v for k, v in options.items() if k in params})


def load_model(spec: str, **options: Any) -> Model:
    """The back end named by ``spec`` (see :data:`SPEC_FORMS`), configured by ``options``."""
    kind, _, arg = spec.partition(":")
    if kind not in _FACTORIES:
        raise ValueError(f"unknown model spec {spec!r}; expected one of {SPEC_FORMS}")
    if kind not in TINY_KINDS and not arg:
        raise ValueError(f"model spec {spec!r} lacks a name after '{kind}:'")
    options = {k: (Path(v) if k == "bench" else v) for k, v in options.items() if v is not None}
    return _FACTORIES[kind](arg, **options)
