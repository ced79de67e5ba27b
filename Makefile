# 惠企 Huiqi — two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEEDS  ?= ../shared/seeds
DB     ?= var/huiqi.db
OUT    ?= var/documents

.PHONY: run test bench lint venv clean serve vendor

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,postgres,spark,web]'
	@# Chinese labels in PNG charts need a CJK font; best effort, charts fall back to English labels.
	@fc-list :lang=zh 2>/dev/null | grep -q . || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1)) || \
	  echo "提示:未能安装中文字体 fonts-wqy-microhei,PNG 图表将使用英文标签"; }
	touch $(STAMP)

# Front-end code (HTMX, ECharts) comes from npm with its lockfile, never committed, never from a CDN:
# the app serves it from static/vendor.
VENDOR := src/huiqi/web/static/vendor
VENDOR_FILES := $(VENDOR)/htmx.min.js $(VENDOR)/echarts.min.js $(VENDOR)/swagger-ui/swagger-ui-bundle.js
$(VENDOR_FILES): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(VENDOR)/swagger-ui
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/swagger-ui/

vendor: $(VENDOR_FILES)

venv: $(STAMP) $(VENDOR_FILES)

# The main job on embedded defaults (SQLite + DuckDB): build the policy base from the seeds,
# verify every rule's citation against it, compute one enterprise, simulate a city.
run: $(STAMP) $(VENDOR_FILES)
	$(BIN)/huiqi ingest $(SEEDS) --db $(DB) --out $(OUT)
	$(BIN)/huiqi units --db $(DB) --limit 15
	$(BIN)/huiqi rules check --db $(DB)
	$(BIN)/huiqi calc examples/linhai-machinery.yaml --date 2022-09-01 --out var/linhai-machinery.xlsx
	@# One enterprise registry (企业名录) for evaluation and simulation: synth it, grade it, then simulate with
	@# the classes just graded (临海 A/B-class rules are decided); the store is var/evaluations.
	$(BIN)/huiqi synth --city 临海 --n 20000 --seed 7 --years 2021-2022 --out var/linhai-registry.parquet
	$(BIN)/huiqi evaluate var/linhai-registry.parquet --method linhai-2022 --out var/linhai-muju-2022.xlsx
	$(BIN)/huiqi simulate var/linhai-registry.parquet --date 2023-06-01 --out var/linhai-simulation.xlsx
	$(BIN)/huiqi synth --city 十堰 --n 20000 --seed 7 --out var/shiyan-20k.parquet
	$(BIN)/huiqi simulate var/shiyan-20k.parquet --date 2019-06-01 --out var/shiyan-simulation.xlsx
	@# Governance (issue 11): 督办 board from the seeds, example actuals and project ledger, the 2023-03 通报.
	$(BIN)/huiqi tasks sync --db $(DB)
	$(BIN)/huiqi tasks check --today 2023-03-31 --db $(DB) > var/governance-notices.txt
	$(BIN)/huiqi targets actuals import examples/governance/actuals.csv --replace --db $(DB)
	$(BIN)/huiqi projects import examples/governance/projects.xlsx --db $(DB)
	$(BIN)/huiqi tasks list --limit 15 --db $(DB)
	$(BIN)/huiqi report monthly --month 2023-03 --db $(DB) --out var/调度通报-2023-03.xlsx --html var/调度通报-2023-03.html

test: $(STAMP) $(VENDOR_FILES)
	$(BIN)/python -m pytest

# The web platform on the embedded policy base (imports the seeds first when it is empty).
serve: $(STAMP) $(VENDOR_FILES)
	@test -s $(DB) || $(BIN)/huiqi ingest $(SEEDS) --db $(DB) --out $(OUT)
	$(BIN)/huiqi serve --db $(DB)

bench: $(STAMP) $(VENDOR_FILES)
	$(BIN)/python -m pip install -q -e '.[bench]'   # OpenFisca, a peer in the simulation benchmark only
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src/huiqi

clean:
	rm -rf var .pytest_cache build *.egg-info node_modules $(VENDOR)
