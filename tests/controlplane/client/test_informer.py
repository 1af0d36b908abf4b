"""Informers against a real API server: the cache follows, handlers hear, outages heal."""

import threading
import time

import pytest
from apiserverkit import ApiServer, Etcd, etcd_backend_available, free_port
from clientkit import configmap, pod

from supernetes.controlplane.client import Client, Informer, InformerFactory
from supernetes.controlplane.client.ratelimit import Backoff


class Recorder:
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def add(self, obj):
        with self.lock:
            self.events.append(("add", obj["metadata"]["name"]))

    def update(self, old, new):
        with self.lock:
            self.events.append(("update", new["metadata"]["name"]))

    def delete(self, obj):
        with self.lock:
            self.events.append(("delete", obj["metadata"]["name"]))

    def wait_for(self, event, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if event in self.events:
                    return True
            time.sleep(0.02)
        return False


def eventually(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture
def started():
    informers = []

    def start(informer):
        informers.append(informer)
        return informer.start()

    yield start
    for informer in informers:
        informer.stop()


def test_an_informer_sees_adds_updates_and_deletes(client, ns, started):
    client.create(configmap("before"), ns)
    rec = Recorder()
    informer = Informer(client, "v1", "ConfigMap", namespace=ns)
    informer.add_handler(rec.add, rec.update, rec.delete)
    started(informer)
    assert informer.wait_for_sync(10) and informer.has_synced()
    assert ("add", "before") in rec.events
    client.create(configmap("x", v="1"), ns)
    assert rec.wait_for(("add", "x"))
    client.patch("v1", "ConfigMap", "x", {"data": {"v": "2"}}, ns, patch_type="merge")
    assert rec.wait_for(("update", "x"))
    assert eventually(lambda: informer.cache.get(f"{ns}/x")["data"] == {"v": "2"})
    client.delete("v1", "ConfigMap", "x", ns)
    assert rec.wait_for(("delete", "x"))
    assert informer.cache.get(f"{ns}/x") is None
    assert informer.cache.get(f"{ns}/before")["kind"] == "ConfigMap"


def test_a_custom_index_finds_pods_by_node(client, ns, started):
    informer = Informer(client, "v1", "Pod", namespace=ns, indexers={
        "node": lambda p: [p["spec"]["nodeName"]] if p["spec"].get("nodeName") else []})
    started(informer)
    assert informer.wait_for_sync(10)
    client.create(pod("a", node="n1"), ns)
    client.create(pod("b", node="n2"), ns)
    client.create(pod("c"), ns)
    assert eventually(lambda: len(informer.cache) == 3)
    assert [p["metadata"]["name"] for p in informer.cache.by_index("node", "n1")] == ["a"]
    assert len(informer.cache.by_index("namespace", ns)) == 3
    client.bind("c", ns, "n1")
    assert eventually(lambda: sorted(p["metadata"]["name"]
                                     for p in informer.cache.by_index("node", "n1")) == ["a", "c"])


def test_a_handler_added_late_is_told_about_what_is_cached(client, ns, started):
    client.create(configmap("old"), ns)
    informer = started(Informer(client, "v1", "ConfigMap", namespace=ns))
    assert informer.wait_for_sync(10)
    rec = Recorder()
    informer.add_handler(on_add=rec.add)
    assert ("add", "old") in rec.events


def test_resync_revisits_every_cached_object(client, ns, started):
    client.create(configmap("steady"), ns)
    rec = Recorder()
    informer = Informer(client, "v1", "ConfigMap", namespace=ns, resync_period=0.2)
    informer.add_handler(rec.add, rec.update, rec.delete)
    started(informer)
    assert rec.wait_for(("update", "steady"), timeout=5)


def test_a_factory_shares_one_informer_per_kind_and_selector(client, ns):
    factory = InformerFactory(client, namespace=ns)
    first = factory.informer("v1", "ConfigMap")
    assert factory.informer("v1", "ConfigMap") is first
    assert factory.informer("v1", "ConfigMap", label_selector="app=x") is not first
    factory.start()
    try:
        assert factory.wait_for_sync(10)
    finally:
        factory.stop()
    assert first.stopped


@pytest.mark.slow
def test_an_informer_recovers_after_the_server_restarts(restartable_server, started):
    server = restartable_server
    client = Client.from_kubeconfig(str(server.kubeconfig))
    client.create(configmap("one"), "default")
    rec = Recorder()
    informer = Informer(client, "v1", "ConfigMap", namespace="default",
                        backoff=Backoff(initial=0.1, maximum=0.5))
    informer.add_handler(rec.add, rec.update, rec.delete)
    started(informer)
    assert informer.wait_for_sync(10)
    server.stop()
    server.start()
    restarted = Client.from_kubeconfig(str(server.kubeconfig))
    restarted.create(configmap("two"), "default")
    restarted.delete("v1", "ConfigMap", "one", "default")
    assert rec.wait_for(("add", "two"), timeout=30)
    assert rec.wait_for(("delete", "one"), timeout=30)
    assert sorted(informer.cache.keys()) == ["default/two"]


@pytest.mark.slow
@pytest.mark.skipif(not etcd_backend_available(), reason="needs etcd and the etcd backend")
def test_an_informer_relists_after_410_and_reports_what_it_missed(tmp_path, started):
    """The informer's resume point is compacted away while its server is down: the
    watch answers 410, and the relist turns what happened meanwhile into events."""
    import requests

    etcd = Etcd(tmp_path / "etcd")
    etcd.start()
    port = free_port()
    server = ApiServer(tmp_path / "data", etcd.url, extra_args=["--port", str(port)])
    other = None
    try:
        server.start()
        client = Client.from_kubeconfig(str(server.kubeconfig))
        client.create(configmap("gone-later"), "default")
        rec = Recorder()
        informer = Informer(client, "v1", "ConfigMap", namespace="default",
                            backoff=Backoff(initial=0.1, maximum=0.5))
        informer.add_handler(rec.add, rec.update, rec.delete)
        started(informer)
        assert informer.wait_for_sync(10) and informer.relists == 1
        server.stop()
        # Meanwhile, through another server on the same etcd: changes, then compaction.
        other = ApiServer(tmp_path / "data", etcd.url)
        other.start()
        side = Client.from_kubeconfig(str(other.kubeconfig))
        side.delete("v1", "ConfigMap", "gone-later", "default")
        side.create(configmap("born-meanwhile"), "default")
        head = requests.post(f"{etcd.client}/v3/kv/range", json={"key": "AA=="}, timeout=5)
        revision = int(head.json()["header"]["revision"])
        requests.post(f"{etcd.client}/v3/kv/compaction",
                      json={"revision": revision, "physical": True}, timeout=5).raise_for_status()
        other.stop()
        other = None
        server.start()
        assert rec.wait_for(("delete", "gone-later"), timeout=30)
        assert rec.wait_for(("add", "born-meanwhile"), timeout=30)
        assert informer.relists >= 2
        cached = informer.cache.keys()
        assert [k for k in cached if "meanwhile" in k or "later" in k] == \
            ["default/born-meanwhile"]
    finally:
        if other is not None:
            other.stop()
        server.stop()
        etcd.stop()
