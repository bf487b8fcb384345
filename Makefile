# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
export UV_PYTHON_DOWNLOADS := never
UV ?= $(shell command -v uv 2>/dev/null || echo .venv-uv/bin/uv)
PY := .venv/bin/python
NPM := $(shell command -v npm 2>/dev/null)
PRISM := tests/.cache/prism/node_modules/.bin/prism

.PHONY: install run test test-fast lint bench bench-instructions bench-evals cli-demo clean screenshots prism mutation

$(UV):
	python3 -m venv .venv-uv && .venv-uv/bin/pip install -q uv

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras --compile-bytecode
	@touch $@

# Bytecode compiled once at install (a venv made before --compile-bytecode gets it here): `make run` then loads Gradio
# from .pyc instead of compiling thousands of files on every start when PYTHONDONTWRITEBYTECODE is set.
.venv/.compiled: .venv/.installed
	$(PY) -m compileall -q -j 0 $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null || true
	@touch $@

install: .venv/.installed .venv/.compiled

# The playground's own bytecode, compiled again only when one of its files changed (no interpreter start otherwise).
.venv/.playground-compiled: $(wildcard playground/*.py playground/*/*.py playground/*/*/*.py) | .venv/.installed
	@$(PY) -m compileall -q playground
	@touch $@

run: install .venv/.playground-compiled
	$(PY) -m playground.cli ui $(UI_ARGS)

# Stoplight Prism (npm) checks the Chat Completions bodies we build against OpenAI's spec (tests/providers/test_prism.py).
# It goes into the ignored tests/.cache/; `make test` installs it when npm is present. Without npm its tests skip,
# saying how to install it; under CI=true a failed install fails here and the tests fail instead of skipping.
prism: $(PRISM)

$(PRISM):
	@scripts/install_prism.sh >/dev/null || { [ "$$CI" != true ] && \
		echo "make prism: could not install Stoplight Prism; tests/providers/test_prism.py will skip" >&2; }

test: install $(if $(NPM),prism)
	$(PY) -m pytest -q --durations=15

test-fast: install
	$(PY) -m pytest -q -m "not browser"

lint: install
	.venv/bin/ruff check playground agents tests benchmarks
	.venv/bin/pyright

bench: install
	$(PY) benchmarks/overhead.py

bench-instructions: install  ## call/tool loop/stream/history ratios in CPU instructions (valgrind): repeatable to the unit
	$(PY) benchmarks/instructions.py

bench-evals: install  ## evaluation throughput: cases/s at concurrency 1/4/16 (demo model, local fake server)
	$(PY) benchmarks/evals.py

bench-jobs: install  ## job queue: enqueue latency, jobs/s with 1 and 2 workers (SqliteHuey, RedisHuey when reachable)
	$(PY) benchmarks/jobs.py

cli-demo: install
	$(PY) -m playground.cli run agents/weather.py "What's the weather in Paris and Rome?"

clean:
	rm -rf .venv .venv-uv .pytest_cache .ruff_cache

screenshots: install  ## re-take the README's screenshots (the browser tests, writing into assets/)
	PLAYGROUND_SCREENSHOTS_DIR=$(CURDIR)/assets $(PY) -m pytest -q tests/ui/test_browser.py tests/ui/test_jupyterlab.py

mutation: install  ## mutation testing of the safety code (mutmut; minutes, not part of make test): score per module
	$(PY) scripts/mutation_report.py
