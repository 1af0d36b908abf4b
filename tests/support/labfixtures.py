"""Fixtures giving tests a running lab; a conftest imports them by name.

    from labfixtures import lab, lab_vxlan     # in a conftest.py

`lab`: three nodes, host-gw; `lab_vxlan`: two nodes, VXLAN; `lab_services`: three
nodes, host-gw, its cluster DNS answering cluster names only (no upstream: a
lookup never leaves the lab). Each is made once
per test module (a lab takes a few seconds to build) and taken down after it:
the module's tests share it, so each test cleans up its own pods.
"""

import pytest
from labkit import Lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    running = Lab.start(tmp_path_factory.mktemp("lab"), nodes=3, backend="host-gw")
    yield running
    running.close()


@pytest.fixture(scope="module")
def lab_vxlan(tmp_path_factory):
    running = Lab.start(tmp_path_factory.mktemp("lab-vxlan"), nodes=2, backend="vxlan")
    yield running
    running.close()


@pytest.fixture(scope="module")
def lab_services(tmp_path_factory):
    running = Lab.start(tmp_path_factory.mktemp("lab-services"), nodes=3, backend="host-gw",
                        server_args=["--dns-resolv-conf", ""])
    yield running
    running.close()
