"""Supervised fine-tuning on a benchmark's train split with TRL's SFTTrainer (+ PEFT LoRA).

The loss covers only the assistant's answer and its end-of-turn token; vl4gaze marks them
itself from the rendered prompt and prompt + answer (``vl4gaze.train.collate``), so it needs
no ``{% generation %}`` blocks from TRL, and a prefix/suffix model (PaliGemma) trains with
its prompt as prefix and the answer as suffix. The output
directory is a model spec for eval: ``hf:OUT`` (a merged model, or a LoRA adapter that
``AutoModelForImageTextToText`` loads on top of its base). The same call runs under
``accelerate launch`` for DDP or DeepSpeed ZeRO-2/3 (configs/ in the repository).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from vl4gaze.progress import quiet_library_bars
from vl4gaze.prompting import prompt_path
from vl4gaze.train.collate import AnswerCollator
from vl4gaze.train.config import TrainConfig
from vl4gaze.train.data import (
    build_dataset,
    check_max_length,
    load_items,
    mix_tasks,
    token_lengths,
)
from vl4gaze.train.lora import _group_of, freeze_vision, make_lora_config
from vl4gaze.train.loss import example_weighted_trainer

log = logging.getLogger(__name__)
console = Console(stderr=True)

#: Learning rates when none is given: (LoRA, full) for real checkpoints, for the random
#: tiny model (which starts from nothing and needs far larger steps) and for tiny-gaze
#: (pretrained vision tower: above 3e-4 the language model collapses onto the most common
#: answer before it learns to read the picture; docs/learnability.md).
DEFAULT_LR = {"real": (2e-4, 1e-5), "tiny": (2e-3, 1e-3), "tiny-gaze": (1e-3, 3e-4)}


def resolve_model(spec: str) -> str:
    """A model SPEC (``tiny[-gaze][:SEED]``, ``hf:NAME_OR_PATH``) -> a from_pretrained path."""
    from vl4gaze.models.tiny import tiny_spec_path

    tiny = tiny_spec_path(spec)
    if tiny is not None:
        return str(tiny)
    if spec.startswith("hf:"):
        from vl4gaze.models import check_local_path

        check_local_path(spec, spec[3:])
        return spec[3:]
    raise ValueError(f"cannot train model spec {spec!r}: use hf:NAME_OR_PATH or tiny")


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def train(bench: Path, out: Path, config: TrainConfig) -> Path:
    """Fine-tune ``config.model`` on ``bench``'s train split and write a checkpoint to ``out``.

    Returns ``out``; ``hf:<out>`` is the trained model's spec. ``max_length`` truncates
    (None: never); an example whose answer it would cut completely is an error, since it
    would silently train on nothing. ``resume`` continues from the last checkpoint in
    ``out/checkpoints``. ``merge`` writes a standalone model (LoRA merged in, adapter kept
    in ``out/adapter``); otherwise ``out`` holds the adapter and names its base model.
    ``loss_per="example"`` weighs every example equally instead of every answer token
    (``vl4gaze.train.loss``): short answers such as directions then count as much as long ones.
    """
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTConfig, SFTTrainer

    c = config
    model_spec, lora, seed, max_length = c.model, c.lora, c.seed, c.max_length
    lr, unfreeze_vision, task_mix = c.lr, c.unfreeze_vision, c.task_mix
    bench, out = Path(bench), Path(out)
    quiet_library_bars()
    base_path = resolve_model(model_spec)
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()

    processor = AutoProcessor.from_pretrained(base_path)
    prompt_path(processor, base_path)  # fail before building the data or loading weights
    items = mix_tasks(load_items(bench, "train"), task_mix, seed=seed)
    dataset = build_dataset(items, bench, processor)
    if max_length is not None or c.group_by_length:
        full, prompt = token_lengths(dataset, processor)
        cut = check_max_length(dataset, full, prompt, max_length)
        if cut:
            console.print(f"[yellow]max_length={max_length} cuts the answer of {cut} of "
                          f"{len(full)} examples[/yellow]")
        dataset = dataset.add_column("length", full)

    model = AutoModelForImageTextToText.from_pretrained(
        base_path, dtype=torch.bfloat16 if bf16 else torch.float32)
    tiny = getattr(model.config, "vl4gaze_tiny", None) is not None
    # A frozen random vision tower feeds the language model noise: a tiny model without
    # vision pretraining always trains its tower (docs/learnability.md).
    random_tower = tiny and not getattr(model.config, "vl4gaze_vision_pretraining", None)
    unfreeze_vision = unfreeze_vision or random_tower
    if lr is None:
        family = ("tiny" if random_tower else "tiny-gaze") if tiny else "real"
        lr = DEFAULT_LR[family][0 if lora else 1]
    peft_config = None
    if lora:
        peft_config = make_lora_config(model, rank=c.lora_rank, alpha=2 * c.lora_rank,
                                       unfreeze_vision=unfreeze_vision, train_head=tiny)
    elif not unfreeze_vision:
        freeze_vision(model)
    gradient_checkpointing = c.gradient_checkpointing
    if gradient_checkpointing is None:
        gradient_checkpointing = cuda and not tiny

    ckpt_dir = out / "checkpoints"
    args = SFTConfig(
        output_dir=str(ckpt_dir),
        num_train_epochs=c.epochs,
        max_steps=c.max_steps if c.max_steps is not None else -1,
        learning_rate=lr,
        lr_scheduler_type="cosine",
        warmup_steps=0.03,
        per_device_train_batch_size=c.batch_size,
        gradient_accumulation_steps=c.grad_accum,
        max_length=None,  # AnswerCollator truncates (TRL does not, for vision data)
        assistant_only_loss=False,  # the labels come from AnswerCollator
        bf16=bf16,
        fp16=False,
        use_cpu=not cuda,
        activation_checkpointing=gradient_checkpointing,
        train_sampling_strategy="group_by_length" if c.group_by_length else "random",
        seed=seed,
        data_seed=seed,
        save_strategy="steps",
        save_steps=c.save_steps,
        save_total_limit=2,
        logging_steps=c.logging_steps,
        # A log file (SLURM, nohup, CI) gets plain loss lines, not a redrawn tqdm bar.
        disable_tqdm=not sys.stderr.isatty(),
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        deepspeed=c.deepspeed,
    )
    trainer_class = (example_weighted_trainer(SFTTrainer) if c.loss_per == "example"
                     else SFTTrainer)
    trainer = trainer_class(model=model, args=args, train_dataset=dataset,
                           processing_class=processor, peft_config=peft_config,
                           data_collator=AnswerCollator(processor, max_length))
    trained = trained_modules(trainer.model, peft_config)
    if _is_main():
        console.print(f"training {len(trained['adapted'])} LoRA-adapted modules, whole: "
                      f"{', '.join(trained['whole']) or 'none'}" if lora else
                      f"full fine-tuning, frozen: {', '.join(trained['frozen']) or 'nothing'}")
    last = last_complete_checkpoint(ckpt_dir) if c.resume else None
    if c.resume and last is None:
        console.print(f"[yellow]no checkpoint in {ckpt_dir}: starting from scratch[/yellow]")
    result = trainer.train(resume_from_checkpoint=last)

    _save(trainer, processor, out, lora=lora, merge=c.merge, base_path=base_path)
    if _is_main():
        summary: dict[str, Any] = {
            "bench": str(bench.resolve()), "model": model_spec, "base": base_path,
            "lora": lora, "merged": bool(lora and c.merge), "unfreeze_vision": unfreeze_vision,
            "lr": lr, "epochs": c.epochs, "max_steps": c.max_steps,
            "batch_size": c.batch_size, "grad_accum": c.grad_accum, "max_length": max_length,
            "seed": seed, "task_mix": dict(task_mix) if task_mix else None,
            "loss_per": c.loss_per,
            "n_examples": len(dataset), "trained_modules": trained,
            "resumed_from": last, "global_step": result.global_step,
            "train_loss": result.training_loss, "metrics": result.metrics,
            "log_history": trainer.state.log_history,
        }
        tmp = out / f".vl4gaze_train.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(summary, indent=2, default=str))
        os.replace(tmp, out / "vl4gaze_train.json")  # last, atomic: marks the model complete
    return out


def trained_modules(model: Any, peft_config: Any) -> dict[str, list[str]]:
    """What a run trains, by module name: LoRA-adapted layers, modules trained whole
    (projectors, a random head) and, for full fine-tuning, the frozen top-level parts."""
    adapted = sorted(n for n, m in model.named_modules() if hasattr(m, "lora_A")
                     and not n.endswith(("lora_A", "lora_B")))
    whole = sorted(peft_config.modules_to_save or []) if peft_config is not None else []
    frozen = sorted({_root(n) for n, p in model.named_parameters() if not p.requires_grad}
                    ) if peft_config is None else []
    return {"adapted": adapted, "whole": whole, "frozen": frozen}


def _root(name: str) -> str:
    """``model.vision_tower.encoder.layers.0.fc1.weight`` -> ``model.vision_tower``."""
    return _group_of(name.rsplit(".", 1)[0])[1]


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` that was saved in full, else None.

    The Trainer writes ``trainer_state.json`` after the weights, optimizer and RNG state, so
    a checkpoint without a parseable one (or without weights) was cut off mid-save (kill -9,
    full disk): it is skipped with a message instead of failing every later ``--resume``."""
    found = []
    for path in Path(ckpt_dir).glob("checkpoint-*") if Path(ckpt_dir).is_dir() else ():
        step = path.name.removeprefix("checkpoint-")
        if path.is_dir() and step.isdigit():
            found.append((int(step), path))
    for _, path in sorted(found, reverse=True):
        why = _partial(path)
        if why is None:
            return str(path)
        console.print(f"skipping partial checkpoint {path} ({why}; killed while saving?)",
                      markup=False, style="yellow")
    return None


def _partial(path: Path) -> str | None:
    try:
        json.loads((path / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return "no readable trainer_state.json"
    if not any(any(path.glob(p)) for p in ("*.safetensors", "*.bin", "*.pt", "global_step*")):
        return "no weights"
    return None


_WEIGHT_FILES = ("adapter_config.json", "adapter_model.safetensors", "model.safetensors",
                 "model-*.safetensors", "model.safetensors.index.json")


def _save(trainer: Any, processor: Any, out: Path, *, lora: bool, merge: bool,
          base_path: str) -> None:
    """Write the final model: full weights, adapter only, or adapter merged into its base.

    Merging reloads base + adapter on the main process, so it works the same after DDP and
    DeepSpeed ZeRO-3 (whose shards no single rank holds)."""
    out.mkdir(parents=True, exist_ok=True)
    if _is_main():  # a resumed run may switch between adapter and merged output
        # vl4gaze_train.json is written last: while it is absent the model is incomplete.
        (out / "vl4gaze_train.json").unlink(missing_ok=True)
        for pattern in _WEIGHT_FILES:
            for stale in out.glob(pattern):
                stale.unlink()
    trainer.accelerator.wait_for_everyone()
    if not lora or not merge:
        trainer.save_model(str(out))
        if _is_main():
            processor.save_pretrained(str(out))
        return
    adapter_dir = out / "adapter"
    trainer.save_model(str(adapter_dir))
    trainer.accelerator.wait_for_everyone()
    if not _is_main():
        return
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    dtype = next(trainer.model.parameters()).dtype
    base = AutoModelForImageTextToText.from_pretrained(base_path, dtype=dtype)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    with torch.no_grad():
        merged.save_pretrained(str(out))
    processor.save_pretrained(str(out))
