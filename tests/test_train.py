"""Fine-tuning: task mixing, LoRA targets per architecture, answer-only labels, train/resume."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from train_fixtures import write_bench

from vl4gaze.schema import QAItem, Task
from vl4gaze.train.config import TrainConfig
from vl4gaze.train.data import (
    build_dataset,
    check_max_length,
    load_items,
    mix_tasks,
    parse_task_mix,
    token_lengths,
)
from vl4gaze.train.lora import linear_groups, lora_target_modules, make_lora_config


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return write_bench(tmp_path_factory.mktemp("bench"), n_train=24, n_test=4)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory) -> Path:
    from vl4gaze.models.tiny import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "m", seed=0)


# -- task mixing ---------------------------------------------------------------------------

def test_parse_task_mix() -> None:
    assert parse_task_mix("direction=2, point=1") == {"direction": 2.0, "point": 1.0}
    assert parse_task_mix("") is None
    for bad in ("gaze=1", "direction", "direction=x", "point=-1", "point=0"):
        with pytest.raises(ValueError, match="task-mix"):
            parse_task_mix(bad)


def _item(i: int, task: str) -> QAItem:
    return QAItem(id=f"{task}{i}", task=task, image="images/x.png", width=8, height=8,
                  source="t", split="train", question="q?", answer="a", target={},
                  person_ref="box", template_id="t", sample_id=f"s{i}")


@settings(max_examples=30, deadline=None)
@given(n_dir=st.integers(1, 30), n_amb=st.integers(1, 30), w_dir=st.integers(1, 5),
       w_amb=st.integers(1, 5), seed=st.integers(0, 3))
def test_mix_tasks_ratios(n_dir: int, n_amb: int, w_dir: int, w_amb: int, seed: int) -> None:
    items = [_item(i, "direction") for i in range(n_dir)]
    items += [_item(i, "ambiguity") for i in range(n_amb)] + [_item(0, "point")]
    mixed = mix_tasks(items, {"direction": w_dir, "ambiguity": w_amb}, seed=seed)
    counts = Counter(str(it.task) for it in mixed)
    assert "point" not in counts  # absent from the mix: dropped
    total = n_dir + n_amb
    assert abs(counts["direction"] - total * w_dir / (w_dir + w_amb)) <= 1
    assert abs(counts["ambiguity"] - total * w_amb / (w_dir + w_amb)) <= 1
    assert mixed == mix_tasks(items, {"direction": w_dir, "ambiguity": w_amb}, seed=seed)


# -- LoRA target selection -----------------------------------------------------------------

def _meta_model(kind: str):
    import transformers as tf

    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, vocab_size=128)
    if kind == "qwen2_5_vl":
        config = tf.Qwen2_5_VLConfig(
            text_config={**text, "rope_scaling": {"type": "mrope", "mrope_section": [1, 1, 2]}},
            vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=4,
                               out_hidden_size=32, fullatt_block_indexes=[1]))
    elif kind == "idefics3":
        config = tf.Idefics3Config(text_config=text, vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4))
    elif kind == "paligemma":
        config = tf.PaliGemmaConfig(text_config={**text, "head_dim": 8}, vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4))
    else:  # llava
        config = tf.LlavaConfig(text_config={"model_type": "llama", **text}, vision_config=dict(
            model_type="clip_vision_model", hidden_size=32, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=16))
    with torch.device("meta"):
        return tf.AutoModelForImageTextToText.from_config(config)


@pytest.mark.parametrize("kind,language_root,vision_root", [
    ("llava", "model.language_model.", "model.vision_tower."),
    ("qwen2_5_vl", "model.language_model.", "model.visual."),
    ("idefics3", "model.text_model.", "model.vision_model."),
    ("paligemma", "model.language_model.", "model.vision_tower."),
])
def test_lora_targets_per_architecture(kind: str, language_root: str, vision_root: str) -> None:
    model = _meta_model(kind)
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]

    def chosen(targets) -> set[str]:
        if isinstance(targets, str):
            return {n for n in names if re.fullmatch(targets, n)}
        return set(targets)

    lm_only = chosen(lora_target_modules(model))
    assert lm_only, kind
    assert all(n.startswith(language_root) for n in lm_only)
    assert {n for n in names if n.startswith(language_root)} == lm_only
    with_vision = chosen(lora_target_modules(model, unfreeze_vision=True))
    vision = {n for n in linear_groups(model)["vision"]}
    assert vision and all(n.startswith(vision_root) for n in vision)
    assert with_vision == lm_only | vision
    assert "lm_head" not in with_vision


def test_lora_on_tiny_trains_lm_projector_head(tiny_path: Path) -> None:
    from peft import get_peft_model
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_path)
    peft_model = get_peft_model(model, make_lora_config(model, train_head=True))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert any("language_model" in n and "lora_A" in n for n in trainable)
    assert any("multi_modal_projector" in n for n in trainable)
    assert any("lm_head" in n for n in trainable)
    assert not any("vision_tower" in n for n in trainable)


# -- answer-only loss masking --------------------------------------------------------------

def test_labels_cover_exactly_answer_and_end_token(bench: Path, tiny_path: Path) -> None:
    from transformers import AutoProcessor

    from vl4gaze.train.collate import AnswerCollator

    processor = AutoProcessor.from_pretrained(tiny_path)
    items = load_items(bench, "train")[:3]
    dataset = build_dataset(items, bench)
    collator = AnswerCollator(processor)
    batch = collator([dataset[i] for i in range(len(dataset))])
    tok = processor.tokenizer
    for row, item in enumerate(items):
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        kept = labels != -100
        assert torch.equal(ids[kept], labels[kept])
        positions = kept.nonzero().flatten().tolist()
        assert positions == list(range(positions[0], positions[-1] + 1))  # one contiguous run
        assert tok.decode(ids[kept]) == f" {item.answer}</s>"
        # Everything after the answer is padding or the template's newline, never trained.
        assert not kept[positions[-1] + 1:].any()


def test_max_length_guard(bench: Path, tiny_path: Path) -> None:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_path)
    dataset = build_dataset(load_items(bench, "train")[:2], bench)
    full, prompt = token_lengths(dataset, processor)
    assert all(p < n for p, n in zip(prompt, full, strict=True))
    assert check_max_length(dataset, full, prompt, max(full)) == 0
    assert check_max_length(dataset, full, prompt, max(full) - 1) >= 1
    with pytest.raises(ValueError, match="no answer tokens for item train"):
        check_max_length(dataset, full, prompt, min(prompt))


def test_shrunk_images_give_the_processor_the_same_pixels(bench: Path, tiny_path: Path) -> None:
    from transformers import AutoProcessor

    from vl4gaze.prompting import load_image
    from vl4gaze.train.data import fixed_image_size

    processor = AutoProcessor.from_pretrained(tiny_path)
    assert fixed_image_size(processor) == (128, 128)
    items = load_items(bench, "train")[:3]
    shrunk = build_dataset(items, bench, processor)
    assert shrunk[0]["images"][0].size == (128, 128)
    for row, item in zip(shrunk, items, strict=True):
        original = load_image(bench / item.image)
        assert original.size != (128, 128)
        want = processor.image_processor(original, return_tensors="pt")["pixel_values"]
        got = processor.image_processor(row["images"][0], return_tensors="pt")["pixel_values"]
        assert torch.equal(want, got)


def test_fixed_image_size_only_for_plain_stretching(tiny_path: Path) -> None:
    from transformers import AutoProcessor

    from vl4gaze.train.data import fixed_image_size

    processor = AutoProcessor.from_pretrained(tiny_path)
    processor.image_processor.do_center_crop = True  # crop: the shrunk picture would differ
    assert fixed_image_size(processor) is None
    processor.image_processor.do_center_crop = False
    processor.image_processor.do_resize = False
    assert fixed_image_size(processor) is None
    assert fixed_image_size(object()) is None


def test_fast_token_lengths_equal_the_measured_ones(bench: Path, tiny_path: Path) -> None:
    from transformers import AutoProcessor

    from vl4gaze.train.data import measured_token_lengths

    processor = AutoProcessor.from_pretrained(tiny_path)
    items = load_items(bench, "train")
    items[1] = dataclasses.replace(items[1], answer="It cannot be answered: the eyes are closed.",
                                   question="Where is the person in the red box looking?")
    dataset = build_dataset(items, bench, processor)
    fast = token_lengths(dataset, processor)
    assert fast == measured_token_lengths(dataset, processor)
    assert len(set(fast[0])) > 1 and len(set(fast[1])) > 1  # a constant would not pass


# -- a short training run, a loadable checkpoint, resume -----------------------------------

@pytest.mark.slow
def test_train_adapter_then_resume_merged(bench: Path, tmp_path: Path, monkeypatch) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vl4gaze.train.sft import train

    monkeypatch.setenv("VL4GAZE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ckpt"
    train(bench, out, TrainConfig("tiny", max_steps=6, batch_size=4, save_steps=3,
                                  logging_steps=1, merge=False, seed=1,
                                  task_mix={Task.DIRECTION.value: 1}))
    summary = json.loads((out / "vl4gaze_train.json").read_text())
    losses = [h["loss"] for h in summary["log_history"] if "loss" in h]
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert (out / "adapter_config.json").exists()

    # The adapter folder is a model spec of its own: base + adapter through the Auto class.
    processor = AutoProcessor.from_pretrained(out)
    model = AutoModelForImageTextToText.from_pretrained(out)
    from PIL import Image

    messages = [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (64, 64))},
                                             {"type": "text", "text": "Where?"}]}]
    inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                           return_dict=True, return_tensors="pt")
    assert model.generate(**inputs, max_new_tokens=3).shape[1] > inputs["input_ids"].shape[1]

    train(bench, out, TrainConfig("tiny", max_steps=8, batch_size=4, save_steps=3,
                                  logging_steps=1, merge=True, seed=1, resume=True,
                                  task_mix={Task.DIRECTION.value: 1}))
    summary = json.loads((out / "vl4gaze_train.json").read_text())
    assert summary["resumed_from"].endswith("checkpoint-6")
    assert summary["global_step"] == 8
    assert not (out / "adapter_config.json").exists()
    assert (out / "adapter" / "adapter_config.json").exists()
    merged = AutoModelForImageTextToText.from_pretrained(out)
    assert type(merged).__name__ == "LlavaForConditionalGeneration"
    assert not any("lora" in n for n, _ in merged.named_parameters())


# -- per-example loss weighting --------------------------------------------------------------

def test_example_mean_nll_weighs_examples_not_tokens() -> None:
    from vl4gaze.train.loss import example_mean_nll

    # Example 0: one answer token with loss 2; example 1: four tokens with loss 0.5 each;
    # example 2: no answer tokens (left out).
    mask = torch.tensor([[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=torch.bool)
    log_probs = -torch.tensor([[2.0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5], [0, 0, 0, 0]])
    assert example_mean_nll(log_probs, mask).item() == pytest.approx((2.0 + 0.5) / 2)
    token_mean = -(log_probs.sum() / mask.sum()).item()
    assert token_mean == pytest.approx(0.8)  # what TRL's default would give
    assert example_mean_nll(log_probs[2:], mask[2:]).item() == 0.0


@pytest.mark.slow
def test_train_with_example_loss(bench: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from vl4gaze.train.sft import train

    monkeypatch.setenv("VL4GAZE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="loss_per='sentence'"):
        train(bench, tmp_path / "bad", TrainConfig("tiny", loss_per="sentence"))
    out = train(bench, tmp_path / "ckpt", TrainConfig(
        "tiny", lora=False, max_steps=6, batch_size=4, logging_steps=1, save_steps=100,
        loss_per="example", seed=1))
    summary = json.loads((out / "vl4gaze_train.json").read_text())
    losses = [h["loss"] for h in summary["log_history"] if "loss" in h]
    assert summary["loss_per"] == "example"
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert all("mean_token_accuracy" in h for h in summary["log_history"] if "loss" in h)
    # without a terminal (a log file): one plain line per logging step, no redrawn bar
    out = capsys.readouterr()
    assert sum("'loss'" in line for line in out.out.splitlines()) == 6
    assert "\r" not in out.err
