"""pods/binding against a watch cache that is behind the store.

The binding handler tries the watch cache's copy of the pod first (as Kubernetes'
GuaranteedUpdate does) and falls back to the store. Over HTTP the cache is
almost never behind long enough to see that fallback, so these tests hold a
stale entry in a real `TypeCache` next to a real SQLite store and call the
handler directly.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from supernetes.controlplane.api import registry
from supernetes.controlplane.apiserver import codec, errors, objects, subresources
from supernetes.controlplane.apiserver.resources import Ctx
from supernetes.controlplane.apiserver.watchcache import TypeCache
from supernetes.controlplane.store.sqlite import SqliteStore

PODS = registry.lookup("", "v1", "pods")


def stored_pod(uid: str, node: str = "", labels: dict | None = None) -> bytes:
    spec = {"containers": [{"name": "main", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return objects.encode_for_store({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": uid,
                     "labels": labels or {"app": "web"}},
        "spec": spec, "status": {"phase": "Pending"}})


@pytest.fixture
def world(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"), compact_interval=0)
    cache = TypeCache(PODS, 16)
    server = SimpleNamespace(store=store, cacher=SimpleNamespace(for_type=lambda rt: cache))
    ctx = Ctx(server=server, user=None, rt=PODS, namespace="default", name="web",
              sub="binding", args={})
    yield SimpleNamespace(store=store, cache=cache, ctx=ctx)
    store.close()


def cache_holds(world, value: bytes, revision: int) -> None:
    key = world.ctx.key
    world.cache.state[key] = world.cache.make_entry(key, value, revision)


def binding(node: str, uid: str | None = None) -> dict:
    meta = {"name": "web"} | ({"uid": uid} if uid else {})
    return {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
            "target": {"kind": "Node", "name": node}}


def stored(world) -> dict:
    return codec.loads(world.store.get(world.ctx.key).value)


def test_a_stale_cached_predecessor_that_was_bound_does_not_make_the_new_pod_a_conflict(world):
    key = world.ctx.key
    old = world.store.create(key, stored_pod("old-uid", node="node-a"))
    cache_holds(world, stored_pod("old-uid", node="node-a"), old)
    world.store.delete(key)
    world.store.create(key, stored_pod("new-uid"))

    subresources.bind(world.ctx, binding("node-b", uid="new-uid"))

    pod = stored(world)
    assert pod["metadata"]["uid"] == "new-uid"
    assert pod["spec"]["nodeName"] == "node-b"


def test_a_stale_cached_copy_loses_no_change_made_since(world):
    key = world.ctx.key
    first = world.store.create(key, stored_pod("uid-1"))
    cache_holds(world, stored_pod("uid-1"), first)
    world.store.update(key, stored_pod("uid-1", labels={"app": "web", "tier": "front"}))

    subresources.bind(world.ctx, binding("node-a", uid="uid-1"))

    pod = stored(world)
    assert pod["spec"]["nodeName"] == "node-a"
    assert pod["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert any(c["type"] == "PodScheduled" and c["status"] == "True"
               for c in pod["status"]["conditions"])


def test_a_fresh_cached_copy_of_a_bound_pod_is_a_conflict(world):
    key = world.ctx.key
    revision = world.store.create(key, stored_pod("uid-1", node="node-a"))
    cache_holds(world, stored_pod("uid-1", node="node-a"), revision)

    with pytest.raises(errors.ApiError) as caught:
        subresources.bind(world.ctx, binding("node-b"))
    assert caught.value.code == 409
    assert stored(world)["spec"]["nodeName"] == "node-a"


def test_a_pod_the_cache_has_not_seen_is_read_from_the_store(world):
    world.store.create(world.ctx.key, stored_pod("uid-1"))

    subresources.bind(world.ctx, binding("node-a", uid="uid-1"))

    assert stored(world)["spec"]["nodeName"] == "node-a"
