"""Tiny random models of ten open VLM families, built offline for the family test matrix.

Each family gets: random weights from its own config class (hidden 32, one or two layers, a
one-layer vision tower), a byte-level BPE trained with ``tokenizers`` on vl4gaze's prompt
vocabulary plus the family's special tokens, the image-processor settings of its released
``preprocessor_config.json`` (sizes, patch sizes, min/max pixels, tiling flags) and its
original chat template: TRL's package copies where TRL ships one (``trl/chat_templates/``),
else written here to the layout the model card documents (LLaVA-1.5, LLaVA-OneVision,
InternVL3-hf). PaliGemma has no chat template (prompt as prefix, answer as suffix).

Only the weights are random: what vl4gaze does with the processor, template and tokenizer is
what it does with the real checkpoint named in ``Family.checkpoint``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

HIDDEN = 32
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]


def trl_template(name: str) -> str:
    """One of TRL's stored original chat templates (``trl/chat_templates/NAME.jinja``)."""
    return (resources.files("trl") / "chat_templates" / f"{name}.jinja").read_text()


#: llava-hf/llava-1.5-7b-hf: "USER: <image>\n... ASSISTANT:", every text followed by a space,
#: no end-of-turn token (the model stops with </s>); only the answer text is a generation block.
#: Checked against huggingface/transformers tests/models/llava/test_processing_llava.py
#: (commit e1b551679e267be053b45581cbabd028a14defd2), which carries the released template.
LLAVA_15_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "{{ message['role'].upper() + ': '}}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' '}}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

#: llava-hf/llava-onevision-qwen2-0.5b-ov-hf: "<|im_start|>role " + images + "\n" + text +
#: "<|im_end|>"; the generation prompt is "<|im_start|>assistant\n" (no space: the rendered
#: conversation does not start with the rendered prompt). Checked against huggingface/transformers
#: tests/models/llava_onevision/test_processing_llava_onevision.py
#: (commit e6ca32c8effb541f265f27e098af0a869e71516b).
LLAVA_ONEVISION_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ '\n' + content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ '\n' + content['text'] }}{% endgeneration %}{% endfor %}{% endif %}"
    "{{'<|im_end|>'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

#: OpenGVLab/InternVL3-1B-hf: ChatML with "<IMG_CONTEXT>\n" per image (the processor expands
#: it to <img><IMG_CONTEXT>*256</img>); no generation blocks (TRL cannot patch it). As written by
#: huggingface/transformers src/transformers/models/internvl/convert_internvl_weights_to_hf.py
#: into the -hf checkpoints (the revisions that convert InternVL3; the stored copy at commit
#: 18a290761052c04f8c8efc41a06ae80b95f7e26a predates the template, so no commit is pinned).
INTERNVL_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{{'<|im_end|>\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{'<|im_start|>assistant\n' }}{% endif %}"
)

QWEN_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
               "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
QWEN_NAMED = {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
              "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"}
IDEFICS_TILES = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]


def _text(vocab: int, **extra: Any) -> dict[str, Any]:
    return {"vocab_size": vocab, "hidden_size": HIDDEN, "intermediate_size": 2 * HIDDEN,
            "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
            "max_position_embeddings": 8192, "tie_word_embeddings": False, **extra}


def _siglip(image_size: int, patch_size: int, **extra: Any) -> dict[str, Any]:
    return {"hidden_size": HIDDEN, "intermediate_size": 2 * HIDDEN, "num_hidden_layers": 1,
            "num_attention_heads": 2, "image_size": image_size, "patch_size": patch_size,
            **extra}


def build_tokenizer(specials: list[str], *, bos: str | None, eos: str, pad: str,
                    named: dict[str, str] | None = None) -> Any:
    """Byte-level BPE on vl4gaze's prompt vocabulary with ``specials`` as special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from vl4gaze.models.tiny import _corpus

    specials = list(dict.fromkeys([pad, eos, *([bos] if bos else []), *specials]))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=768, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos,
                                   pad_token=pad, extra_special_tokens=named or {},
                                   model_max_length=32768)


@dataclass(frozen=True)
class Family:
    """One VLM family: how its tiny model is made and the real checkpoint it stands for."""

    name: str
    checkpoint: str
    build: Callable[[], tuple[Any, Any, list[str]]]  # -> (processor, config, end tokens)
    slow: bool = False


def _ids(tok: Any, *tokens: str) -> list[int]:
    return [tok.convert_tokens_to_ids(t) for t in tokens]


def _qwen2_vl(v25: bool) -> Callable[[], tuple[Any, Any, list[str]]]:
    def build() -> tuple[Any, Any, list[str]]:
        import transformers as tf

        tok = build_tokenizer(QWEN_TOKENS, bos=None, eos="<|im_end|>", pad="<|endoftext|>",
                              named=QWEN_NAMED)
        # Qwen/Qwen2-VL-2B-Instruct and Qwen2.5-VL-3B-Instruct preprocessor_config.json
        image = tf.Qwen2VLImageProcessor(min_pixels=3136, max_pixels=12845056, patch_size=14,
                                         temporal_patch_size=2, merge_size=2,
                                         image_mean=CLIP_MEAN, image_std=CLIP_STD)
        processor_cls = tf.Qwen2_5_VLProcessor if v25 else tf.Qwen2VLProcessor
        processor = processor_cls(image_processor=image, tokenizer=tok,
                                  video_processor=tf.Qwen2VLVideoProcessor(),
                                  chat_template=trl_template("qwen2_5_vl"))
        text = _text(len(tok), rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
                     head_dim=16, bos_token_id=None, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id)
        if v25:
            vision = {"depth": 1, "hidden_size": HIDDEN, "intermediate_size": 2 * HIDDEN,
                      "num_heads": 2, "out_hidden_size": HIDDEN, "fullatt_block_indexes": [0],
                      "patch_size": 14, "spatial_merge_size": 2, "window_size": 112}
            config_cls = tf.Qwen2_5_VLConfig
        else:
            vision = {"depth": 1, "embed_dim": HIDDEN, "hidden_size": HIDDEN, "num_heads": 2,
                      "mlp_ratio": 2, "patch_size": 14, "spatial_merge_size": 2}
            config_cls = tf.Qwen2VLConfig
        image_id, video_id, start_id, end_id = _ids(
            tok, "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")
        config = config_cls(text_config=text, vision_config=vision, image_token_id=image_id,
                            video_token_id=video_id, vision_start_token_id=start_id,
                            vision_end_token_id=end_id)
        return processor, config, ["<|im_end|>", "<|endoftext|>"]

    return build


def _qwen3_vl() -> tuple[Any, Any, list[str]]:
    import transformers as tf

    tok = build_tokenizer(QWEN_TOKENS, bos=None, eos="<|im_end|>", pad="<|endoftext|>",
                          named=QWEN_NAMED)
    # Qwen/Qwen3-VL-2B-Instruct preprocessor_config.json
    image = tf.Qwen2VLImageProcessor(size={"shortest_edge": 65536, "longest_edge": 16777216},
                                     patch_size=16, temporal_patch_size=2, merge_size=2,
                                     image_mean=HALF, image_std=HALF)
    processor = tf.Qwen3VLProcessor(image_processor=image, tokenizer=tok,
                                    video_processor=tf.Qwen3VLVideoProcessor(),
                                    chat_template=trl_template("qwen3_vl"))
    # Two layers: deepstack features join the hidden states after layer 0 at the image
    # positions, so only a later layer carries them to the answer (and their gradient back).
    text = _text(len(tok), head_dim=16, num_hidden_layers=2, bos_token_id=None,
                 eos_token_id=tok.eos_token_id,
                 pad_token_id=tok.pad_token_id, rope_scaling={
                     "rope_type": "default", "mrope_section": [2, 3, 3],
                     "mrope_interleaved": True})
    vision = {"depth": 2, "hidden_size": HIDDEN, "intermediate_size": 2 * HIDDEN,
              "num_heads": 2, "out_hidden_size": HIDDEN, "patch_size": 16,
              "spatial_merge_size": 2, "temporal_patch_size": 2,
              "num_position_embeddings": 2304, "deepstack_visual_indexes": [0]}
    image_id, video_id, start_id, end_id = _ids(
        tok, "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")
    config = tf.Qwen3VLConfig(text_config=text, vision_config=vision, image_token_id=image_id,
                              video_token_id=video_id, vision_start_token_id=start_id,
                              vision_end_token_id=end_id)
    return processor, config, ["<|im_end|>", "<|endoftext|>"]


def _idefics_like(smol: bool) -> Callable[[], tuple[Any, Any, list[str]]]:
    def build() -> tuple[Any, Any, list[str]]:
        import transformers as tf

        image_tokens = ["<image>", "<fake_token_around_image>", "<global-img>",
                        "<end_of_utterance>", *IDEFICS_TILES]
        if smol:
            tok = build_tokenizer(image_tokens, bos="<|im_start|>", eos="<end_of_utterance>",
                                  pad="<|im_end|>", named={"image_token": "<image>"})
            # HuggingFaceTB/SmolVLM2-256M-Video-Instruct preprocessor_config.json
            image = tf.SmolVLMImageProcessor(
                do_image_splitting=True, size={"longest_edge": 2048},
                max_image_size={"longest_edge": 512}, resample=1, image_mean=HALF,
                image_std=HALF)
            processor = tf.SmolVLMProcessor(image_processor=image, tokenizer=tok,
                                            video_processor=tf.SmolVLMVideoProcessor(),
                                            image_seq_len=64,
                                            chat_template=trl_template("smolvlm"))
            vision, scale, config_cls = _siglip(512, 16), 4, tf.SmolVLMConfig
        else:
            tok = build_tokenizer(image_tokens, bos="<|begin_of_text|>",
                                  eos="<end_of_utterance>", pad="<|end_of_text|>",
                                  named={"image_token": "<image>"})
            # HuggingFaceM4/Idefics3-8B-Llama3 preprocessor_config.json
            image = tf.Idefics3ImageProcessor(
                do_image_splitting=True, size={"longest_edge": 1456},
                max_image_size={"longest_edge": 364}, resample=1, image_mean=HALF,
                image_std=HALF)
            processor = tf.Idefics3Processor(image_processor=image, tokenizer=tok,
                                             image_seq_len=169,
                                             chat_template=trl_template("idefics3"))
            vision, scale, config_cls = _siglip(364, 14), 2, tf.Idefics3Config
        text = _text(len(tok), model_type="llama", pad_token_id=tok.pad_token_id)
        config = config_cls(text_config=text, vision_config=vision, scale_factor=scale,
                            image_token_id=tok.convert_tokens_to_ids("<image>"))
        return processor, config, ["<end_of_utterance>"]

    return build


def _llava_onevision() -> tuple[Any, Any, list[str]]:
    import transformers as tf

    tok = build_tokenizer([*QWEN_TOKENS, "<image>", "<video>"], bos=None, eos="<|im_end|>",
                          pad="<|endoftext|>", named={"image_token": "<image>",
                                                     "video_token": "<video>"})
    pinpoints = [[384 * i, 384 * j] for i in range(1, 7) for j in range(1, 7)]
    # llava-hf/llava-onevision-qwen2-0.5b-ov-hf preprocessor_config.json: anyres tiling
    image = tf.LlavaOnevisionImageProcessor(
        size={"height": 384, "width": 384}, image_grid_pinpoints=pinpoints, do_pad=True,
        resample=3, image_mean=HALF, image_std=HALF)
    processor = tf.LlavaOnevisionProcessor(
        image_processor=image, tokenizer=tok, video_processor=tf.LlavaOnevisionVideoProcessor(),
        num_image_tokens=729, vision_feature_select_strategy="full",
        chat_template=LLAVA_ONEVISION_TEMPLATE, vision_aspect_ratio="anyres_max_9")
    config = tf.LlavaOnevisionConfig(
        text_config=_text(len(tok), model_type="qwen2"),
        vision_config={"model_type": "siglip_vision_model", **_siglip(384, 14)},
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        video_token_index=tok.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="full", vision_feature_layer=-1,
        vision_aspect_ratio="anyres_max_9", image_grid_pinpoints=pinpoints)
    return processor, config, ["<|im_end|>", "<|endoftext|>"]


def _gemma3() -> tuple[Any, Any, list[str]]:
    import transformers as tf

    tok = build_tokenizer(["<start_of_turn>", "<end_of_turn>", "<start_of_image>",
                           "<end_of_image>", "<image_soft_token>"], bos="<bos>", eos="<eos>",
                          pad="<pad>", named={"boi_token": "<start_of_image>",
                                              "eoi_token": "<end_of_image>",
                                              "image_token": "<image_soft_token>"})
    # google/gemma-3-4b-it preprocessor_config.json (pan-and-scan off by default)
    image = tf.Gemma3ImageProcessor(size={"height": 896, "width": 896}, resample=2,
                                    image_mean=HALF, image_std=HALF, do_pan_and_scan=None,
                                    pan_and_scan_min_crop_size=256,
                                    pan_and_scan_max_num_crops=4,
                                    pan_and_scan_min_ratio_to_activate=1.2)
    processor = tf.Gemma3Processor(image_processor=image, tokenizer=tok, image_seq_length=256,
                                   chat_template=trl_template("gemma3"))
    boi, eoi, soft = _ids(tok, "<start_of_image>", "<end_of_image>", "<image_soft_token>")
    config = tf.Gemma3Config(
        text_config=_text(len(tok), head_dim=16, sliding_window=512,
                          pad_token_id=tok.pad_token_id),
        vision_config=_siglip(896, 14), mm_tokens_per_image=256, boi_token_index=boi,
        eoi_token_index=eoi, image_token_index=soft)
    return processor, config, ["<end_of_turn>", "<eos>"]


def _paligemma() -> tuple[Any, Any, list[str]]:
    import transformers as tf

    tok = build_tokenizer(["<image>"], bos="<bos>", eos="<eos>", pad="<pad>",
                          named={"image_token": "<image>"})
    # google/paligemma-3b-pt-224 preprocessor_config.json
    image = tf.SiglipImageProcessor(size={"height": 224, "width": 224}, resample=3,
                                    image_mean=HALF, image_std=HALF)
    image.image_seq_length = 256
    processor = tf.PaliGemmaProcessor(image_processor=image, tokenizer=tok)
    config = tf.PaliGemmaConfig(
        text_config=_text(len(tok), model_type="gemma", head_dim=16,
                          pad_token_id=tok.pad_token_id),
        vision_config=_siglip(224, 14, projection_dim=HIDDEN),
        image_token_index=tok.convert_tokens_to_ids("<image>"), projection_dim=HIDDEN)
    return processor, config, ["<eos>"]


def _internvl() -> tuple[Any, Any, list[str]]:
    import transformers as tf

    tok = build_tokenizer([*QWEN_TOKENS, "<img>", "</img>", "<IMG_CONTEXT>", "<video>"],
                          bos=None, eos="<|im_end|>", pad="<|endoftext|>",
                          named={"start_image_token": "<img>", "end_image_token": "</img>",
                                 "context_image_token": "<IMG_CONTEXT>",
                                 "video_token": "<video>"})
    # OpenGVLab/InternVL3-1B-hf preprocessor_config.json (the processor crops to patches)
    image = tf.GotOcr2ImageProcessor(size={"height": 448, "width": 448}, crop_to_patches=False,
                                     min_patches=1, max_patches=12, resample=3,
                                     image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    processor = tf.InternVLProcessor(image_processor=image, tokenizer=tok,
                                     video_processor=tf.InternVLVideoProcessor(),
                                     image_seq_length=256, chat_template=INTERNVL_TEMPLATE)
    config = tf.InternVLConfig(
        vision_config={"hidden_size": HIDDEN, "intermediate_size": 2 * HIDDEN,
                       "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": [448, 448], "patch_size": [14, 14]},
        text_config=_text(len(tok), model_type="qwen2"), downsample_ratio=0.5,
        image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"), vision_feature_layer=-1)
    return processor, config, ["<|im_end|>", "<|endoftext|>"]


def _llava_15() -> tuple[Any, Any, list[str]]:
    import transformers as tf

    tok = build_tokenizer(["<unk>", "<image>"], bos="<s>", eos="</s>", pad="<pad>",
                          named={"image_token": "<image>"})
    # llava-hf/llava-1.5-7b-hf preprocessor_config.json (CLIP ViT-L/336: resize + centre crop)
    image = tf.CLIPImageProcessor(size={"shortest_edge": 336},
                                  crop_size={"height": 336, "width": 336}, do_center_crop=True,
                                  resample=3, image_mean=CLIP_MEAN, image_std=CLIP_STD)
    processor = tf.LlavaProcessor(image_processor=image, tokenizer=tok, patch_size=14,
                                  vision_feature_select_strategy="default",
                                  num_additional_image_tokens=1,
                                  chat_template=LLAVA_15_TEMPLATE)
    config = tf.LlavaConfig(
        text_config=_text(len(tok), model_type="llama", pad_token_id=tok.pad_token_id),
        vision_config={"model_type": "clip_vision_model", **_siglip(336, 14),
                       "projection_dim": HIDDEN},
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default", vision_feature_layer=-2)
    return processor, config, ["</s>"]


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("qwen2-vl", "Qwen/Qwen2-VL-2B-Instruct", _qwen2_vl(False)),
    Family("qwen2.5-vl", "Qwen/Qwen2.5-VL-3B-Instruct", _qwen2_vl(True)),
    Family("qwen3-vl", "Qwen/Qwen3-VL-2B-Instruct", _qwen3_vl),
    Family("smolvlm2", "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", _idefics_like(True),
           slow=True),
    Family("idefics3", "HuggingFaceM4/Idefics3-8B-Llama3", _idefics_like(False), slow=True),
    Family("llava-onevision", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", _llava_onevision,
           slow=True),
    Family("gemma3", "google/gemma-3-4b-it", _gemma3, slow=True),
    Family("paligemma", "google/paligemma-3b-mix-224", _paligemma),
    Family("internvl3", "OpenGVLab/InternVL3-1B-hf", _internvl),
    Family("llava-1.5", "llava-hf/llava-1.5-7b-hf", _llava_15),
)}


def build_family(name: str, path: Path, seed: int = 0) -> Path:
    """Write family ``name``'s tiny random model + processor to ``path`` and return it."""
    import torch
    from transformers import AutoModelForImageTextToText, GenerationConfig

    processor, config, end_tokens = FAMILIES[name].build()
    tok = processor.tokenizer
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=_ids(tok, *end_tokens), pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id, do_sample=False, max_new_tokens=16)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    (path / "vl4gaze_family.json").write_text(json.dumps({"family": name,
                                                         "checkpoint": FAMILIES[name].checkpoint,
                                                         "end_tokens": end_tokens}))
    return path
