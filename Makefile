VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test unit lint bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	./scripts/install-system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,local]'
	touch $(STAMP)

run: install
	$(VENV)/bin/browsing up

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/e2e.py
	$(PY) bench/egress.py
	$(PY) bench/dispatch.py
	$(PY) bench/placement.py
	$(PY) bench/fanout.py
	$(PY) bench/agent_steps.py
	$(PY) bench/waiters.py
	command -v wrk >/dev/null || ./scripts/install-system-deps.sh wrk
	$(PY) bench/submit.py
	$(PY) bench/node_throughput.py
	$(PY) bench/burst.py --hold

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
