"""Decoding keeps the special tokens that carry coordinates (HF and vLLM back ends).

The tokenizer is built offline with ``tokenizers``: one token per character plus the
special tokens of Qwen2-VL's grounding markup, its end of turn and its padding.
"""

from __future__ import annotations

import sys
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.models.base import Request
from vl4gaze.models.hf import HFModel, decode_answers, dropped_special_ids
from vl4gaze.parse.points import parse_point

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


CHARS = list("0123456789(),.[]<> abcdefghijklmnopqrstuvwxyz")
COORDINATE_SPECIALS = ["<|box_start|>", "<|box_end|>", "<|object_ref_start|>",
                       "<|object_ref_end|>", "<box>", "</box>", "<ref>", "</ref>"]
OTHER_SPECIALS = ["<|vision_start|>", "<|image_pad|>"]
ANSWER = ("<|object_ref_start|>the cup<|object_ref_end|>"
          "<|box_start|>(100,200),(300,400)<|box_end|>")


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab={c: i for i, c in enumerate(CHARS)}, unk_token=" "))
    core.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": COORDINATE_SPECIALS + OTHER_SPECIALS})
    return tok


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_the_box_markup_survives_decoding(tokenizer) -> None:
    ids = [*_ids(tokenizer, "<|vision_start|>" + ANSWER), tokenizer.eos_token_id,
           tokenizer.pad_token_id]
    assert decode_answers(tokenizer, [ids]) == [ANSWER]
    dropped = {tokenizer.convert_ids_to_tokens(i) for i in dropped_special_ids(tokenizer)}
    assert dropped == {"<|im_end|>", "<|endoftext|>", *OTHER_SPECIALS}


class _FakeModel:
    """Stands in for a transformers VLM: 'generates' a fixed continuation per row."""

    dtype = torch.float32

    def __init__(self, continuations: list[list[int]]) -> None:
        from transformers import GenerationConfig

        self.continuations = continuations
        self.generation_config = GenerationConfig()

    def generate(self, input_ids, generation_config):
        width = max(len(c) for c in self.continuations)
        pad = generation_config.pad_token_id
        rows = [c + [pad] * (width - len(c)) for c in self.continuations]
        return torch.cat([input_ids, torch.tensor(rows)], dim=1)


def test_hf_generate_reads_the_box_centre(tokenizer, monkeypatch) -> None:
    """Before: ``skip_special_tokens=True`` left "the cup(100,200),(300,400)", read as
    the first corner (0.1, 0.2) instead of the box centre (0.2, 0.3)."""
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    model = HFModel.__new__(HFModel)
    model.tokenizer, model.device, model.do_sample = tokenizer, "cpu", False
    model.model = _FakeModel([[*_ids(tokenizer, ANSWER), eos],
                              [*_ids(tokenizer, "(0.5, 0.25)"), eos]])
    # what __init__ sets up once per model (issue 20: no per-call merging)
    model.dropped_ids, model._generation = dropped_special_ids(tokenizer), {}
    model._checkpoint_generation = model.model.generation_config
    prompt = torch.tensor([[pad, 3, 4], [5, 6, 7]])
    monkeypatch.setattr(model, "encode", lambda requests: {"input_ids": prompt})
    answers = model.generate([Request([], None), Request([], None)], 40)
    assert answers == [ANSWER, "(0.5, 0.25)"]
    got = parse_point(answers[0], "qwen2-vl", (640, 480), hint="norm")
    assert got.as_tuple() == (0.2, 0.3) and got.rule == "qwen2_box:norm1000:tag"


def test_vllm_decodes_the_token_ids(tokenizer, monkeypatch) -> None:
    from vl4gaze.models import load_model

    ids = [*_ids(tokenizer, ANSWER), tokenizer.eos_token_id]

    class FakeLLM:
        def __init__(self, **kwargs):
            pass

        def get_tokenizer(self):
            return tokenizer

        def chat(self, conversations, params, use_tqdm=False):
            text = tokenizer.decode(ids, skip_special_tokens=True)  # what vLLM gives
            out = types.SimpleNamespace
            return [out(outputs=[out(text=text, token_ids=tuple(ids))]) for _ in conversations]

    fake = types.SimpleNamespace(LLM=FakeLLM, SamplingParams=lambda **kw: kw)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    model = load_model("vllm:Qwen/Qwen2-VL-2B-Instruct")
    assert model.generate([Request([], None)], 40) == [ANSWER]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(CHARS + COORDINATE_SPECIALS + OTHER_SPECIALS
                                + ["<|im_end|>", "<|endoftext|>"]), max_size=30))
def test_decoding_drops_exactly_the_non_coordinate_specials(tokenizer, pieces) -> None:
    ids = [tokenizer.convert_tokens_to_ids(p) for p in pieces]
    text = decode_answers(tokenizer, [ids])[0]
    kept = "".join(p for p in pieces if p not in [*OTHER_SPECIALS, "<|im_end|>", "<|endoftext|>"])
    assert text == kept.strip()
    if not any(p in COORDINATE_SPECIALS for p in pieces):  # nothing to keep: as before
        assert text == tokenizer.decode(ids, skip_special_tokens=True).strip()
