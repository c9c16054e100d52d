# The two commands: `make run` (embedded: SQLite, in-process tasks, demo data)
# and `make test` (the whole suite). Both set themselves up. `make bench SCALE=small|full`
# prints the benchmarks' figures against their targets (bench/README.md).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEMO_CUSTOMERS ?= 2000
DEMO_SEED ?= 42
SCALE ?= small

.PHONY: run test install lint browser gettext messages bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The load generator of bench/load, an optional dependency group of its own.
$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/pip install --quiet -e ".[dev,bench]"
	touch $@

# Builds (or reuses) the scale's data set on the PostgreSQL at 127.0.0.1:5432, runs every
# bench that applies and prints one table; ONLY=name runs one. Redis db: BENCH_BROKER_URL.
bench: $(VENV)/.bench-installed
	CELERY_BROKER_URL=$${BENCH_BROKER_URL:-redis://127.0.0.1:6379/0} \
		$(PY) bench/run_all.py --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --if-empty
	DEBUG=1 $(PY) manage.py seed_members
	DEBUG=1 $(PY) manage.py run_pipeline
	DEBUG=1 $(PY) manage.py demo_logins
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

# Browser tests drive Debian's chromium; install it when it is missing and we may.
# A CJK font is only for legible screenshots, so failing to get one is a note.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| { echo "chromium is required for the browser tests: apt-get install chromium"; exit 1; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei; } \
		|| echo "note: no Chinese font; screenshots show boxes: apt-get install fonts-wqy-microhei"

# The translation tests run makemessages as `make messages` does: GNU gettext.
gettext:
	@command -v xgettext >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; } \
		|| { echo "GNU gettext is required for the translation tests: apt-get install gettext"; exit 1; }

test: install browser gettext
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=bench --ignore=tests --ignore=var
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=var
