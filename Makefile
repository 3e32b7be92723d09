# TDP developer commands. The README's quick start is `make up` and `make test`.
.PHONY: up test install services migrate demo run lint format check bench clean

PY := .venv/bin/python
export REDIS_URL ?= redis://127.0.0.1:6379/0

## up: install what is missing, start services, migrate, load demo data, run web + worker + scheduler
up: install migrate demo run

## test: install what is missing, then lint, checks and the whole test suite (unit, integration, browser)
test:
	scripts/bootstrap.sh --browser
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

install services:
	scripts/bootstrap.sh

migrate:
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input -v 0

demo:
	$(PY) manage.py setup_demo

run:
	scripts/run.sh

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## bench: run every benchmark script (results go in bench/README.md)
bench:
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf .venv var .pytest_cache .ruff_cache
