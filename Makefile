# LimitLab: all set-up goes through these targets (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-slow bench lint format venv clean validate calibrate readme-figure

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m experiments.demo

test: $(STAMP)
	$(PY) -m pytest -q --nbmake tests notebooks

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) -m experiments.bench

lint: $(STAMP)
	$(PY) -m ruff check sim experiments tests
	$(PY) -m ruff format --check sim experiments tests

format: $(STAMP)
	$(PY) -m ruff format sim experiments tests
	$(PY) -m ruff check --fix sim experiments tests

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache

validate: $(STAMP)
	$(PY) -m experiments.validate

calibrate: $(STAMP)
	$(PY) -m experiments.calibrate

readme-figure: $(STAMP)
	$(PY) -m experiments.readme_figure
