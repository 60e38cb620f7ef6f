"""Answer-only labels built by vl4gaze itself, for every processor eval can prompt.

TRL's ``assistant_only_loss`` needs ``{% generation %}`` blocks in the chat template and
patches them in for a few families only (it refuses InternVL's template; LLaVA-1.5's and
LLaVA-OneVision's own blocks leave the end-of-turn token outside the loss, so the model
never learns to stop). Instead, every training example is rendered the way eval renders it:

* chat template: ``prompt`` is the conversation rendered with the generation prompt (the
  exact text eval sends); the ``completion`` is what the template writes after it for the
  assistant turn, up to and including the end-of-turn token (the tokenizer's EOS when the
  template writes none, as LLaVA-1.5's). Labels are the completion's tokens, nothing else.
* prefix / suffix processors without a chat template (PaliGemma): the prompt is the prefix
  (``vl4gaze.prompting.prefix_prompt``), the answer the ``suffix``; the processor builds the
  labels (answer + EOS) and the prefix-LM ``token_type_ids``.

``--max-length`` and length grouping measure prompt and answer from this same rendering.
"""

from __future__ import annotations

from typing import Any

from vl4gaze.prompting import prompt_path

IGNORE = -100

def _text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(p.get("text") or "" for p in content if p.get("type") == "text")


def render_chat(processor: Any, messages: list[dict[str, Any]], answer: str) -> tuple[str, str]:
    """``(prompt, completion)`` texts of one example under the processor's chat template.

    ``messages`` end with the user turn (no answer). The prompt is the generation prompt's
    rendering; the completion is ``lead + answer + end-of-turn`` where ``lead`` is what the
    template puts between the generation prompt and the answer (LLaVA-1.5's space) when the
    full rendering extends the prompt, and the end-of-turn token is the first thing the
    template writes after the answer (whitespace after it carries no loss)."""
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = processor.apply_chat_template(
        [*messages, {"role": "assistant", "content": [{"type": "text", "text": answer}]}],
        tokenize=False)
    at = full.rfind(answer) if answer else len(full.rstrip())
    if at < 0:
        raise ValueError(f"the chat template does not write the answer {answer!r} verbatim; "
                         "cannot tell which tokens to train")
    lead = full[len(prompt):at] if full.startswith(prompt) and len(prompt) <= at else ""
    tail = full[at + len(answer):].rstrip()
    if not tail:
        eos = getattr(getattr(processor, "tokenizer", processor), "eos_token", None)
        if not eos:
            raise ValueError("the chat template writes no end-of-turn token and the tokenizer "
                             "has no eos_token: the model could not learn to stop")
        tail = eos
    return prompt, lead + answer + tail


def split_example(example: dict[str, Any]) -> tuple[list[dict[str, Any]], str, list[Any]]:
    """(messages without the answer, the answer text, images) of a training example."""
    messages = list(example["messages"])
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError(f"example {example.get('item_id')}: the last message is not the answer")
    return messages[:-1], _text_of(messages[-1]), list(example.get("images") or [])


class AnswerCollator:
    """Batches training examples with labels on the answer and end-of-turn token only.

    Right padding; ``max_length`` cuts the end of a row (never its prompt, which
    :func:`vl4gaze.train.data.check_max_length` guarantees fits)."""

    def __init__(self, processor: Any, max_length: int | None = None) -> None:
        self.processor = processor
        self.path = prompt_path(processor)
        self.max_length = max_length
        self.tokenizer = getattr(processor, "tokenizer", processor)

    def texts(self, examples: list[dict[str, Any]]) -> tuple[list[str], list[str], list[Any]]:
        """Prompts, completions and per-example image lists."""
        from vl4gaze.prompting import prefix_prompt

        prompts, completions, images = [], [], []
        for example in examples:
            messages, answer, imgs = split_example(example)
            if self.path == "chat":
                prompt, completion = render_chat(self.processor, messages, answer)
            else:
                prompt, completion = prefix_prompt(messages), answer
            prompts.append(prompt)
            completions.append(completion)
            images.append([img.convert("RGB") if hasattr(img, "convert") else img
                           for img in imgs])
        return prompts, completions, images

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        prompts, completions, images = self.texts(examples)
        tok = self.tokenizer
        side, tok.padding_side = tok.padding_side, "right"
        try:
            if self.path == "prefix":
                batch = self.processor(text=prompts, images=images, suffix=completions,
                                       padding=True, return_tensors="pt")
            else:
                batch = self._chat_batch(prompts, completions, images)
        finally:
            tok.padding_side = side
        return self._truncate(batch)

    def _chat_batch(self, prompts: list[str], completions: list[str],
                    images: list[Any]) -> dict[str, Any]:
        import torch

        tok = self.tokenizer
        texts = [p + c for p, c in zip(prompts, completions, strict=True)]
        bos = tok.bos_token
        kwargs = {"add_special_tokens": False} if bos and texts[0].startswith(bos) else {}
        batch = self.processor(text=texts, images=images if any(images) else None,
                               padding=True, return_tensors="pt", **kwargs)
        ids, attention = batch["input_ids"], batch["attention_mask"]
        labels = torch.full_like(ids, IGNORE)
        for row, completion in enumerate(completions):
            want = tok(completion, add_special_tokens=False)["input_ids"]
            where = attention[row].nonzero().flatten()
            tail = where[len(where) - len(want):]
            if len(want) == 0 or len(want) > len(where) or ids[row, tail].tolist() != want:
                raise ValueError(f"the answer {completion!r} tokenizes differently inside the "
                                 "conversation than alone; cannot mark its tokens for the loss")
            labels[row, tail] = ids[row, tail]
        batch["labels"] = labels
        return batch

    def _truncate(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Cut the per-token rows (ids, masks, labels) to ``max_length``; image tensors stay
        whole (Qwen's 2-D ``pixel_values`` may happen to be as wide as the sequence)."""
        ids = batch["input_ids"]
        if self.max_length is None or ids.shape[1] <= self.max_length:
            return batch

        def per_token(key: str, value: Any) -> bool:
            return (key == "labels" or key.endswith(("_ids", "_mask"))) and \
                getattr(value, "shape", None) == ids.shape

        return {k: v[:, : self.max_length] if per_token(k, v) else v for k, v in batch.items()}

    def lengths(self, example: dict[str, Any]) -> tuple[int, int]:
        """(full, prompt) token length of one example, images expanded, as trained."""
        batch = self([example]) if self.max_length is None else \
            AnswerCollator(self.processor)([example])
        labels = batch["labels"][0]
        kept = (labels != IGNORE).nonzero().flatten()
        full = int(batch["attention_mask"][0].sum())
        return full, int(kept[0]) if len(kept) else full
