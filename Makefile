# 惠企 Huiqi — two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEEDS  ?= ../shared/seeds
DB     ?= var/huiqi.db
OUT    ?= var/documents

.PHONY: run test bench lint venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/huiqi ingest $(SEEDS) --db $(DB) --out $(OUT)
	$(BIN)/huiqi units --db $(DB) --limit 15

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src/huiqi

clean:
	rm -rf var .pytest_cache build *.egg-info
