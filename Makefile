# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
REFERENCE_VENV := .venv-reference
CUTOUT_MODEL_DIR ?= models
CUTOUT_EVAL_DIR ?= ../shared/eval
export CUTOUT_MODEL_DIR CUTOUT_EVAL_DIR

.PHONY: setup reference-env browser test lint format run eval bench clean

setup: $(VENV)/.installed $(CUTOUT_MODEL_DIR)/u2netp.onnx $(CUTOUT_MODEL_DIR)/u2netp-int8.onnx

$(VENV)/.installed: requirements-*.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(CUTOUT_MODEL_DIR)/u2netp.onnx: scripts/fetch_model.py | $(VENV)/.installed
	$(BIN)/python scripts/fetch_model.py --model-dir $(CUTOUT_MODEL_DIR)

# The `fast` preset's int8 model is built here from the fp32 file, never downloaded.
$(CUTOUT_MODEL_DIR)/u2netp-int8.onnx: $(CUTOUT_MODEL_DIR)/u2netp.onnx scripts/quantize_model.py
	$(BIN)/python scripts/quantize_model.py --model-dir $(CUTOUT_MODEL_DIR)

# pysodmetrics pins numpy<2.3.5, so the independent metric values come from their own venv.
reference-env: $(REFERENCE_VENV)/.installed

$(REFERENCE_VENV)/.installed: requirements-reference.txt
	test -x $(REFERENCE_VENV)/bin/python || $(PYTHON) -m venv $(REFERENCE_VENV)
	$(REFERENCE_VENV)/bin/python -m pip install --quiet -r requirements-reference.txt
	touch $@

# The web page's test drives Debian's chromium through Playwright (never a browser download:
# no `playwright install`). Installed when missing and apt-get is there to do it as root;
# elsewhere the browser test skips and says why.
browser:
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || [ "$$(id -u)" != 0 ] \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "chromium could not be installed: the browser test will be skipped"

test: setup reference-env browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# `make run` starts the job service locally: redis-server, one Celery worker, the webhook
# sender and the API on 127.0.0.1:8000. Options: make run RUN_ARGS="--api-port 8080 --workers 2".
run: setup
	$(BIN)/python scripts/run_local.py $(RUN_ARGS)

eval: setup
	$(BIN)/cutout eval $(CUTOUT_EVAL_DIR)/dev

# Speed and memory against rembg (in its own .venv-bench, built by rembg_env.sh), written to
# bench/results/*.json; `python -m bench.report` turns them into the README's tables.
bench: setup
	bash bench/rembg_env.sh
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.cli_batch
	$(BIN)/python -m bench.engines
	$(BIN)/python -m bench.service
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.server_compare
	$(BIN)/python -m bench.encode_levels --size 1024
	$(BIN)/python -m bench.encode_levels --size 12mp --repeat 3

clean:
	rm -rf $(VENV) $(REFERENCE_VENV) .pytest_cache .mypy_cache .ruff_cache
