"""The informer cache: keys, the namespace index and custom indexes stay consistent."""

from supernetes.controlplane.client import Indexer, object_key, split_key


def pod(name, ns="default", node="", rv="1"):
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv},
            "spec": {"nodeName": node}}


def by_node(obj):
    return [obj["spec"]["nodeName"]] if obj["spec"].get("nodeName") else []


def test_keys_are_namespace_slash_name_or_name_for_cluster_scoped_objects():
    assert object_key(pod("a", "ns1")) == "ns1/a"
    assert object_key({"metadata": {"name": "node-1"}}) == "node-1"
    assert split_key("ns1/a") == ("ns1", "a")
    assert split_key("node-1") == (None, "node-1")


def test_custom_index_follows_updates_and_deletes():
    cache = Indexer({"node": by_node})
    cache.put(pod("a", node="n1"))
    cache.put(pod("b", node="n1"))
    cache.put(pod("c", ns="other"))
    assert sorted(p["metadata"]["name"] for p in cache.by_index("node", "n1")) == ["a", "b"]
    cache.put(pod("b", node="n2", rv="2"))          # rescheduled
    assert [p["metadata"]["name"] for p in cache.by_index("node", "n1")] == ["a"]
    assert cache.index_keys("node", "n2") == ["default/b"]
    cache.remove("default/a")
    assert cache.by_index("node", "n1") == []
    assert sorted(cache.index_values("node")) == ["n2"]
    assert [p["metadata"]["name"] for p in cache.by_index("namespace", "other")] == ["c"]


def test_replace_swaps_contents_and_returns_the_old_ones():
    cache = Indexer({"node": by_node})
    cache.put(pod("a", node="n1"))
    old = cache.replace([pod("b", node="n2")])
    assert list(old) == ["default/a"]
    assert cache.keys() == ["default/b"]
    assert cache.by_index("node", "n1") == []
    assert len(cache.by_index("node", "n2")) == 1


def test_an_index_added_later_covers_existing_objects():
    cache = Indexer()
    cache.put(pod("a", node="n1"))
    cache.add_index("node", by_node)
    assert len(cache.by_index("node", "n1")) == 1
    assert cache.get_by_name("a", "default")["spec"]["nodeName"] == "n1"
