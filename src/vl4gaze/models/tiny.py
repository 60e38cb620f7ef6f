"""A tiny random LLaVA built offline, so every stage (eval, train, demo, tests) runs without a hub.

The model is CLIP vision tower + projector + Llama decoder at hidden size 128 with a byte-level
BPE tokenizer trained on the fly on the benchmark's vocabulary. Its chat template wraps the
assistant text in ``{% generation %}`` blocks (end-of-turn token inside) so TRL's
``assistant_only_loss`` works, and the generation prompt ends at ``ASSISTANT:`` with the
following space inside the block, so training and inference tokenise answers identically.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from vl4gaze.models.tiny_vision import PRETRAIN_SCENES, PRETRAIN_STEPS

#: Bump when the architecture, tokenizer corpus or template changes: it names the cache dir.
TINY_VERSION = 4  # 4: optional GazeWorld-pretrained vision tower (docs/learnability.md)

IMAGE_TOKEN = "<image>"
EOS_TOKEN = "</s>"
BOS_TOKEN = "<s>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN, IMAGE_TOKEN]

#: LLaVA-1.5 style template. The assistant turn is "ASSISTANT:" + generation block holding
#: " answer</s>"; the generation prompt stops right after "ASSISTANT:".
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}"
    "{%- set parts = [{'type': 'text', 'text': message['content']}] -%}"
    "{%- else -%}{%- set parts = message['content'] -%}{%- endif -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- for part in parts if part['type'] == 'text' -%}{{ part['text'] }}{%- endfor -%}"
    "{{ '\\n' }}"
    "{%- elif message['role'] == 'user' -%}"
    "{{ 'USER: ' }}"
    "{%- for part in parts -%}"
    "{%- if part['type'] == 'image' -%}{{ '<image>\\n' }}"
    "{%- elif part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}"
    "{%- endfor -%}"
    "{{ '\\n' }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{ 'ASSISTANT:' }}{% generation %}{{ ' ' }}"
    "{%- for part in parts if part['type'] == 'text' -%}{{ part['text'] }}{%- endfor -%}"
    "{{ '</s>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'ASSISTANT:' }}{%- endif -%}"
)

_DIRECTIONS = [
    "right", "upper right", "up", "upper left", "left", "lower left", "down", "lower right",
]
_OBJECTS = [
    "mug", "cup", "bottle", "book", "laptop", "phone", "cell phone", "television", "tv", "screen",
    "ball", "chair", "table", "window", "door", "clock", "lamp", "plant", "vase", "bowl", "plate",
    "apple", "banana", "dog", "cat", "bird", "car", "bicycle", "bag", "backpack", "umbrella",
    "keyboard", "mouse", "remote", "picture", "painting", "poster", "paper", "pen", "toy", "box",
    "square", "circle", "triangle", "star", "disk", "person", "man", "woman", "child", "boy",
    "girl", "face", "hand", "head", "sky", "floor", "wall", "ground", "camera", "food", "sink",
]
_COLORS = [
    "red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "gray",
    "brown", "cyan", "magenta",
]
_PHRASES = [
    "You are a careful assistant that answers questions about where people in images are "
    "looking.",
    "Answer briefly.",
    "What is the person in the red box looking at?",
    "What is the person in the green box looking at? Answer with a short noun phrase.",
    "What is the person with the head at (0.25, 0.40, 0.31, 0.48) looking at?",
    "What is the man in the blue shirt looking at?",
    "From the viewer's point of view, in which direction is the person looking?",
    "Answer with one of: right, upper right, up, upper left, left, lower left, down, "
    "lower right.",
    "Where exactly is the person looking? Answer with normalized (x, y) coordinates.",
    "Where exactly is the person looking? Answer with (x, y) in pixels.",
    "Give the point as (x, y) with x and y between 0 and 1000.",
    "Is it possible to tell what the person is looking at? If not, say why.",
    "It cannot be answered: the person is looking outside the image.",
    "It cannot be answered: there are several people and the question does not say which one.",
    "It cannot be answered: the person's eyes are closed or not visible.",
    "It cannot be answered: there is no such person in the image.",
    "The person is looking at a white mug on the table.",
    "Which person? Several people are in the image; it is not clear which one is meant.",
    "The gaze leaves the frame. The eyes are hidden. The person does not exist.",
    "a red mug on the table, a small blue ball, the yellow book on the shelf",
    "(0.512, 0.337) (0.1, 0.9) (512, 337) (229, 151) [0.25, 0.75] 0.5 1.0 100%",
    "yes no unknown answerable ambiguous not in frame out of frame",
    "the person in the box, the person at, the child, the woman on the left, the man on the right",
]


def _strings(value: object, depth: int = 0) -> list[str]:
    """Every string inside a module constant (str, tuples, lists, dicts, templates)."""
    if depth > 4:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        pairs = [(k, v) for k, v in value.items()]
        return [s for k, v in pairs for s in _strings(k, depth + 1) + _strings(v, depth + 1)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for v in value for s in _strings(v, depth + 1)]
    fields = getattr(value, "__dataclass_fields__", None)
    if fields:
        return [s for f in fields for s in _strings(getattr(value, f, None), depth + 1)]
    return []


def _project_phrases() -> list[str]:
    """The real prompts and question templates, so that they tokenise into few tokens.

    Best effort: the stages are imported only if present (the tokenizer still covers every
    byte without them)."""
    lines: list[str] = []
    try:
        from vl4gaze.prompting import POINT_FORMATS, system_prompt
        from vl4gaze.schema import PersonRef
        from vl4gaze.tasks import registry

        for task in registry.task_names():
            for ref in PersonRef:
                for fmt in POINT_FORMATS:
                    lines.append(system_prompt(task, point_format=fmt, person_ref=ref,
                                               width=448, height=448))
    except (ImportError, ValueError, KeyError):
        pass
    try:
        from vl4gaze.tasks import refs, registry

        lines += _strings((refs.MARKER_RGB, refs.MARKER_NAME, refs.UNREADABLE_FLAGS,
                           refs.POINT_FORMATS))
        for spec in registry.specs():
            lines += _strings(spec.vocabulary)
    except ImportError:
        pass
    return sorted(set(lines))


def _corpus() -> list[str]:
    """Sentences covering the benchmark's words, numbers and punctuation (deterministic)."""
    lines = list(_PHRASES) + _project_phrases()
    lines += [f"The person is looking {d}." for d in _DIRECTIONS]
    lines += [f"a {c} {o}" for c in _COLORS for o in _OBJECTS]
    lines += [f"the {o} on the left, the {o} on the right" for o in _OBJECTS]
    lines += [f"({i / 1000:.3f}, {(999 - i) / 1000:.3f})" for i in range(0, 1000, 7)]
    lines += [f"({i}, {999 - i})" for i in range(0, 1000, 13)]
    lines += [" ".join(str(d) for d in range(10)), "0123456789 .,;:!?()[]{}'\"-_/%+*=<>"]
    return lines


def corpus_hash() -> str:
    """Names the tokenizer's corpus in the cache key: new prompts, new tiny model."""
    import hashlib

    return hashlib.sha256("\n".join(_corpus()).encode()).hexdigest()[:8]


def build_tokenizer(vocab_size: int = 2048):
    """Train a byte-level BPE on the corpus and wrap it as a ``PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        extra_special_tokens={"image_token": IMAGE_TOKEN},
        padding_side="left",
        model_max_length=2048,
    )


def build_tiny_vlm(
    path: Path, seed: int = 0, image_size: int = 128, patch_size: int = 16, hidden: int = 128,
    vision_layers: int = 2, pretrain_steps: int = 0, pretrain_scenes: int = PRETRAIN_SCENES,
) -> Path:
    """Write a tiny random LLaVA (model + processor) to ``path`` and return it.

    Deterministic for a seed. ``image_size / patch_size`` squared is the number of image
    tokens per image (64 by default), so one example stays around a hundred tokens.
    ``pretrain_steps > 0`` pretrains the vision tower on GazeWorld scenes of its own
    (``tiny_vision``; a few minutes), as real VLMs start from a pretrained encoder; the
    language model stays random either way. What the tower learned is kept in the config
    (``vl4gaze_vision_pretraining``).
    """
    import torch
    from transformers import (
        CLIPVisionConfig,
        GenerationConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    image_processor = CLIPImageProcessorPil(
        size={"height": image_size, "width": image_size},
        crop_size={"height": image_size, "width": image_size},
        do_center_crop=False,  # keep the whole frame: gaze targets sit near the edges too
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    vision = CLIPVisionConfig(
        hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=vision_layers,
        num_attention_heads=4, image_size=image_size, patch_size=patch_size,
        projection_dim=hidden,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=2048, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default", vision_feature_layer=-1,
        projector_hidden_act="gelu",
        vl4gaze_tiny=TINY_VERSION,  # lets training know the head is random (train it too)
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    if pretrain_steps > 0:
        from vl4gaze.models.tiny_vision import pretrain_vision_tower

        report = pretrain_vision_tower(model, processor, steps=pretrain_steps,
                                       scenes=pretrain_scenes, seed=seed)
        model.config.vl4gaze_vision_pretraining = {
            "steps": pretrain_steps, "scenes": pretrain_scenes,
            **{k: round(v, 4) for k, v in report.items()}}
        model.eval()
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, do_sample=False, max_new_tokens=32,
    )
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def _cache_root() -> Path:
    env = os.environ.get("VL4GAZE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "vl4gaze"


#: Model spec kinds naming a tiny model; ``tiny-gaze`` has the pretrained vision tower.
TINY_KINDS = ("tiny", "tiny-gaze")


def tiny_spec_path(spec: str) -> Path | None:
    """The cached model of a ``tiny[-gaze][:SEED]`` spec (built on first use); None for any
    other spec. The seed picks the model, not the run."""
    kind, _, arg = spec.partition(":")
    if kind not in TINY_KINDS:
        return None
    try:
        seed = int(arg) if arg else 0
    except ValueError:
        raise ValueError(f"model spec '{spec}': the part after ':' must be a seed") from None
    return tiny_model_path(seed, pretrained=kind == "tiny-gaze")


def tiny_model_path(seed: int = 0, pretrained: bool = False) -> Path:
    """Build the tiny model once into the cache and reuse it (atomic rename: safe in parallel).

    ``pretrained`` is the ``tiny-gaze`` model: its vision tower pretrained on GazeWorld
    (a few minutes on 2 CPU cores, once)."""
    kind = "tiny-gaze" if pretrained else "tiny"
    target = _cache_root() / f"{kind}-{seed}-v{TINY_VERSION}-{corpus_hash()}"
    if (target / "config.json").exists() and (target / "processor_config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tiny-{seed}-", dir=target.parent))
    try:
        build_tiny_vlm(tmp, seed=seed, pretrain_steps=PRETRAIN_STEPS if pretrained else 0)
        # If another process won the race its copy is identical: keep it.
        with contextlib.suppress(OSError):
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
