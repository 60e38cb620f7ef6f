"""``TrainConfig``: every option of a fine-tuning run as one frozen, validated record.

``vl4gaze train`` fills it from its options and :func:`vl4gaze.train.sft.train` takes it;
``OUT/vl4gaze_train.json`` records it (with the values it resolved: the learning rate,
whether the vision tower trained). Light on purpose: the CLI imports it for its help text
without loading torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vl4gaze.config_fields import help_of, option

#: How the loss is averaged (vl4gaze.train.loss.LOSS_PER; a test keeps the two equal).
LOSS_PER = ("token", "example")


@dataclass(frozen=True)
class TrainConfig:
    """How to fine-tune one model on a benchmark's training split (``vl4gaze train``)."""

    model: str = option(help="hf:NAME_OR_PATH | tiny[:SEED] | tiny-gaze[:SEED]")
    lora: bool = option(True, help="LoRA (default) or full fine-tuning.")
    epochs: float = option(1.0, help="Passes over the training items.")
    max_steps: int | None = option(None, help="Stop after N optimizer steps (overrides "
                                              "epochs).")
    lr: float | None = option(None, help="Learning rate (default: 2e-4 LoRA, 1e-5 full; "
                                         "2e-3/1e-3 for tiny).")
    batch_size: int = option(8, help="Examples per device per step.")
    grad_accum: int = option(1, help="Gradient accumulation steps.")
    max_length: int | None = option(None, help="Truncate to N tokens (error if an answer "
                                               "would be lost).")
    seed: int = option(0, help="Random seed: same seed, same output.")
    task_mix: Mapping[str, float] | None = option(
        None, help="Task ratios, e.g. direction=2,point=1,object=1.")
    merge: bool = option(True, help="Merge LoRA into a standalone model, or save the "
                                    "adapter only.")
    unfreeze_vision: bool = option(False, help="Train the vision tower too.")
    resume: bool = option(False, record=False,
                          help="Continue from the last checkpoint in OUT/checkpoints.")
    lora_rank: int = option(16, help="LoRA rank (alpha is twice the rank).")
    group_by_length: bool = option(False, help="Batch examples of similar length.")
    gradient_checkpointing: bool | None = option(
        None, help="Recompute activations to save memory (default: on CUDA, for real "
                   "checkpoints).")
    save_steps: int = option(200, record=False, help="Save a checkpoint every N steps.")
    logging_steps: int = option(10, record=False, help="Log the loss every N steps.")
    deepspeed: str | None = option(None, record=False,
                                   help="DeepSpeed config JSON (under accelerate launch).")
    loss_per: str = option("token", help="Average the loss per answer 'token' (TRL's "
                                         "default) or per 'example'.")

    def __post_init__(self) -> None:
        from vl4gaze.train.data import check_task_mix, parse_task_mix

        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model={self.model!r}: give hf:NAME_OR_PATH or tiny")
        if isinstance(self.task_mix, str):
            object.__setattr__(self, "task_mix", parse_task_mix(self.task_mix))
        elif self.task_mix is not None:
            object.__setattr__(self, "task_mix", check_task_mix(dict(self.task_mix)))
        if not self.epochs > 0:
            raise ValueError(f"epochs={self.epochs!r} must be > 0")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} must be > 0 (or None: the default)")
        for name in ("batch_size", "grad_accum", "lora_rank", "save_steps", "logging_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        for name in ("max_steps", "max_length"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r} must be an integer >= 1 (or None)")
        if self.loss_per not in LOSS_PER:
            raise ValueError(f"loss_per={self.loss_per!r}: expected one of "
                             f"{', '.join(LOSS_PER)}")


def train_help(name: str) -> str:
    """A TrainConfig field's help text (for the CLI's options)."""
    return help_of(TrainConfig, name)
