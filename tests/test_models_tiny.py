"""The tiny offline VLM: reloads through the Auto classes, generates, has generation blocks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from PIL import Image

from vl4gaze.models.tiny import build_tiny_vlm, tiny_model_path, tiny_spec_path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "m", seed=0)


def _messages(answer: str | None = None) -> list[dict]:
    img = Image.new("RGB", (96, 64), "white")
    msgs = [
        {"role": "system", "content": [{"type": "text", "text": "Answer briefly."}]},
        {"role": "user", "content": [{"type": "image", "image": img},
                                     {"type": "text", "text": "In which direction?"}]},
    ]
    if answer is not None:
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return msgs


def test_reload_and_generate(tiny: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    proc = AutoProcessor.from_pretrained(tiny)
    model = AutoModelForImageTextToText.from_pretrained(tiny)
    inputs = proc.apply_chat_template(_messages(), add_generation_prompt=True, tokenize=True,
                                      return_dict=True, return_tensors="pt")
    # 64 patches (CLS dropped by the "default" strategy) replace the one <image> token.
    n_image = int((inputs["input_ids"] == model.config.image_token_index).sum())
    assert n_image == (128 // 16) ** 2
    out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_chat_template_generation_block(tiny: Path) -> None:
    from transformers import AutoProcessor

    proc = AutoProcessor.from_pretrained(tiny)
    assert "{% generation %}" in proc.chat_template
    prompt = proc.apply_chat_template(_messages(), add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("ASSISTANT:")
    full = proc.apply_chat_template(_messages("upper left"), tokenize=False)
    assert full.startswith(prompt)
    enc = proc.apply_chat_template(_messages("upper left"), tokenize=True, return_dict=True,
                                   return_assistant_tokens_mask=True)
    ids = enc["input_ids"][0] if isinstance(enc["input_ids"][0], list) else enc["input_ids"]
    mask = enc["assistant_masks"][0] if isinstance(enc["assistant_masks"][0], list) \
        else enc["assistant_masks"]
    answer_ids = [i for i, m in zip(ids, mask, strict=True) if m]
    # The space and the end-of-turn token belong to the answer, as at inference time.
    assert proc.tokenizer.decode(answer_ids) == " upper left</s>"
    assert answer_ids[-1] == proc.tokenizer.eos_token_id


def test_deterministic(tiny: Path, tmp_path: Path) -> None:
    again = build_tiny_vlm(tmp_path / "again", seed=0)
    for name in ("model.safetensors", "tokenizer.json"):
        a = hashlib.sha256((tiny / name).read_bytes()).hexdigest()
        b = hashlib.sha256((again / name).read_bytes()).hexdigest()
        assert a == b, name


def test_cache_reused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VL4GAZE_CACHE", str(tmp_path))
    first = tiny_model_path(seed=3)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert tiny_model_path(seed=3) == first
    assert tiny_spec_path("tiny:3") == first  # the spec parser reuses the same cache entry
    assert tiny_spec_path("hf:tiny") is None and tiny_spec_path("tinygaze") is None
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
