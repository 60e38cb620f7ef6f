# Two commands do everything on a fresh machine:  make demo  and  make test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAY_AUTH_MODE := disabled

.PHONY: install demo test lint browser clean check-harnesses bench-eval-vs-lmms

# torch + torchvision first (pinned, from the local wheels; runs on CPU), so that nothing
# later pulls another build; torchvision is needed by the Qwen-VL, SmolVLM and
# LLaVA-OneVision processors.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/vl4gaze demo -o demo-out

lint: install
	$(BIN)/ruff check .

# Debian's chromium for the report gallery's browser test (skipped if it cannot be had).
browser:
	-command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

test: install lint browser
	$(BIN)/python -m pytest

# The real consumers, each in its own virtualenv under ~/.cache/vl4gaze-harness (installed
# on first use; skipped with a message when it cannot be): lmms-eval 0.7.3 against
# `vl4gaze eval` on the tiny LLaVA (answers and scores item by item), VLMEvalKit 0.0.20
# (dataset, prompts, evaluate on every prediction format), LLaMA-Factory 0.9.5 and TRL
# (a few SFT steps on the exports). Minutes, so not part of `make test`; CI runs it too.
# One tool: `make check-harnesses ONLY=vlmevalkit`.
check-harnesses: install
	$(BIN)/python benchmarks/check_harnesses.py $(if $(ONLY),--only $(ONLY))

# `vl4gaze eval` against lmms-eval 0.7.3 (llava_hf) on the same tiny LLaVA and ~200
# GazeWorld items, whole processes interleaved, one torch thread: items/s ratios at batch
# 1 and 8 (issue 20). Installs lmms-eval's virtualenv as check-harnesses does if missing.
bench-eval-vs-lmms: install
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_eval_vs_lmms.py --install --startup

clean:
	rm -rf $(VENV) demo-out
