demo:
	scripts/demo.sh

test:
	scripts/test.sh

lint:
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench

messages:
	cd src/loupan && ../../.venv/bin/loupan makemessages -l en --no-obsolete && ../../.venv/bin/loupan compilemessages -l en

mutate:
	scripts/mutate.sh

bench:
	.venv/bin/python bench/run.py

.PHONY: demo test lint messages bench mutate
