# LimitLab: all set-up goes through these targets (see README.md).
#
# PYTHON picks the interpreter, a command or a path: `make test PYTHON=python3.12`.
# Each Python minor version has its own virtual environment: `.venv` for the version of
# the default `python3`, `.venv-3.X` for any other (3.X as the interpreter reports it).
PYTHON ?= python3
PYVER_CMD := -c 'import sys; print("%d.%d" % sys.version_info[:2])'
PYVER := $(shell $(PYTHON) $(PYVER_CMD) 2>/dev/null)
ifeq ($(PYTHON),python3)
DEFAULT_PYVER := $(PYVER)
else
DEFAULT_PYVER := $(shell python3 $(PYVER_CMD) 2>/dev/null)
endif
ifeq ($(PYVER),$(DEFAULT_PYVER))
VENV := .venv
else
VENV := .venv-$(PYVER)
endif
PY := $(VENV)/bin/python
# Named after the version: a `.venv` left by another `python3` version is rebuilt.
STAMP := $(VENV)/.installed-py$(PYVER)

.PHONY: demo test test-slow bench lint format venv clean validate calibrate replicate readme-figure

# Re-installs when pyproject.toml changes; (re)creates the environment when it is missing,
# broken (no pip) or of another Python version.
$(STAMP): pyproject.toml
	@test -n "$(PYVER)" || { echo "make: cannot run PYTHON=$(PYTHON): give the command or path of a Python >= 3.11" \
		"(a pyenv shim runs only for a selected version; its path does: \`pyenv prefix 3.12.1\`/bin/python3)" >&2; exit 1; }
	@if ! $(PY) -c 'import sys, pip; sys.exit("%d.%d" % sys.version_info[:2] != "$(PYVER)")' 2>/dev/null; then \
		echo "Creating $(VENV) with $(PYTHON) (Python $(PYVER))"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip; \
	fi
	$(PY) -m pip install -e ".[test]"
	touch $@

venv: $(STAMP)
	@echo "$(VENV): Python $(PYVER)"

demo: $(STAMP)
	$(PY) -m experiments.demo

# Two test processes (pytest-xdist; the machines have 2 cores); the notebooks run on tiny books
# (LIMITLAB_NOTEBOOK_SMOKE=1: they check that every cell runs; see notebooks/README.md).
test: $(STAMP)
	LIMITLAB_NOTEBOOK_SMOKE=1 $(PY) -m pytest -q -n 2 --dist worksteal --nbmake tests notebooks

test-slow: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist worksteal -m slow

bench: $(STAMP)
	$(PY) -m experiments.bench

lint: $(STAMP)
	$(PY) -m ruff check sim experiments tests
	$(PY) -m ruff format --check sim experiments tests

format: $(STAMP)
	$(PY) -m ruff format sim experiments tests
	$(PY) -m ruff check --fix sim experiments tests

# Every Python version's environment.
clean:
	rm -rf .venv .venv-[0-9]* outputs multirun .pytest_cache

# Exit 1: the model missed validation targets; 2: the validation could not run.
validate: $(STAMP)
	@$(PY) -m experiments.validate $(VALIDATE_ARGS); rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "make validate: the model missed validation targets (exit 1; summary above, details in the report)" >&2; \
	elif [ $$rc -ne 0 ]; then echo "make validate: the validation could not run (exit $$rc; the error is above)" >&2; fi; \
	exit $$rc

calibrate: $(STAMP)
	$(PY) -m experiments.calibrate

# Virtual experiments of limit changes (exit 1: an issue-17 target missed).
replicate: $(STAMP)
	$(PY) -m experiments.replicate $(REPLICATE_ARGS)

readme-figure: $(STAMP)
	$(PY) -m experiments.readme_figure
