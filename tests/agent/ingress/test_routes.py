"""The routing table: which Ingresses are ours, host and path matching, precedence."""

from __future__ import annotations

import pytest
from netobjects import ingress

from supernetes.agent.ingress import routes
from supernetes.agent.ingress.backends import RoundRobin, Unavailable, resolve

OURS = {"supernetes"}


def _ing(name, rules, *, created="2024-01-01T00:00:00Z", ns="default", **kw):
    obj = ingress(name, rules, **kw)
    obj["metadata"].update(namespace=ns, creationTimestamp=created)
    return obj


def _route(table, host, path):
    backend = table.route(host, path)
    return backend.service if backend else None


def test_which_ingresses_are_ours():
    classes = [{"metadata": {"name": "mine", "annotations": {
                   routes.DEFAULT_CLASS_ANNOTATION: "true"}},
                "spec": {"controller": "supernetes.io/ingress-controller"}},
               {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}]
    names, default = routes.our_classes(classes, "supernetes.io/ingress-controller",
                                        "supernetes")
    assert names == {"supernetes", "mine"} and default
    assert routes.is_ours(_ing("a", [], class_name="mine"), names, default)
    assert not routes.is_ours(_ing("b", [], class_name="nginx"), names, default)
    assert routes.is_ours(_ing("c", []), names, default)            # no class: the default
    assert not routes.is_ours(_ing("c", []), names, False)
    legacy = _ing("d", [])
    legacy["metadata"]["annotations"] = {routes.CLASS_ANNOTATION: "nginx"}
    assert not routes.is_ours(legacy, names, default)


def test_exact_host_then_wildcard_then_any_host():
    table = routes.build([
        _ing("i", [("foo.example.com", "/", "Prefix", "exact", 80),
                   ("*.example.com", "/", "Prefix", "wild", 80),
                   ("", "/", "Prefix", "any", 80)])], OURS, True)
    assert _route(table, "foo.example.com", "/") == "exact"
    assert _route(table, "FOO.example.com:8080", "/") == "exact"
    assert _route(table, "bar.example.com", "/") == "wild"
    assert _route(table, "a.bar.example.com", "/") == "any"    # a wildcard is one label
    assert _route(table, "example.com", "/") == "any"
    assert _route(table, "[::1]:80", "/") == "any"


def test_a_host_with_rules_never_falls_back_to_another_hosts_paths():
    table = routes.build([_ing("i", [("a.test", "/api", "Prefix", "api", 80),
                                     ("", "/", "Prefix", "any", 80)])], OURS, True)
    assert _route(table, "a.test", "/web") is None
    assert _route(table, "b.test", "/web") == "any"


def test_prefix_matches_whole_path_elements():
    table = routes.build([_ing("i", [("h", "/foo", "Prefix", "foo", 80),
                                     ("h", "/foo/bar/", "Prefix", "bar", 80)])], OURS, True)
    assert _route(table, "h", "/foo") == "foo"
    assert _route(table, "h", "/foo/") == "foo"
    assert _route(table, "h", "/foo/baz") == "foo"
    assert _route(table, "h", "/foobar") is None
    assert _route(table, "h", "/foo/bar") == "bar"              # trailing slash ignored
    assert _route(table, "h", "/foo/bar/x?q=/foo") == "bar"
    assert _route(table, "h", "/foo/barx") == "foo"


def test_exact_beats_prefix_on_a_tie_and_oldest_wins_a_conflict():
    old = _ing("old", [("h", "/x", "Prefix", "old-prefix", 80)],
               created="2024-01-01T00:00:00Z")
    new = _ing("new", [("h", "/x", "Exact", "new-exact", 80),
                       ("h", "/y", "Prefix", "new-y", 80)], created="2024-06-01T00:00:00Z")
    newer = _ing("newer", [("h", "/y", "Prefix", "newer-y", 80)],
                 created="2025-01-01T00:00:00Z")
    table = routes.build([newer, new, old], OURS, True)
    assert _route(table, "h", "/x") == "new-exact"
    assert _route(table, "h", "/x/z") == "old-prefix"
    assert _route(table, "h", "/y") == "new-y"
    assert table.ingresses == ("default/old", "default/new", "default/newer")


def test_default_backend_of_the_oldest_ingress():
    first = _ing("a", [("h", "/", "Exact", "root", 80)], default=("first", 80),
                 created="2024-01-01T00:00:00Z")
    second = _ing("b", [], default=("second", "http"), created="2024-02-01T00:00:00Z")
    table = routes.build([second, first], OURS, True)
    assert _route(table, "h", "/") == "root"
    assert _route(table, "h", "/other") == "first"
    assert table.route("nope", "/").port == 80


def test_backend_port_by_number_or_name():
    table = routes.build([_ing("i", [("a", "/", "Prefix", "web", 8080),
                                     ("b", "/", "Prefix", "web", "http")])], OURS, True)
    assert table.route("a", "/").port == 8080
    assert table.route("b", "/").port == "http"
    assert str(table.route("b", "/")) == "default/web:http"


def _svc(*ports, kind="ClusterIP"):
    return {"spec": {"type": kind, "ports": [{"name": n, "port": p, "protocol": "TCP"}
                                             for n, p in ports]}}


def _slice(name, port_name, port, *endpoints):
    return {"metadata": {"name": name}, "addressType": "IPv4",
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}}
                          for ip, ready in endpoints]}


def test_endpoints_of_a_service_port_by_number_and_name():
    svc = _svc(("http", 80), ("admin", 9000))
    slices = [_slice("a", "http", 8080, ("10.0.0.1", True), ("10.0.0.2", False)),
              _slice("b", "admin", 9090, ("10.0.0.1", True)),
              _slice("c", "http", 8080, ("10.0.0.3", True))]
    assert resolve(svc, slices, 80, "ns/web") == [("10.0.0.1", 8080), ("10.0.0.3", 8080)]
    assert resolve(svc, slices, "admin", "ns/web") == [("10.0.0.1", 9090)]


@pytest.mark.parametrize("svc, slices, port, message", [
    (None, [], 80, "service ns/web not found"),
    (_svc(("http", 80)), [], 81, "has no TCP port 81"),
    (_svc(("http", 80)), [], 80, "has no ready endpoint"),
    (_svc(("http", 80)), [_slice("a", "http", 1, ("10.0.0.1", False))], 80,
     "has no ready endpoint"),
    (_svc(kind="ExternalName"), [], 80, "ExternalName"),
])
def test_why_a_backend_is_unavailable(svc, slices, port, message):
    with pytest.raises(Unavailable, match=message):
        resolve(svc, slices, port, "ns/web")


def test_round_robin_takes_turns_per_backend():
    rr = RoundRobin()
    eps = [("a", 1), ("b", 1), ("c", 1)]
    firsts = [rr.order("web", eps)[0] for _ in range(6)]
    assert firsts == [("a", 1), ("b", 1), ("c", 1)] * 2
    assert rr.order("other", eps) == eps                  # each backend has its own turn
    assert sorted(rr.order("web", eps)) == eps            # every endpoint, once
