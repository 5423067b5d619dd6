# baremetal.provision developer loop.
#
#   make demo         the hardware-replacement story, end to end, on an embedded QEMU lab
#   make test         everything CI runs: packages, venv, lint, sanity, docs, unit, integration,
#                     the other ansible-core lines (compat), e2e
#
# Every target installs what it needs itself (Debian packages through apt-get when run as root,
# Python packages into .venv from requirements-dev.txt), so a fresh clone needs only `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
BUILD := .build
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/baremetal/provision
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/baremetal/provision
PYTEST_ARGS ?=
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(abspath $(COLLECTIONS))
export ANSIBLE_PYTHON_INTERPRETER := $(abspath $(BIN)/python)

# Daemons the roles configure and the lab that boots real firmware (see ../shared/LAB.md).
DEB_PACKAGES := isc-dhcp-server isc-dhcp-client isc-dhcp-relay kea-dhcp4-server kea-dhcp6-server kea-admin radvd tftpd-hpa tftp-hpa \
	nginx-light pxelinux syslinux-common grub-efi-amd64-bin grub-efi-amd64-signed shim-signed \
	ipxe ipxe-qemu ovmf qemu-system-x86 busybox-static cpio kmod iproute2 ipmitool curl \
	dosfstools mtools git systemd-container mmdebstrap openssh-client

.PHONY: help deps venv collection provisioner unit integration compat e2e e2e-installer sanity lint ruff yamllint \
	ansible-lint docs build ee changelog-lint test test-lanes bench bench-mechanisms bench-storm soak demo clean collector

help:
	@echo "make demo            replace a failed machine end to end on an embedded QEMU lab"
	@echo "make test            what CI runs: deps venv lint sanity docs unit integration compat e2e"
	@echo "make unit | integration | compat | e2e | e2e-installer | sanity | lint | docs | bench | bench-mechanisms"
	@echo "     | soak | provisioner | clean"
	@echo "make collector       the discovery collector (vmlinuz, initrd.img) into $(BUILD)/collector"

# --- installation -------------------------------------------------------------------------

# Debian packages; services must not start on install (a policy-rc.d guard is in place only
# for the duration of the install and only if none existed).
$(BUILD)/deps.stamp:
	@mkdir -p $(BUILD)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages (run as root to install): $$missing" >&2; exit 1; fi; \
	  echo "apt-get install: $$missing"; \
	  guard=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; guard=1; fi; \
	  trap '[ -n "$$guard" ] && rm -f /usr/sbin/policy-rc.d' EXIT; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing; }; \
	fi
	@touch $@

deps: $(BUILD)/deps.stamp

$(VENV)/.stamp: requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.stamp

$(COLLECTION_LINK):
	@mkdir -p $(dir $@)
	@ln -sfn ../../../.. $@

collection: $(COLLECTION_LINK)

# --- tests ---------------------------------------------------------------------------------

unit: venv collection
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

# The lab provisioner's root (Debian 12, systemd, sshd; the roles' packages in its apt cache),
# built once with mmdebstrap and cached under $(BUILD)/provisioner/<key of what goes in it>.
provisioner: deps venv
	$(BIN)/python tests/support/provisioner.py

integration: deps venv collection provisioner
	$(BIN)/pytest -q tests/integration $(PYTEST_ARGS)

# The other ansible-core lines (tests/support/compat.py: 2.16, 2.17, 2.18, 2.20, 2.21), each in its
# own venv under .build/compat on the Python it runs on, with the tests that do not need one line's
# internals; a line whose Python this machine lacks is skipped and named. COMPAT_ARGS=2.16 runs one.
compat: deps venv collection
	$(BIN)/python tests/support/compat.py $(COMPAT_ARGS)

e2e: deps venv collection
	@if [ -d tests/e2e ]; then $(BIN)/pytest -q tests/e2e $(PYTEST_ARGS); else echo "tests/e2e: nothing yet"; fi

# The real Debian installer (its netboot package, cached under .build/installer) boots off the
# provisioner in QEMU and takes the collection's preseed and local mirror. Minutes under TCG,
# so it runs in make soak, not make test. INSTALLER_FIRMWARE=bios|uefi picks one path.
e2e-installer: deps venv collection
	$(BIN)/pytest -q -s -p no:cacheprovider tests/installer $(PYTEST_ARGS)

# ansible-test needs the collection at .../ansible_collections/NS/NAME inside a git tree: test a
# copy of exactly the files git would ship (tracked and new, not ignored), committed in a
# throw-away repository.
sanity: venv
	@rm -rf $(BUILD)/sanity && mkdir -p $(SANITY_ROOT)
	@git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && cp --parents -P "{}" $(SANITY_ROOT)/ || true'
	@cd $(SANITY_ROOT) && git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@example.invalid commit -qm sanity
	@$(BIN)/python tests/support/get_pip_standin.py
	cd $(SANITY_ROOT) && $(abspath $(BIN))/ansible-test sanity --local --python 3.11 --color no

ruff: venv
	$(BIN)/ruff check $(wildcard plugins tests benchmarks)
	$(BIN)/ruff format --check $(wildcard plugins tests benchmarks roles)

yamllint: venv
	$(BIN)/yamllint -s .

ansible-lint: venv collection
	$(BIN)/ansible-lint --offline --profile production --nocolor

lint: ruff yamllint ansible-lint

build: venv
	@rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist .

# The built artifact installs, and ansible-doc renders every plugin from the installed copy.
docs: build
	@rm -rf $(BUILD)/installed
	ANSIBLE_COLLECTIONS_PATH=$(abspath $(BUILD)/installed) $(BIN)/ansible-galaxy collection install --force -p $(BUILD)/installed $(BUILD)/dist/baremetal-provision-*.tar.gz >/dev/null
	ANSIBLE_COLLECTIONS_PATH=$(abspath $(BUILD)/installed) $(BIN)/python tests/support/check_docs.py

# The AWX execution environment definition resolves (ansible-builder writes its build context).
ee: build
	@rm -rf $(BUILD)/ee-context
	$(BIN)/ansible-builder create -f awx/execution-environment.yml --context $(BUILD)/ee-context >/dev/null
	@test -f $(BUILD)/ee-context/_build/collections/baremetal-provision-$(VERSION).tar.gz
	@grep -q "ipmitool" $(BUILD)/ee-context/_build/bindep.txt
	@echo "ee: build context in $(BUILD)/ee-context (docker/podman build it with ansible-builder build)"

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# make test runs its stages in two lanes at once, then e2e alone:
#   checks:       lint changelog-lint sanity docs ee unit compat, one after the other. None of them
#                 uses a network namespace, nspawn, QEMU, a benchmark's fixed 127.64.x addresses or
#                 a fixed port (their servers bind port 0), so they cannot meet the other lane; each
#                 is mostly one process on one core. A test that needs any of those belongs in
#                 tests/integration or tests/e2e, not in tests/unit or compat's subset.
#   integration:  tests/integration (namespaces, the nspawn provisioner, QEMU), on the other core.
# e2e follows alone (QEMU boots one machine at a time, its firmware waits are the slowest part).
# Each stage writes to $(TEST_LOGS)/STAGE.log, printed whole, in the order above, when the lanes
# end; a line says when each stage ends. Every stage of the lanes runs; any failure fails make
# test, and e2e then does not run (as before: make test stopped at the first failing stage).
TEST_LOGS := $(BUILD)/test-logs
TEST_CHECKS := lint changelog-lint sanity docs ee unit compat

test: deps venv collection
	@$(MAKE) --no-print-directory test-lanes
	@$(MAKE) --no-print-directory e2e 2>&1 | tee $(TEST_LOGS)/e2e.log

# The two lanes of make test (above), without e2e.
# The lab provisioner's root (make provisioner: mmdebstrap on a clean clone) is built by the
# integration lane, while the checks lane runs.
test-lanes: deps venv collection
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	@lane() { \
	  local failed=0 stage start result; \
	  for stage in "$$@"; do \
	    start=$$SECONDS; \
	    if $(MAKE) --no-print-directory $$stage >$(TEST_LOGS)/$$stage.log 2>&1; then result=passed; else result=FAILED; failed=1; fi; \
	    echo "$$result in $$((SECONDS - start)) s" >$(TEST_LOGS)/$$stage.status; \
	    echo "== $$stage: $$result in $$((SECONDS - start)) s ($(TEST_LOGS)/$$stage.log)"; \
	  done; \
	  return $$failed; \
	}; \
	start=$$SECONDS; \
	lane $(TEST_CHECKS) & checks=$$!; \
	lane integration & integration=$$!; \
	failed=0; wait $$checks || failed=1; wait $$integration || failed=1; \
	for stage in $(TEST_CHECKS) integration; do \
	  echo; echo "======== $$stage: $$(cat $(TEST_LOGS)/$$stage.status 2>/dev/null || echo 'did not end')"; \
	  cat $(TEST_LOGS)/$$stage.log 2>/dev/null || true; \
	done; \
	echo; echo "== lanes: $$((SECONDS - start)) s"; \
	for stage in $(TEST_CHECKS) integration; do printf '   %-15s %s\n' $$stage "$$(cat $(TEST_LOGS)/$$stage.status 2>/dev/null || echo 'did not end')"; done; \
	if [ $$failed != 0 ]; then echo "make test: FAILED: $$(cd $(TEST_LOGS) && grep -l FAILED *.status | sed 's/\.status$$//' | tr '\n' ' ')" >&2; exit 1; fi

# The discovery collector from Debian's packages (roles/discovery/files/build-collector); its
# downloads and extracted packages stay in $(BUILD)/collector/cache, so a re-run takes seconds.
collector: deps
	$(PYTHON) roles/discovery/files/build-collector --out $(BUILD)/collector --cache $(BUILD)/collector/cache

# --- benchmarks, soak, demo ------------------------------------------------------------------

# Every benchmark runs even when one fails; the target fails at the end, naming the ones that did.
bench: deps venv collection
	@failed=; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS) || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "bench: failed:$$failed" >&2; exit 1; fi

# Each speed mechanism turned off in turn, at 10,000 systems in one segment (docs/performance.md).
bench-mechanisms: deps venv collection
	$(BIN)/python benchmarks/mechanisms.py $(BENCH_ARGS)

# A power-on storm against the rendered DHCP, TFTP and HTTP (docs/storm.md): as root, about 10 min.
bench-storm: deps venv collection
	$(BIN)/python benchmarks/bench_storm.py $(BENCH_ARGS)

# The long version of the hardening tests (make test runs a bounded one of each); the counts are
# printed at the end and kept in .build/hardening-report.json.
HARDENING = tests/unit/plugins/module_utils/test_properties.py tests/unit/plugins/module_utils/test_render_properties.py \
	tests/integration/test_crash_safety.py tests/integration/test_concurrency.py tests/integration/test_callback_hostile.py \
	tests/integration/test_record_modules.py
# Then the tests marked soak (@pytest.mark.soak, tests/conftest.py): heavy work that another test of
# make test covers, left out of make test.
soak: deps venv collection
	HYPOTHESIS_PROFILE=soak BAREMETAL_SOAK=1 $(BIN)/pytest -q -p no:cacheprovider $(HARDENING) $(PYTEST_ARGS)
	BAREMETAL_SOAK=1 $(BIN)/pytest -q -p no:cacheprovider -m soak tests/integration tests/e2e $(PYTEST_ARGS)
	$(MAKE) e2e-installer

demo: deps venv collection
	$(BIN)/python tests/support/demo.py

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache .hypothesis
