# percl: `make run` starts the platform, `make test` runs the whole suite. Both bootstrap .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck bench clean

# The first run installs about 60 packages (1-2 minutes): pip's own progress is shown, not hidden.
$(BIN)/python:
	@echo "percl: creating the virtualenv $(VENV) (first run only)"
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --upgrade --progress-bar on pip

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "percl: installing percl and its dependencies into $(VENV) (first run: 1-2 minutes)"
	$(BIN)/pip install --progress-bar on -e '.[test]'
	@echo "percl: installed; next runs start at once"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/percl serve --demo

test: $(STAMP)
	$(BIN)/ruff check src tests examples
	$(BIN)/mypy
	@sh tests/setup/ensure_postgres.sh
	@sh tests/setup/ensure_espeak.sh
	@sh tests/setup/ensure_sipp.sh
	@sh tests/setup/ensure_chromium.sh
	@sh tests/setup/ensure_firefox.sh
	@sh tests/setup/ensure_kamailio.sh
	@sh tests/setup/ensure_baresip.sh
	$(BIN)/pytest

# The e2e suite as two percl workers on PostgreSQL (calls on one, REST on the other), a group CI
# runs besides `make test` (tests/e2e/workers_kit.py, docs/WORKERS.md); with it, kamailio's
# dispatcher in front of two percl processes (tests/telephony/sip/test_sip_dispatcher.py).
.PHONY: test-workers
test-workers: $(STAMP)
	@sh tests/setup/ensure_postgres.sh
	@sh tests/setup/ensure_sipp.sh
	@sh tests/setup/ensure_kamailio.sh
	$(BIN)/pytest tests/e2e tests/telephony/sip/test_sip_dispatcher.py --pg-workers

lint: $(STAMP)
	$(BIN)/ruff check src tests examples

typecheck: $(STAMP)
	$(BIN)/mypy

# Benchmarks (not part of `make test`), moderate sizes; `make bench BENCH_ARGS=--quick` for a smoke run
# of benchmarks 1-4. The 10,000-call case: $(BIN)/python bench/concurrency.py --calls 10000
# (docs/BENCHMARKS.md says how to run and read each one).
BENCHES := setup_rate ceiling engine_latency concurrency media_dsp media_detect media_tts media_asr
bench: $(STAMP)
	@for b in $(BENCHES); do $(BIN)/python bench/$$b.py $(BENCH_ARGS) || exit 1; echo; done
	@if [ -f bench/kit_throughput.py ]; then $(BIN)/python bench/kit_throughput.py || exit 1; fi

clean:
	rm -rf $(VENV) var build *.egg-info

# A wheel of percl in dist/ (percl is not on PyPI): pip install "dist/percl-0.1.0-py3-none-any.whl[testing]"
.PHONY: dist
dist: $(BIN)/python
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

# AudioStream's gRPC code (issue 14): regenerate the committed modules after editing ivr.proto.
.PHONY: proto
proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Isrc --python_out=src --pyi_out=src --grpc_python_out=src \
		src/percl/streaming/proto/ivr.proto
