# gueststate: the site, the package and their checks.  `make html` and `make check` are all a
# fresh Debian 12 or 13 clone needs; both create the virtualenv first.

VENV        ?= .venv
PYTHON      := $(VENV)/bin/python
SPHINXBUILD := $(VENV)/bin/sphinx-build
SPHINXOPTS  ?= -W -n -j auto
BUILDDIR    ?= _build

.PHONY: venv deps html doctest lint typecheck test live check checks compat matrix bench \
        fuzz linkcheck linkcheck-external clean

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

# pytest's temporary directories stay in the build directory, not in /tmp.
test: venv
	mkdir -p $(BUILDDIR)
	$(VENV)/bin/pytest -q --basetemp=$(BUILDDIR)/pytest

live: venv
	mkdir -p $(BUILDDIR)
	$(VENV)/bin/pytest -q -m live --basetemp=$(BUILDDIR)/pytest

# Every test, on the libvirt this machine has; and nothing left outside the clone's build dirs.
check:
	tools/nothing-left-behind $(MAKE) --no-print-directory checks

checks: lint typecheck test doctest html compat

# The wheel in clean virtualenvs: lowest and newest Sphinx, a foreign grammar, the docs-only
# build with no system tools (tools/compat.py says what each checks).
compat: venv
	$(PYTHON) tools/compat.py $(BUILDDIR)/compat

# The live tests and doctests on libvirt 9.0.0, 11.3.0 and 12.9.0, each in a Debian system of its
# own (tools/debian-system; the first run builds them); records what each release answered in
# kbase/versions.json. Ends with one `libvirt X.Y.Z / QEMU A.B.C: N passed, M failed` per release.
matrix: deps
	tools/matrix

# Byte-compiled first, as an installed wheel is: the editable .venv would otherwise compile every
# module in every timed run when PYTHONDONTWRITEBYTECODE is set.
bench: venv
	@$(PYTHON) -m compileall -q src
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
