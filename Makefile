# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 5000
HOST   ?= 127.0.0.1
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test chromium fonts postgres gdal lint benchmarks clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "需要 Python >= 3.11 (Python 3.11 or newer is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

install-test: $(VENV)/.installed-test

## Install, create/upgrade the database (demo data when empty), serve on http://$(HOST):$(PORT)
## with gunicorn (`locator serve`: what servers run; `locator run` is the development server)
run: install
	$(BIN)/locator init
	$(BIN)/locator serve --host $(HOST) --port $(PORT)

## Install everything the tests need (Chromium, a CJK font and PostgreSQL included) and run the whole suite
test: install-test chromium fonts postgres gdal
	$(BIN)/python -m pytest

## Debian's Chromium for the browser tests, installed when missing
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "color emoji"; } || { \
		echo "installing Debian's chromium and an emoji font for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium \
			fonts-noto-color-emoji fonts-noto-cjk; }

## A Chinese font for the PNG/PDF exports (Debian's fonts-wqy-microhei), installed when missing
fonts:
	@[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || \
	[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || { \
		echo "installing Debian's fonts-wqy-microhei for PNG/PDF exports"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-wqy-microhei; }

## Debian's PostgreSQL server for tests/pg, installed when missing (the tests start a
## throwaway cluster of their own with its initdb and pg_ctl; no service is used)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing Debian's postgresql for the PostgreSQL tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

## Debian's GDAL command-line tools (ogrinfo, ogr2ogr) for the OGC API client tests, installed
## when missing
gdal:
	@command -v ogrinfo >/dev/null 2>&1 || { \
		echo "installing Debian's gdal-bin for the OGC API client tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gdal-bin; }

lint: install-test
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check locator tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
