# OpenRange: `make run` sets everything up and runs the range controller on the simulator;
# `make test` sets everything up and runs the checks and the whole test suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_PACKAGES := python3-venv libmpv2 ffmpeg espeak-ng fonts-dejavu-core
# deploy/update tests: RAUC on file-backed slots, a private D-Bus, images, keys, systemd-analyze
DEPLOY_TEST_PACKAGES := rauc squashfs-tools dbus-daemon e2fsprogs dosfstools mtools fdisk openssl systemd
TEST_PACKAGES := $(RUN_PACKAGES) chromium $(DEPLOY_TEST_PACKAGES)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RUN_ARGS ?= --hardware sim
PYTEST_ARGS ?=

.PHONY: setup setup-test run test lint bench crash-test soak clean

# Installs the Debian packages named in $(1) that are not installed yet.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

$(BIN)/.installed: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

setup:
	$(call apt_install,$(RUN_PACKAGES))
	@$(MAKE) --no-print-directory $(BIN)/.installed

setup-test:
	$(call apt_install,$(TEST_PACKAGES))
	@$(MAKE) --no-print-directory $(BIN)/.installed

run: setup
	$(BIN)/openrange run $(RUN_ARGS)

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	@for b in detection sim_hit_latency input_to_action gpio_latency branch_switch panel_api; do \
	  echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

# 200 SIGKILLs of the service during scripted sessions (the suite runs 20)
crash-test: setup-test
	OPENRANGE_CRASH_KILLS=200 $(BIN)/python -m pytest -q -s tests/test_crash_safety.py

# long benchmarks of the service process: 10 tablets at 100 events/s, an 8-hour day in 15 min, idle budget
soak: setup
	$(BIN)/python bench/service_load.py load --tablets 10 --rate 100 --minutes 10
	$(BIN)/python bench/service_load.py soak --minutes 15
	$(BIN)/python bench/service_load.py idle --seconds 60

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info test-artifacts
