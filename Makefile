# Supernetes: install, test, demo. Run as root on Debian 12.
#
#   make demo   install everything, then run the main job
#   make test   install everything, then lint, check the layers and run the tests
#   make e2e KUBECONFIG=/path/to/admin.kubeconfig   the end-to-end suite against that cluster
#
# `make install` is idempotent: apt runs only when a package is missing, pip only
# when setup.cfg changed since the venv was last built.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

APT_PACKAGES := \
	python3 python3-venv python3-dev build-essential libcap-dev \
	iproute2 iptables nftables conntrack procps kmod cpio curl ca-certificates \
	busybox-static debootstrap runc umoci skopeo docker-registry apache2-utils \
	etcd-server etcd-client qemu-system-x86 shellcheck ruby systemd dnsmasq-base

.PHONY: install apt venv test lint unit e2e demo bench clean vm-kernel vm-test

install: apt venv

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "apt: installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[test]'
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/test_layers.py tests/test_packaging.py

test: install lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

unit: install
	$(VENV)/bin/pytest -m 'not root' $(PYTEST_ARGS)

# The end-to-end suite (tests/e2e_cluster) against any running cluster, through the
# real kubectl (E2E_KUBECTL, default /usr/bin/kubectl); without KUBECONFIG every
# test is skipped, saying so. A `supernetes up --netns NAME` cluster is reached from
# inside its namespace: `ip netns exec NAME make e2e KUBECONFIG=...`.
e2e: venv
	E2E_KUBECONFIG="$(KUBECONFIG)" $(VENV)/bin/pytest -p no:cacheprovider tests/e2e_cluster $(PYTEST_ARGS)

# The cgroup v2 VM harness (tests/vm): Debian's kernel, fetched with apt-get
# download and unpacked (never installed), plus a busybox initramfs. The harness
# runs this itself; `vm-test` shows the VM's console while it runs the suite.
vm-kernel: apt
	tests/vm/prepare-kernel.sh

vm-test: install vm-kernel
	$(PY) tests/vm/harness.py $(PYTEST_ARGS)

# A one-node cluster in the network namespace `supernetes` (the machine's own
# network is not touched), then the demo; `supernetes down --netns supernetes` ends it.
demo: install
	@if [ -e /var/lib/supernetes/up.json ]; then $(VENV)/bin/supernetes demo; \
	else $(VENV)/bin/supernetes up --netns supernetes --demo; fi

clean:
	rm -rf $(VENV) build *.egg-info
