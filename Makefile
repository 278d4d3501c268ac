# Convenience targets; the README's two commands work without make.
PY := .venv/bin/python
# sqlfluff's dbt templater compiles against a data root (the warehouse must exist).
DATA ?= $(CURDIR)/data

.PHONY: install run test lint format clean

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

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf data/reference data/landing data/lake data/warehouse data/reports data/manifest data/carrier_invoices data/outbound data/airflow
