"""Any transformers VLM with a chat template, or a prefix/suffix one (PaliGemma).

The processor's chat template turns vl4gaze messages (PIL images + text) into model
inputs for a whole batch at once; padding is on the left so every row's answer starts
right after its prompt, and decoding is greedy unless sampling is asked for. Only the
new tokens are decoded, keeping the special tokens that carry coordinates (Qwen2-VL's
``<|box_start|>(x1,y1),(x2,y2)<|box_end|>``, ``<box>`` / ``<ref>`` / ``<loc....>`` /
point tokens: without them a box reads as its first corner) and dropping the others
(padding, end of turn, image placeholders).

Per-call costs are paid once per model instead (issue 20): the generation config is
merged once per ``max_new_tokens`` and passed whole to ``generate`` (keyword options make
transformers build, merge and validate a fresh ``GenerationConfig`` on every call, ~10 ms
on a CPU: 9 % of a tiny model's batch-1 generate), and the ids decoding drops are
computed once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vl4gaze.models.base import Request
from vl4gaze.prompting import message_images, prefix_prompt, prompt_path

_DTYPES = ("auto", "float32", "float16", "bfloat16")

#: Special tokens whose text is part of a coordinate answer (kept when decoding).
COORDINATE_TOKEN = re.compile(r"box|point|ref|loc\d*|quad", re.IGNORECASE)


def dropped_special_ids(tokenizer: Any) -> set[int]:
    """Ids of the special tokens decoding removes: every special token (the named ones and
    added tokens flagged special, what ``skip_special_tokens=True`` removes) except those
    that carry coordinates (``COORDINATE_TOKEN``)."""
    special: dict[int, str] = {}
    for i, token in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
        if getattr(token, "special", False):
            special[int(i)] = str(getattr(token, "content", token))
    ids = getattr(tokenizer, "all_special_ids", None) or []
    names = getattr(tokenizer, "all_special_tokens", None) or []
    special.update(zip((int(i) for i in ids), (str(t) for t in names), strict=False))
    return {i for i, text in special.items() if not COORDINATE_TOKEN.search(text)}


def decode_answers(tokenizer: Any, sequences: Iterable[Sequence[int]],
                   drop: set[int] | None = None) -> list[str]:
    """Decode generated token ids keeping coordinate-carrying special tokens (stripped).

    ``drop``: :func:`dropped_special_ids` of the tokenizer, when the caller keeps it."""
    drop = dropped_special_ids(tokenizer) if drop is None else drop
    out = []
    for seq in sequences:
        ids = seq.tolist() if hasattr(seq, "tolist") else list(seq)
        kept = [i for i in ids if int(i) not in drop]
        out.append(tokenizer.decode(kept, skip_special_tokens=False).strip())
    return out


def _torch_dtype(dtype: str) -> Any:
    import torch

    if dtype == "auto":
        return "auto"
    if dtype not in _DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(_DTYPES)}")
    return getattr(torch, dtype)


def default_device() -> str:
    """cuda when there is one, else mps, else cpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class HFModel:
    """A transformers ``AutoModelForImageTextToText`` + ``AutoProcessor`` back end."""

    def __init__(
        self,
        name_or_path: str,
        *,
        name: str | None = None,
        device: str | None = None,
        dtype: str = "auto",
        do_sample: bool = False,
        temperature: float = 1.0,
        trust_remote_code: bool = False,
        attn_implementation: str | None = None,
    ) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.name = name or f"hf:{name_or_path}"
        self.path = str(name_or_path)
        self.device = device or default_device()
        self.do_sample = do_sample
        self.temperature = temperature
        kwargs: dict[str, Any] = {"dtype": _torch_dtype(dtype),
                                  "trust_remote_code": trust_remote_code}
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        try:
            self.processor = AutoProcessor.from_pretrained(
                self.path, trust_remote_code=trust_remote_code, padding_side="left")
            # The prompt path is known from the processor: fail before loading the weights.
            self.prompt_path = prompt_path(self.processor, self.path)
            self.model = AutoModelForImageTextToText.from_pretrained(self.path, **kwargs)
        except OSError as err:
            where = "directory" if Path(self.path).exists() else "hub name"
            raise OSError(f"cannot load a transformers VLM from {where} {self.path!r}: {err}"
                          ) from err
        self.model.to(self.device).eval()
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.tokenizer = tokenizer
        self.dropped_ids = dropped_special_ids(tokenizer)
        self._checkpoint_generation = self.model.generation_config
        self._generation: dict[int, Any] = {}  # max_new_tokens -> merged GenerationConfig

    def generation_config(self, max_new_tokens: int) -> Any:
        """The checkpoint's generation config with this back end's decoding options, merged
        once per ``max_new_tokens`` (the same values the keyword options gave; runs whose
        tasks have different answer budgets alternate between a few).

        It also becomes the model's own ``generation_config``: ``generate`` fills a passed
        config's unset fields from that one, which would bring a checkpoint's sampling
        settings (temperature, top_p, top_k) back into greedy decoding and warn each call."""
        config = self._generation.get(max_new_tokens)
        if config is None:
            config = copy.deepcopy(self._checkpoint_generation)
            options: dict[str, Any] = {"max_new_tokens": max_new_tokens,
                                       "do_sample": self.do_sample,
                                       "pad_token_id": self.tokenizer.pad_token_id}
            if self.do_sample:
                options["temperature"] = self.temperature
            else:  # a model's generation_config may ask for sampling: greedy means greedy
                options.update(temperature=None, top_p=None, top_k=None)
            config.update(**options)
            self._generation[max_new_tokens] = config
        self.model.generation_config = config
        return config

    def encode(self, requests: list[Request]) -> Any:
        """The batch as padded model inputs on the model's device (left padding).

        A processor without a chat template (PaliGemma) gets the conversation as its
        prefix text and the images in front (``vl4gaze.prompting.prefix_prompt``)."""
        if self.prompt_path == "prefix":
            inputs = self.processor(
                text=[prefix_prompt(r.messages) for r in requests],
                images=[message_images(r.messages) for r in requests],
                padding=True, return_tensors="pt")
        else:
            inputs = self.processor.apply_chat_template(
                [r.messages for r in requests],
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                processor_kwargs={"padding": True},
            )
        dtype = self.model.dtype
        return {k: (v.to(self.device, dtype=dtype) if v.is_floating_point() else v.to(self.device))
                for k, v in inputs.items()}

    def generate(self, requests: list[Request], max_new_tokens: int) -> list[str]:
        """Greedy (or sampled) answers for a batch of conversations."""
        import torch

        if not requests:
            return []
        inputs = self.encode(requests)
        config = self.generation_config(max_new_tokens)
        with torch.inference_mode():
            output = self.model.generate(**inputs, generation_config=config)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return decode_answers(self.tokenizer, new_tokens, self.dropped_ids)
