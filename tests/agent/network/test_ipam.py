"""Host-local IPAM: unique, idempotent, round-robin, crash-safe addresses."""

import threading

import pytest

from supernetes.agent.network.ipam import HostLocalIPAM, IPAMError


def test_addresses_skip_network_gateway_and_broadcast(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "10.244.1.0/29")  # hosts .1-.6, .1 is the gateway
    got = [str(ipam.allocate(f"pod-{i}")) for i in range(5)]
    assert got == ["10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6"]
    with pytest.raises(IPAMError, match="no free address left in 10.244.1.0/29"):
        ipam.allocate("one-too-many")


def test_allocation_is_idempotent_per_owner(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "10.244.1.0/24")
    first = ipam.allocate("pod-a")
    assert ipam.allocate("pod-a") == first
    assert ipam.lookup("pod-a") == first
    assert HostLocalIPAM(str(tmp_path), "10.244.1.0/24").allocate("pod-a") == first


def test_a_freed_address_is_not_reused_at_once(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "10.244.1.0/24")
    a = ipam.allocate("pod-a")
    assert ipam.release("pod-a") == a
    assert ipam.lookup("pod-a") is None
    assert ipam.allocate("pod-b") != a
    assert ipam.release("never-had-one") is None


def test_reconcile_frees_addresses_of_dead_owners(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "10.244.1.0/24")
    for owner in ("live-1", "dead-1", "live-2", "dead-2"):
        ipam.allocate(owner)
    freed = ipam.reconcile({"live-1", "live-2"})
    assert len(freed) == 2
    assert set(ipam.allocations()) == {"live-1", "live-2"}


def test_concurrent_allocations_never_share_an_address(tmp_path):
    results = {}

    def worker(n):
        ipam = HostLocalIPAM(str(tmp_path), "10.244.1.0/24")
        for i in range(20):
            results[f"{n}-{i}"] = ipam.allocate(f"{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 100
    assert len(set(results.values())) == 100
