# Convenience targets; the README's two commands work without make.
PY := .venv/bin/python
# sqlfluff's dbt templater compiles against a data root (the warehouse must exist).
DATA ?= $(CURDIR)/data
# Scales `make bench` runs, e.g. SCALES=1M,10M,100M,200M (docs/benchmarks.md).
SCALES ?= 1M

.PHONY: install run test lint format clean bench

install:
	python3 scripts/bootstrap.py install

run:
	python3 scripts/bootstrap.py run

test:
	python3 scripts/bootstrap.py test

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	mkdir -p $(DATA)/warehouse
	TELCOLAKE_DATA=$(DATA) $(PY) -m sqlfluff lint dbt_project/models

bench: install
	$(PY) -m pipelines.cli bench --scale $(SCALES)

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf data/reference data/landing data/lake data/warehouse data/reports data/manifest data/carrier_invoices data/outbound data/airflow
