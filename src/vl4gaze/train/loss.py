"""Per-example loss weighting for multi-task SFT.

TRL averages the loss over the answer tokens of a batch, so an example weighs as much as
its answer is long: a two-token direction ("upper left") counts a tenth of a
"It cannot be answered: ..." sentence or a coordinate pair. With ``loss_per="example"``
each example's loss is the mean over its own answer tokens and the batch loss is the mean
over examples, so every task's share of the gradient is its share of the examples (what
``--task-mix`` sets). Lower is better, as for any loss.

    loss = 1/B * sum_b ( sum_t m[b,t] * -log p(y[b,t]) / sum_t m[b,t] )

with ``m`` the answer mask and ``B`` the number of examples that have answer tokens.
"""

from __future__ import annotations

from typing import Any

import torch

LOSS_PER = ("token", "example")


def example_mean_nll(log_probs: torch.Tensor, label_mask: torch.Tensor) -> torch.Tensor:
    """Mean over examples of each example's mean negative log-likelihood of its answer.

    ``log_probs`` and ``label_mask`` are (batch, tokens), ``log_probs`` zero where the mask
    is. Examples without answer tokens are left out; a batch with none gives 0.

    >>> lp = torch.log(torch.tensor([[0.5, 0.5, 0.0], [0.25, 0.0, 0.0]]).clamp(min=1e-9))
    >>> mask = torch.tensor([[True, True, False], [True, False, False]])
    >>> round(example_mean_nll(lp * mask, mask).item(), 4)  # (ln 2 + ln 4) / 2
    1.0397
    """
    counts = label_mask.sum(dim=-1)
    per_example = -log_probs.sum(dim=-1) / counts.clamp(min=1)
    has_answer = counts > 0
    return per_example[has_answer].sum() / has_answer.sum().clamp(min=1)


def example_weighted_trainer(base: type) -> type:
    """``base`` (TRL's SFTTrainer) with :func:`example_mean_nll` as its training loss.

    The token-level metrics TRL logs (entropy, token accuracy) are kept; the loss is divided
    by the gradient-accumulation steps like any per-batch mean.
    """

    class ExampleWeightedSFTTrainer(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.loss_is_scaled_for_ga = False  # a plain mean: the Trainer divides by GA

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            inputs["use_cache"] = False
            outputs = model(**inputs, fused_lm_head=True)
            loss = example_mean_nll(outputs.log_probs, outputs.label_mask)
            mode = "train" if self.model.training else "eval"
            gather = self.accelerator.gather_for_metrics
            valid = gather(outputs.label_mask.sum()).sum()
            if valid > 0:
                entropy = gather(outputs.entropy.detach().sum()).sum()
                correct = gather(outputs.is_top1.sum()).sum()
                self._metrics[mode]["entropy"].append((entropy / valid).item())
                self._metrics[mode]["mean_token_accuracy"].append((correct / valid).item())
            return (loss, outputs) if return_outputs else loss

    return ExampleWeightedSFTTrainer
