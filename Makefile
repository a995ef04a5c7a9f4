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

# One process by default. TEST_WORKERS=2: two pytest-xdist workers (about 6.5 min instead
# of 10.5 on 2 cores), grouped by tests/conftest.py (a module, or every user of the session
# cluster). Two such runs each failed one test once, before free_port reserved the ports it
# hands out across processes (browsing/processes.py); the default stays one process.
TEST_WORKERS ?= 0

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# promtool checks the alert rules (tests/unit/test_deploy.py); without it they skip.
	command -v promtool >/dev/null || ./scripts/install-system-deps.sh promtool:prometheus \
		|| echo "promtool could not be installed: the alert rules' tests will skip"
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

unit: install
	$(PY) -m pytest tests/unit

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) -m bench.e2e
	$(PY) -m bench.contexts
	$(PY) -m bench.egress
	$(PY) -m bench.dispatch
	$(PY) -m bench.placement
	$(PY) -m bench.fanout
	$(PY) -m bench.agent_steps
	$(PY) -m bench.agent_suite
	$(PY) -m bench.waiters
	command -v wrk >/dev/null || ./scripts/install-system-deps.sh wrk
	$(PY) -m bench.submit
	$(PY) -m bench.node_throughput
	$(PY) -m bench.burst --hold

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
