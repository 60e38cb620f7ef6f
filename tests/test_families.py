"""The family matrix: eval, 2-shot, loss tokens, shrinking, LoRA and full training per VLM family.

Tiny random models of ten families (``tests/families.py``: each family's config class, its
released processor settings and original chat template) go through what a user runs on the
real checkpoints: ``hf:PATH`` eval batched with left padding (equal to one by one), 2-shot
prompts, the answer-only labels (answer + end-of-turn token, nothing of the prompt, the
prompt tokens exactly eval's), the picture a model trains on being the one it is evaluated
on, LoRA with every projector saved, full fine-tuning, and eval of the trained checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

import torch
from families import FAMILIES, build_family
from train_fixtures import write_bench

from vl4gaze.prompting import ShotSampler, build_messages, message_images, prefix_prompt
from vl4gaze.train.collate import IGNORE, AnswerCollator
from vl4gaze.train.data import build_dataset, fixed_image_size, load_items, token_lengths

NAMES = list(FAMILIES)


def _param(name: str) -> object:
    return pytest.param(name, marks=pytest.mark.slow) if FAMILIES[name].slow else name


FAMILY_PARAMS = [_param(n) for n in NAMES]


@pytest.fixture(scope="session")
def family_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("families")


def _family_path(root: Path, name: str) -> Path:
    """Each family's tiny model, built once per test session."""
    path = root / name
    if not (path / "vl4gaze_family.json").exists():
        build_family(name, path)
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return write_bench(tmp_path_factory.mktemp("bench"), n_train=6, n_test=3)


def _processor(path: Path):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(path)


def _end_token(path: Path) -> str:
    return json.loads((path / "vl4gaze_family.json").read_text())["end_tokens"][0]


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_eval_batched_equals_one_by_one_and_two_shot(name: str, family_root: Path,
                                                     bench: Path, tmp_path: Path) -> None:
    from vl4gaze.infer import RunConfig, run_inference
    from vl4gaze.models import Request, load_model

    path = _family_path(family_root, name)
    model = load_model(f"hf:{path}", device="cpu", dtype="float32")
    test, train = load_items(bench, "test"), load_items(bench, "train")
    # A 0-shot and a 2-shot prompt in one left-padded batch: padding must not leak in.
    requests = [Request(build_messages(it, bench, shots=ShotSampler(train, k).shots_for(it)), it)
                for it, k in zip(test, (0, 2), strict=False)]
    batched = model.generate(requests, 4)
    assert batched == [model.generate([r], 4)[0] for r in requests]
    config = RunConfig(f"hf:{path}", shots=2, batch_size=1, max_new_tokens=4, progress=False)
    result = run_inference(bench, tmp_path / "run", config, model=model, items=test[:1],
                           train_items=train)
    assert (result.answered, result.errors) == (1, 0)


@pytest.mark.parametrize("name", NAMES)
def test_loss_covers_the_answer_and_end_of_turn_only(name: str, family_root: Path,
                                                     bench: Path) -> None:
    path = _family_path(family_root, name)
    processor = _processor(path)
    items = load_items(bench, "train")[:2]
    dataset = build_dataset(items, bench, processor)
    collator = AnswerCollator(processor)
    batch = collator([dataset[i] for i in range(len(dataset))])
    tok = processor.tokenizer
    for row, item in enumerate(items):
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        kept = (labels != IGNORE).nonzero().flatten().tolist()
        assert kept == list(range(kept[0], kept[-1] + 1))  # one run, nothing after it
        assert int(batch["attention_mask"][row][kept[-1] + 1:].sum()) == 0
        assert tok.decode(ids[kept]).strip() == f"{item.answer}{_end_token(path)}"
        # The prompt part is exactly the tokens eval sends for this question.
        messages = build_messages(item, bench)
        if collator.path == "prefix":
            want = processor(text=[prefix_prompt(messages)], images=[message_images(messages)],
                             return_tensors="pt")["input_ids"][0]
        else:
            want = processor.apply_chat_template(messages, add_generation_prompt=True,
                                                 tokenize=True, return_dict=True,
                                                 return_tensors="pt")["input_ids"][0]
        assert ids[: kept[0]].tolist() == want.tolist()
    full, prompt = token_lengths(dataset, processor)
    assert prompt == [(lab != IGNORE).nonzero().flatten()[0].item() for lab in batch["labels"]]
    assert full == batch["attention_mask"].sum(dim=1).tolist()


@pytest.mark.parametrize("name", NAMES)
def test_training_pictures_are_the_eval_pictures(name: str, family_root: Path) -> None:
    """Shrunk up front only where the processor provably makes one fixed size of every
    picture; then its output on the shrunk picture is the output on the original."""
    import numpy as np
    from PIL import Image

    from vl4gaze.train.data import resize_like

    processor = _processor(_family_path(family_root, name))
    size = fixed_image_size(processor)
    expected = {"gemma3": (896, 896), "paligemma": (224, 224)}
    assert size == expected.get(name)
    if size is None:
        return
    rng = np.random.default_rng(1)
    original = Image.fromarray(rng.integers(0, 256, (300, 500, 3), dtype=np.uint8))
    shrunk = resize_like(processor.image_processor, original, size)
    assert shrunk.size == size
    want = processor.image_processor(original, return_tensors="pt")["pixel_values"]
    got = processor.image_processor(shrunk, return_tensors="pt")["pixel_values"]
    assert torch.equal(want, got)


def _trained(name: str, family_root: Path, bench: Path, out: Path, *, lora: bool) -> Path:
    """Two steps of two examples; the LoRA run also measures lengths (--max-length)."""
    from vl4gaze.train.config import TrainConfig
    from vl4gaze.train.sft import train

    return train(bench, out, TrainConfig(
        f"hf:{_family_path(family_root, name)}", lora=lora, max_steps=2, batch_size=2,
        logging_steps=1, save_steps=100, lr=1e-3, merge=True,
        max_length=8192 if lora else None, group_by_length=lora))


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory) -> Path:
    return write_bench(tmp_path_factory.mktemp("small"), n_train=4, n_test=1)


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_lora_and_full_training_then_eval(name: str, family_root: Path, small_bench: Path,
                                          tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText

    from vl4gaze.models import load_model
    from vl4gaze.train.lora import projector_modules

    base_path = _family_path(family_root, name)
    base = AutoModelForImageTextToText.from_pretrained(base_path)
    bench = small_bench
    test = load_items(bench, "test")[:1]
    for lora in (True, False):
        out = _trained(name, family_root, bench, tmp_path / f"ckpt-{lora}", lora=lora)
        summary = json.loads((out / "vl4gaze_train.json").read_text())
        assert summary["global_step"] == 2
        losses = [h["loss"] for h in summary["log_history"] if "loss" in h]
        assert losses and all(loss > 0 for loss in losses)
        trained = AutoModelForImageTextToText.from_pretrained(out)
        changed = {n for n, p in trained.state_dict().items()
                   if not torch.equal(p, base.state_dict()[n])}
        if lora:
            assert summary["trained_modules"]["adapted"]
            assert summary["trained_modules"]["whole"] == projector_modules(base)
            # Every projector (Gemma 3's bare parameter, Qwen3-VL's deepstack mergers) moved.
            for proj in projector_modules(base):
                assert any(f".{proj}." in f".{n}" for n in changed), proj
        else:
            assert summary["trained_modules"]["frozen"]
        model = load_model(f"hf:{out}", device="cpu", dtype="float32")
        from vl4gaze.models import Request

        answers = model.generate([Request(build_messages(test[0], bench), test[0])], 4)
        assert len(answers) == 1 and isinstance(answers[0], str)


def test_no_prompt_path_fails_before_the_weights(family_root: Path, tmp_path: Path) -> None:
    import shutil

    from vl4gaze.models.hf import HFModel

    path = tmp_path / "m"
    shutil.copytree(_family_path(family_root, "llava-1.5"), path)
    for name in ("chat_template.jinja", "chat_template.json"):
        (path / name).unlink(missing_ok=True)
    config = json.loads((path / "processor_config.json").read_text())
    config.pop("chat_template", None)
    (path / "processor_config.json").write_text(json.dumps(config))
    for weights in path.glob("*.safetensors"):
        weights.unlink()  # would raise OSError if the weights were loaded first
    with pytest.raises(ValueError, match="has no chat template and is not a prefix/suffix"):
        HFModel(str(path), device="cpu")
    from vl4gaze.train.config import TrainConfig
    from vl4gaze.train.sft import train

    # Training checks it before reading the benchmark (absent here) or loading weights.
    with pytest.raises(ValueError, match="has no chat template and is not a prefix/suffix"):
        train(tmp_path / "no-bench", tmp_path / "out", TrainConfig(f"hf:{path}"))


def test_tiny_model_shrinks_large_pictures_as_its_processor_does(tmp_path: Path,
                                                                 monkeypatch) -> None:
    """Shrinking a large picture with PIL differs from the torchvision resize of the tiny
    model's processor; the processor's own resize gives the same pixel values."""
    import numpy as np
    from PIL import Image

    from vl4gaze.models.tiny import tiny_model_path
    from vl4gaze.train.data import shrink_image

    monkeypatch.setenv("VL4GAZE_CACHE", str(tmp_path / "cache"))
    processor = _processor(tiny_model_path(0))
    size = fixed_image_size(processor)
    assert size == (128, 128)
    path = tmp_path / "big.png"
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(path)
    import io

    shrunk = Image.open(io.BytesIO(shrink_image(path, size, processor.image_processor)))
    want = processor.image_processor(Image.open(path), return_tensors="pt")["pixel_values"]
    got = processor.image_processor(shrunk, return_tensors="pt")["pixel_values"]
    assert torch.equal(want, got)


@pytest.mark.parametrize("name", ["qwen2-vl", "gemma3", "llava-1.5", "llava-onevision",
                                  "paligemma"])
def test_any_answer_is_labelled_whole(name: str, family_root: Path) -> None:
    """Property: whatever the answer (points, refusals, punctuation), its labels decode to
    the answer and the end-of-turn token, after exactly the prompt eval would send."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    path = _family_path(family_root, name)
    processor = _processor(path)
    collator = AnswerCollator(processor)
    end = _end_token(path)
    words = st.sampled_from(["left", "upper right", "(0.512, 0.337)", "(512, 337)", "a mug",
                             "It cannot be answered:", "the eyes are closed.", "x", "0", ","])

    @settings(max_examples=25, deadline=None)
    @given(parts=st.lists(words, min_size=1, max_size=4), question=words)
    def check(parts: list[str], question: str) -> None:
        answer = " ".join(parts)
        messages = [{"role": "system", "content": [{"type": "text", "text": "Answer."}]},
                    {"role": "user", "content": [{"type": "text", "text": question}]},
                    {"role": "assistant", "content": [{"type": "text", "text": answer}]}]
        if collator.path == "prefix":  # PaliGemma always has an image
            from PIL import Image

            messages[1]["content"].insert(0, {"type": "image"})
            example = {"messages": messages, "images": [Image.new("RGB", (32, 32))]}
        else:
            example = {"messages": messages, "images": []}
        batch = collator([example])
        labels = batch["labels"][0]
        kept = (labels != IGNORE).nonzero().flatten()
        decoded = processor.tokenizer.decode(batch["input_ids"][0][kept])
        assert decoded.strip() == answer + end

    check()


def test_max_length_cuts_token_rows_not_images(family_root: Path, bench: Path) -> None:
    processor = _processor(_family_path(family_root, "qwen2-vl"))
    dataset = build_dataset(load_items(bench, "train")[:2], bench, processor)
    rows = [dataset[0], dataset[1]]
    whole = AnswerCollator(processor)(rows)
    _, prompt = token_lengths(dataset, processor)
    cut = AnswerCollator(processor, max_length=prompt[0] + 1)(rows)
    assert cut["input_ids"].shape[1] == prompt[0] + 1
    assert int((cut["labels"][0] != IGNORE).sum()) == 1  # one answer token left
    assert torch.equal(cut["pixel_values"], whole["pixel_values"])
    assert torch.equal(cut["image_grid_thw"], whole["image_grid_thw"])


def _readme_commands(marker: str) -> list[list[str]]:
    """The `vl4gaze` command lines of README.md's code blocks that mention ``marker``
    (continuations joined, comments dropped; `accelerate launch ... -m vl4gaze.cli` read
    as the plain command it launches)."""
    import re
    import shlex

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            if marker not in line:
                continue
            if "-m vl4gaze.cli" in line:
                line = "vl4gaze " + line.split("-m vl4gaze.cli", 1)[1]
            if line.startswith("vl4gaze "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_readme_qwen25vl_recipe_runs_as_written(family_root: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    """README's Qwen2.5-VL commands (eval, 2-shot, fine-tune, eval of the checkpoint) run
    as written with the tiny Qwen2.5-VL in place of the real checkpoints, CPU in place of
    CUDA, and a few items / steps; vLLM (GPU only) is left out."""
    from typer.testing import CliRunner

    from vl4gaze.cli import app

    tiny = _family_path(family_root, "qwen2.5-vl")
    write_bench(tmp_path / "gf-bench", n_train=4, n_test=2)
    monkeypatch.chdir(tmp_path)
    swap = {"hf:Qwen/Qwen2.5-VL-7B-Instruct": f"hf:{tiny}",
            "hf:Qwen/Qwen2.5-VL-3B-Instruct": f"hf:{tiny}", "cuda": "cpu",
            "bfloat16": "float32"}
    commands = [c for c in _readme_commands("gf-bench")
                if c[0] in ("eval", "train") and not any(a.startswith(("vllm:", "openai:"))
                                                         for a in c)]
    assert [c[0] for c in commands] == ["eval", "eval", "train", "eval"]
    runner = CliRunner()
    for args in commands:
        args = [swap.get(a, a) for a in args]
        args += ["--limit", "2", "--no-progress"] if args[0] == "eval" else ["--max-steps", "2"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    scores = json.loads((tmp_path / "runs" / "qwen3b-sft" / "scores.json").read_text())
    assert scores["model"] == "hf:ckpt-3b" and scores["n_items"] > 0
    first = json.loads((tmp_path / "runs" / "qwen7b" / "config.json").read_text())
    assert first["point_convention"] == "qwen2.5-vl" and first["batch_size"] == 16
