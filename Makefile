# Two commands set everything up on a fresh machine:
#   make article   build the article (export on the default config, then the site)
#   make test      run the tests
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CONFIG ?= article/export.toml
DATA   ?= article/data
SITE   ?= _site
PORT   ?= 8000

# Stamps make a second run with nothing changed reinstall nothing.
SITE_STAMP := $(VENV)/.stamp-site
FULL_STAMP := $(VENV)/.stamp-full

.PHONY: article export site serve test bench lint clean

article: export site
	@echo "Article built in $(SITE)/index.html — run 'make serve' and open http://127.0.0.1:$(PORT)/"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The site build needs no torch: prose-only edits install just this.
$(SITE_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

# Export and tests: torch, open_clip, umap-learn, Playwright ...
$(FULL_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[export,test,distributed]'
	@touch $@ $(SITE_STAMP)

export: $(FULL_STAMP)
	$(PY) -m exporter export --config $(CONFIG) --out $(DATA)

site: $(SITE_STAMP)
	$(PY) -m sitebuild --article article --data $(DATA) --out $(SITE)

serve: $(SITE_STAMP)
	@echo "Serving $(SITE) on http://127.0.0.1:$(PORT)/"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory $(SITE)

test: $(FULL_STAMP)
	$(PY) -m pytest

bench: $(FULL_STAMP)
	$(PY) bench/run_all.py

lint: $(FULL_STAMP)
	$(PY) -m ruff check exporter sitebuild outfolder headless tests bench

clean:
	rm -rf $(SITE) .cache .pytest_cache
