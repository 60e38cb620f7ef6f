"""Which modules LoRA adapts, per architecture.

A VLM is a vision tower, a projector and a language model. PEFT's ``"all-linear"`` would
adapt all three, and plain suffix lists (``q_proj``...) also hit vision towers that reuse
those names (CLIP, SigLIP, Qwen2.5-VL's ``mlp.gate_proj``). So the linear layers are split
into groups by where they sit, and a regex naming exactly the wanted groups is built.
"""

from __future__ import annotations

import re
from typing import Any

#: Module names under which a vision encoder lives (LLaVA, Qwen2/2.5-VL, Idefics3/SmolVLM,
#: PaliGemma, Gemma3, Mllama, InternVL...).
VISION_ROOTS = ("vision_tower", "visual", "vision_model", "vision_encoder", "image_encoder",
                "vision_backbone", "vision")
#: Module names of the vision-to-language projector (checked before the vision roots, since
#: Qwen's ``merger`` sits inside ``visual``).
#: Qwen3-VL's ``deepstack_merger_list`` (one merger per deepstack layer) is a projector too.
PROJECTOR_ROOTS = ("multi_modal_projector", "mm_projector", "connector", "merger",
                   "image_projection", "vision_proj", "multi_modal_projector_linear",
                   "deepstack_merger_list")
HEAD_NAMES = ("lm_head", "embed_out", "output")


def _group_of(name: str) -> tuple[str, str]:
    """(group, root prefix) of a module name: group is vision, projector, head or language."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part in PROJECTOR_ROOTS:
            return "projector", ".".join(parts[: i + 1])
    for i, part in enumerate(parts):
        if part in VISION_ROOTS:
            return "vision", ".".join(parts[: i + 1])
    if parts[-1] in HEAD_NAMES and len(parts) <= 3:
        return "head", name
    # The language model's root is what comes before its repeated blocks.
    for i, part in enumerate(parts):
        if part in ("layers", "h", "blocks", "layer") and i + 1 < len(parts) \
                and parts[i + 1].isdigit():
            return "language", ".".join(parts[:i])
    return "language", ".".join(parts[:-1])


def linear_groups(model: Any) -> dict[str, list[str]]:
    """Names of the model's linear layers, grouped as vision / projector / language / head."""
    import torch

    groups: dict[str, list[str]] = {"vision": [], "projector": [], "language": [], "head": []}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            groups[_group_of(name)[0]].append(name)
    return groups


def _regex_for(names: list[str]) -> str:
    """A compact regex matching exactly ``names``: ``^(roots)\\.(.*\\.)?(leaves)$``."""
    roots = sorted({_group_of(n)[1] for n in names})
    leaves = sorted({n.rsplit(".", 1)[-1] for n in names})
    return (r"^(?:" + "|".join(re.escape(r) for r in roots) + r")\.(?:.*\.)?(?:"
            + "|".join(re.escape(leaf) for leaf in leaves) + r")$")


def lora_target_modules(model: Any, *, unfreeze_vision: bool = False) -> str | list[str]:
    """LoRA targets: every linear layer of the language model (and of the vision tower when
    ``unfreeze_vision``), never the head or projector (those are trained whole when wanted).

    Returns a regex (PEFT full-matches it against module names) or, when no compact regex is
    exact for this architecture, the explicit list of module names.
    """
    groups = linear_groups(model)
    wanted = list(groups["language"]) + (list(groups["vision"]) if unfreeze_vision else [])
    if not groups["language"]:
        raise ValueError(f"no linear layers found in the language model of "
                         f"{type(model).__name__}; cannot choose LoRA targets")
    pattern = _regex_for(wanted)
    everything = [n for g in groups.values() for n in g]
    if {n for n in everything if re.fullmatch(pattern, n)} == set(wanted):
        return pattern
    return sorted(wanted)


def projector_modules(model: Any) -> list[str]:
    """Names (as PEFT's ``modules_to_save`` suffixes) of every projector module, trained whole
    with LoRA as LLaVA does.

    Found by module name, not by its linear layers: Gemma 3's projector is a bare
    ``nn.Parameter`` plus a norm (no ``nn.Linear``), and a module list such as Qwen3-VL's
    deepstack mergers is named by its members (PEFT cannot wrap a list)."""
    import torch

    names: set[str] = set()
    for name, module in model.named_modules():
        parts = name.split(".")
        if parts[-1] not in PROJECTOR_ROOTS or any(p in PROJECTOR_ROOTS for p in parts[:-1]):
            continue
        if not any(True for _ in module.parameters()):
            continue
        if isinstance(module, torch.nn.ModuleList):
            names.update(f"{parts[-1]}.{i}" for i in range(len(module)))
        else:
            names.add(parts[-1])
    return sorted(names)


def make_lora_config(
    model: Any,
    *,
    rank: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    unfreeze_vision: bool = False,
    train_head: bool = False,
    train_projector: bool = True,
) -> Any:
    """A ``peft.LoraConfig`` for ``model``: LoRA on the language model, projector (and head
    for random models, whose frozen random head would cap the logits) trained whole."""
    from peft import LoraConfig

    save = projector_modules(model) if train_projector else []
    if train_head:
        save += [n.rsplit(".", 1)[-1] for n in linear_groups(model)["head"]]
    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=lora_target_modules(model, unfreeze_vision=unfreeze_vision),
        modules_to_save=save or None,
        task_type="CAUSAL_LM",
    )


def freeze_vision(model: Any) -> int:
    """Freeze the vision tower's parameters for full fine-tuning; returns how many."""
    count = 0
    for name, param in model.named_parameters():
        if _group_of(name.rsplit(".", 1)[0])[0] == "vision":
            param.requires_grad_(False)
            count += param.numel()
    return count
