# Boucle: the two commands a newcomer needs are `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
BOUCLE := $(VENV)/bin/boucle
APT    := DEBIAN_FRONTEND=noninteractive apt-get
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test fuzz bench lint system-deps venv clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,cluster]'
	touch $@

venv: $(VENV)/.installed

# Debian packages the tests use: a real mosquitto broker, a real Chromium, DejaVu (PDF accents).
system-deps:
	@if [ ! -x /usr/sbin/mosquitto ] || [ ! -x /usr/bin/chromium ] || \
	    [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
		$(SUDO) $(APT) update -qq && \
		$(SUDO) $(APT) install -y -qq --no-install-recommends mosquitto chromium fonts-dejavu-core; \
	fi

# `make demo PUBLISH=1`: spectators read from an embedded mosquitto; `make demo CLUSTER=1`: from a
# 3-node NATS cluster (nats-server from the `cluster` extra), see docs/scaling.md
demo: venv $(if $(PUBLISH),system-deps)
	$(BOUCLE) demo $(if $(PUBLISH),--publish) $(if $(CLUSTER),--cluster)

# the suite waits on real sockets, browsers and races played in real time more than it computes: four
# workers on two cores (one file per worker at a time: files share their servers and browser); the
# service processes the tests start reuse compiled bytecode rather than compiling every module again
TEST_WORKERS ?= 4
test: venv system-deps
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

# the Hypothesis fuzz tests run deep: `make test` tries BOUCLE_FUZZ_EXAMPLES=50 (tests/fuzzing.py)
FUZZ_EXAMPLES ?= 1000
fuzz: venv system-deps
	BOUCLE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile \
		$(wildcard tests/test_*fuzz*.py)

bench: venv
	$(PY) bench/replay.py
	$(PY) bench/p3_decode.py
	$(PY) bench/decoders.py
	$(PY) bench/latency.py
	$(PY) bench/rmonitor.py
	$(PY) bench/static_assets.py
	$(PY) bench/fanout.py --clients 1000
	$(PY) bench/web_frames.py
	$(PY) bench/boundary.py
	$(PY) bench/entries.py
	$(PY) bench/flood.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) test-output
