# The README's two commands:
#   make demo   converge the bundled default snapshot under the emulation and print what the routers computed,
#               then ask it what a pybatfish script asks Batfish (routes, BGP sessions, a traceroute), through
#               pybatfish's own Session served by realfish in-process (realfish.demo)
#   make test   the whole test suite
# Both install what they need first (as root): FRR and iproute2 from Debian, then the package, with its native
# library libreal, into .venv.

VENV ?= .venv
PY := $(VENV)/bin/python
SNAPSHOT ?= snapshots/fattree-k4
STAMP := $(VENV)/.installed

.PHONY: demo test setup system clean

demo: setup
	$(VENV)/bin/realfish converge $(SNAPSHOT) --json demo-report.json --show "show bgp summary json"
	$(PY) -m realfish.summary demo-report.json
	$(PY) -m realfish.demo $(SNAPSHOT)

test: setup
	$(PY) -m pytest -q -ra tests compat_tests

setup: system $(STAMP)

# Debian packages: FRR 8.4.4 itself, iproute2 for the namespace baseline, gcc for libreal, venv support,
# chromium to open the HTML diff report in a test (headless).
system:
	@missing=""; \
	for p in frr iproute2 gcc python3-venv python3-dev chromium; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml setup.py $(wildcard native/src/*.c native/src/*.h)
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,cluster]'
	touch $(STAMP)

clean:
	-$(VENV)/bin/realfish clean
	rm -rf $(VENV) build *.egg-info demo-report.json
