# The two commands of the README, each doing its own set-up on a fresh Debian / Ubuntu machine:
#   make demo   the main job end to end on the embedded default (no hardware, no server)
#   make test   the test suite (oracles and peers: libtiff tools, Ghostscript, tesseract, efax, spandsp)
# Debian packages are installed when running as root; otherwise they must already be there.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DEBS := fonts-dejavu-core fontconfig libturbojpeg0 libjpeg62-turbo-dev
DEBS := libtiff-tools libtiff6 ghostscript fonts-dejavu-core clang libclang-rt-14-dev tesseract-ocr qpdf fontconfig fonts-droid-fallback efax postgresql libspandsp-dev libtiff-dev pkg-config wrk libturbojpeg0 libjpeg62-turbo-dev

.PHONY: demo test debs venv clean

# the Debian packages first: the C extensions are built against some of them (libjpeg's headers)
demo:
	@$(MAKE) --no-print-directory debs DEBS="$(DEMO_DEBS)"
	@$(MAKE) --no-print-directory venv
	$(PY) -m faxpipe demo -o demo-out

test: debs venv
	$(PY) -m pytest -q $(PYTEST_ARGS)

debs:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  fi; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py faxpipe/codec/*.c faxpipe/codec/*.h
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) setup.py -q build_ext --inplace
	touch $@

clean:
	rm -rf $(VENV) build demo-out faxpipe/codec/*.so
