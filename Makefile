# gueststate: the site, the package and their checks.  `make html` and `make check` are all a
# fresh Debian 12 clone needs; both create the virtualenv first.

VENV        ?= .venv
PYTHON      := $(VENV)/bin/python
SPHINXBUILD := $(VENV)/bin/sphinx-build
SPHINXOPTS  ?= -W -n -j auto
BUILDDIR    ?= _build

.PHONY: venv deps html doctest lint typecheck test live check compat bench fuzz linkcheck \
        linkcheck-external clean

venv: $(VENV)/.installed

deps:
	tools/debian-deps

# The stamp is remade whenever the dependency list or its pins change.
$(VENV)/.installed: pyproject.toml constraints.txt | deps
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,live]'
	touch $@

html: venv
	$(SPHINXBUILD) $(SPHINXOPTS) -b html . $(BUILDDIR)/html

doctest: venv
	$(SPHINXBUILD) -W -n -b doctest . $(BUILDDIR)/doctest

lint: venv
	$(VENV)/bin/ruff check src tests bench tools conf.py

typecheck: venv
	$(VENV)/bin/mypy

test: venv
	$(VENV)/bin/pytest -q

live: venv
	$(VENV)/bin/pytest -q -m live

check: lint typecheck test doctest html compat

# The wheel in clean virtualenvs: lowest and newest Sphinx, a foreign grammar, the docs-only
# build with no system tools (tools/compat.py says what each checks).
compat: venv
	$(PYTHON) tools/compat.py $(BUILDDIR)/compat

bench: venv
	@for script in bench/bench_*.py; do echo "== $$script"; $(PYTHON) $$script || exit 1; done

fuzz: venv
	$(VENV)/bin/pytest -q tests/test_fuzz.py --hypothesis-profile=long
	mkdir -p $(BUILDDIR)/fuzz
	$(PYTHON) tests/test_fuzz.py -max_total_time=600 -artifact_prefix=$(BUILDDIR)/fuzz/

# Internal links only (CI has no network); `make test` runs it too (tests/test_trust_links.py).
linkcheck: venv
	$(SPHINXBUILD) -n -b linkcheck -D 'linkcheck_ignore=^https?://' . $(BUILDDIR)/linkcheck

linkcheck-external: venv
	$(SPHINXBUILD) -n -b linkcheck . $(BUILDDIR)/linkcheck-external

clean:
	rm -rf $(BUILDDIR) .pytest_cache .mypy_cache .ruff_cache .hypothesis
