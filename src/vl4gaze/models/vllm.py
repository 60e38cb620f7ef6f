"""Offline batched inference with vLLM, for users with GPUs (``pip install 'vl4gaze[vllm]'``).

``LLM(...).chat(conversations)`` takes the whole batch at once; vLLM schedules it with
continuous batching and applies the model's own chat template. Images go in as PIL
parts (``image_pil``, vLLM >= 0.7) or, with ``image_parts="data_url"``, as base64
``image_url`` parts that every vLLM version with chat support reads. Decoding is greedy
(temperature 0). Answers are decoded from the generated token ids with
``vl4gaze.models.hf.decode_answers``, which keeps coordinate-carrying special tokens
(vLLM's own text drops every special token). vLLM is imported only when a model is
created, with a clear message when it is missing.
"""

from __future__ import annotations

from typing import Any

from vl4gaze.models.base import Request
from vl4gaze.models.hf import decode_answers
from vl4gaze.models.openai_api import to_openai_messages

INSTALL_HINT = ("vLLM is not installed. On a machine with a CUDA GPU: pip install "
                "'vl4gaze[vllm]' (vLLM pins its own CUDA torch, so use a separate "
                "environment). Without a GPU, use --model hf:NAME instead.")


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    return vllm


def to_vllm_messages(messages: list[dict[str, Any]], image_parts: str = "pil"
                     ) -> list[dict[str, Any]]:
    """vl4gaze messages -> vLLM chat messages (OpenAI schema plus ``image_pil`` parts)."""
    if image_parts not in ("pil", "data_url"):
        raise ValueError(f"image_parts must be 'pil' or 'data_url', got {image_parts!r}")
    if image_parts == "data_url":
        return to_openai_messages(messages)
    return to_openai_messages(messages,
                              image_part=lambda image: {"type": "image_pil", "image_pil": image})


def engine_args(*, dtype: str = "auto", tensor_parallel_size: int = 1,
                gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                max_images: int = 8, seed: int = 0, trust_remote_code: bool = False,
                **_ignored: Any) -> dict[str, Any]:
    """vLLM engine arguments (all but the model) from vl4gaze's model options: one place
    for :class:`VLLMModel` and the Ray Data LLM path (``vl4gaze.scale``). Options meant
    for other back ends (``device``) are ignored."""
    kwargs: dict[str, Any] = {
        "dtype": dtype, "seed": seed, "tensor_parallel_size": int(tensor_parallel_size),
        "gpu_memory_utilization": gpu_memory_utilization,
        "limit_mm_per_prompt": {"image": int(max_images)},
        "trust_remote_code": bool(trust_remote_code),
    }
    if max_model_len:
        kwargs["max_model_len"] = max_model_len
    return kwargs


def sampling_params(max_new_tokens: int) -> dict[str, Any]:
    """vLLM sampling parameters: greedy, at most ``max_new_tokens`` (``VLLMModel`` and the
    Ray Data LLM path)."""
    return {"temperature": 0.0, "max_tokens": max_new_tokens}


class VLLMModel:
    """A vLLM engine in this process; ``generate`` sends the batch in one ``chat`` call."""

    def __init__(
        self,
        name_or_path: str,
        *,
        name: str | None = None,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        max_images: int = 8,
        seed: int = 0,
        trust_remote_code: bool = False,
        image_parts: str = "pil",
    ) -> None:
        vllm = _import_vllm()
        self.name = name or f"vllm:{name_or_path}"
        self.image_parts = image_parts
        self._vllm = vllm
        self.llm = vllm.LLM(model=name_or_path, **engine_args(
            dtype=dtype, tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
            max_images=max_images, seed=seed, trust_remote_code=trust_remote_code))

    def generate(self, requests: list[Request], max_new_tokens: int) -> list[str]:
        if not requests:
            return []
        params = self._vllm.SamplingParams(**sampling_params(max_new_tokens))
        conversations = [to_vllm_messages(r.messages, self.image_parts) for r in requests]
        outputs = self.llm.chat(conversations, params, use_tqdm=False)
        return self._texts([o.outputs[0] for o in outputs])

    def _texts(self, outputs: list[Any]) -> list[str]:
        """Answers from their token ids (special coordinate tokens kept), else vLLM's text."""
        get_tokenizer = getattr(self.llm, "get_tokenizer", None)
        if get_tokenizer is None or any(getattr(o, "token_ids", None) is None for o in outputs):
            return [o.text.strip() for o in outputs]
        return decode_answers(get_tokenizer(), [list(o.token_ids) for o in outputs])
