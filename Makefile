# labkit: `make lab` opens the notebooks, `make test` runs every check.
# Both create .venv and install what they need first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# JupyterLab's defaults for this kit: no "get notified about Jupyter news?" prompt over the
# first notebook, no update checks (binder/postBuild installs the same file).
OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: lab test lint types unit nbval bench notebooks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks,bench]'
	rm -f $(VENV)/.installed-*
	touch $@

$(OVERRIDES): tools/jupyterlab_overrides.json $(STAMP)
	mkdir -p $(dir $@)
	cp tools/jupyterlab_overrides.json $@

# The notebooks are this checkout's own: trusting them lets JupyterLab show their committed
# charts (SVG) before any cell runs, instead of a text placeholder.
lab: $(STAMP) $(OVERRIDES)
	$(BIN)/jupyter trust notebooks/*.ipynb
	$(BIN)/jupyter lab --ServerApp.root_dir=. \
		--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb \
		$(if $(filter 0,$(shell id -u)),--allow-root,)

lint: $(STAMP)
	$(BIN)/ruff check .

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

# Every notebook is re-executed and its outputs compared strictly with the committed ones.
nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks

test: lint types unit nbval

# The notebooks' sources are the MyST markdown files (notebooks/*.md, paired with jupytext).
# Update each .ipynb from its .md (outputs kept), re-execute it in place, then strip widget
# state, widget views and timing metadata (execution counts and outputs are kept).
notebooks: $(STAMP)
	$(BIN)/jupytext --sync notebooks/[0-9]*.md
	for nb in notebooks/[0-9]*.ipynb; do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; \
	done
	$(BIN)/python tools/strip_widget_state.py notebooks/[0-9]*.ipynb
	$(BIN)/jupytext --sync notebooks/[0-9]*.ipynb

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
