"""The store-backed allocator and its repair loop, on a real SQLite store."""

from __future__ import annotations

import json

import pytest

from supernetes.controlplane.api.types import services
from supernetes.controlplane.apiserver import objects
from supernetes.controlplane.apiserver.allocator import (
    Allocator,
    AlreadyAllocated,
    IPRange,
    OutOfRange,
    Owner,
    PortRange,
    RangeFull,
)
from supernetes.controlplane.apiserver.serviceaddrs import ServiceAddresses
from supernetes.controlplane.store import open_store

ALICE = Owner("uid-a", "default", "alice")
BOB = Owner("uid-b", "default", "bob")


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


def test_ranges_exclude_network_and_broadcast_and_keep_a_static_band():
    r = IPRange("10.96.0.0/12")
    assert r.value(0) == "10.96.0.1"
    assert r.value(r.size - 1) == "10.111.255.254"
    assert r.offset("10.96.0.0") is None and r.offset("10.112.0.0") is None
    assert r.static_band == 256
    small = IPRange("10.0.0.0/28")
    assert small.size == 14 and small.static_band == 14
    ports = PortRange("30000-32767")
    assert (ports.size, ports.static_band, ports.value(0)) == (2768, 86, "30000")
    with pytest.raises(ValueError):
        IPRange("10.0.0.0/30")
    with pytest.raises(ValueError):
        PortRange("0-10")


def test_claim_is_idempotent_for_its_owner_and_refused_to_others(store):
    ips = Allocator(store, "serviceips", IPRange("10.96.0.0/12"))
    assert ips.claim("10.96.0.10", ALICE) is True
    assert ips.claim("10.96.0.10", ALICE) is False
    with pytest.raises(AlreadyAllocated):
        ips.claim("10.96.0.10", BOB)
    with pytest.raises(OutOfRange):
        ips.claim("10.0.0.1", BOB)
    assert ips.holder("10.96.0.10") == ALICE
    assert ips.release("10.96.0.10", BOB.uid) is False          # not Bob's to free
    assert ips.release("10.96.0.10", ALICE.uid) is True
    assert ips.claim("10.96.0.10", BOB) is True


def test_dynamic_picks_avoid_the_static_band_until_only_it_is_left(store):
    ips = Allocator(store, "serviceips", IPRange("10.0.0.0/27"))   # 30 usable, band 16
    picked = [ips.allocate(Owner(f"u{i}", "ns", f"s{i}")) for i in range(30)]
    offsets = [ips.pool.offset(ip) for ip in picked]
    assert len(set(picked)) == 30
    assert sorted(offsets[:14]) == list(range(16, 30))            # the upper part first
    assert sorted(offsets[14:]) == list(range(16))                # then the band
    with pytest.raises(RangeFull):
        ips.allocate(Owner("late", "ns", "late"))


def test_a_dry_run_allocation_writes_nothing(store):
    ports = Allocator(store, "nodeports", PortRange("31000-31015"))
    value = ports.allocate(ALICE, dry_run=True)
    assert 31000 <= int(value) <= 31015
    assert ports.holders() == {}


def svc(name: str, uid: str, ip: str, node_port: int | None = None) -> dict:
    port = {"port": 80, "protocol": "TCP"}
    if node_port:
        port["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"type": "NodePort" if node_port else "ClusterIP", "clusterIP": ip,
                     "ports": [port]}}


def store_service(store, obj: dict) -> None:
    key = objects.key(services.SERVICES, "default", obj["metadata"]["name"])
    store.create(key, json.dumps(obj).encode())


def test_repair_claims_what_stored_services_hold_and_frees_orphans_on_the_second_pass(store):
    addresses = ServiceAddresses(store, "10.96.0.0/12", "30000-32767")
    # A Service written without allocations (an older store, a restore).
    store_service(store, svc("web", "uid-web", "10.96.5.5", node_port=30123))
    # An allocation whose Service never got written (the server died in between).
    addresses.ips.claim("10.96.7.7", Owner("uid-lost", "default", "lost"))
    repair = addresses.repair
    repair.run_once()
    assert addresses.ips.holder("10.96.5.5").uid == "uid-web"
    assert addresses.ports.holder("30123").uid == "uid-web"
    assert addresses.ips.holder("10.96.7.7") is not None          # suspected, not yet freed
    repair.run_once()
    assert addresses.ips.holder("10.96.7.7") is None
    assert addresses.ips.holder("10.96.5.5").uid == "uid-web"


def test_repair_leaves_an_allocation_that_changed_since_it_was_suspected(store):
    addresses = ServiceAddresses(store, "10.96.0.0/12", "30000-32767")
    addresses.ips.claim("10.96.8.8", Owner("uid-x", "default", "x"))
    addresses.repair.run_once()
    addresses.ips.release("10.96.8.8", "uid-x")                   # freed and taken again:
    addresses.ips.claim("10.96.8.8", Owner("uid-y", "default", "y"))   # a create in flight
    addresses.repair.run_once()
    assert addresses.ips.holder("10.96.8.8").uid == "uid-y"
