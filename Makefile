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

.PHONY: install apt venv test lint unit e2e demo bench clean vm-kernel vm-test FORCE

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

# The project is installed editable in setuptools' "strict" mode: a tree of links to
# the source files under build/ and a plain path entry, so edits are live. The
# default editable mode installs an import hook that loads pathlib, re & co. on
# every interpreter start (~9 ms of each `superc` run). A strict install links each
# file, so a *new* module needs a re-install: the file list is a prerequisite.
# Bytecode is compiled here: PYTHONDONTWRITEBYTECODE may keep Python from caching it.
$(VENV)/.installed: setup.cfg pyproject.toml $(VENV)/.modules
	test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=strict
	$(PY) -m compileall -q "$$($(PY) -c 'import os, supernetes; print(os.path.dirname(supernetes.__file__))')"
	touch $@

# Rewritten only when the set of module files changes (not their contents).
$(VENV)/.modules: FORCE
	@mkdir -p $(VENV)
	@find cluster runtime agent controlplane rootfs-tools -name '*.py' | sort > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

FORCE:

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
