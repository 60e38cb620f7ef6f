# Two commands do everything on a fresh machine:  make demo  and  make test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAY_AUTH_MODE := disabled

.PHONY: install demo test lint browser clean check-harnesses

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

# Real lmms-eval 0.7.3 (own virtualenv under ~/.cache/vl4gaze-harness, installed on first
# use; skipped when it cannot be) against `vl4gaze eval` on the tiny LLaVA: answers and
# scores compared item by item. Minutes, so not part of `make test`; CI runs it too.
check-harnesses: install
	$(BIN)/python benchmarks/check_harnesses.py

clean:
	rm -rf $(VENV) demo-out
