"""Which requests the fast lane (app.FastLane) and the poller thread take, and which
they leave to Flask's routes: the node proxy and the metrics API live only there."""

import pytest

from supernetes.controlplane.apiserver.app import FastLane


@pytest.fixture
def lane():
    return FastLane(server=None, flask_wsgi=None)


def route(lane, path, method="GET"):
    return lane.route({"REQUEST_METHOD": method, "PATH_INFO": path})


def test_resource_paths_take_the_lane(lane):
    assert route(lane, "/api/v1/namespaces/default/pods/web") == \
        ("v1", "namespaces/default/pods/web", "")
    assert route(lane, "/apis/apps/v1/namespaces/default/deployments/web/scale", "PUT") == \
        ("v1", "namespaces/default/deployments/web/scale", "apps")


@pytest.mark.parametrize("path", [
    "/api/v1/nodes/n1/proxy/stats/summary",
    "/api/v1/nodes/n1/proxy/metrics",
    "/api/v1/namespaces/default/pods/web/log",
    "/api/v1/namespaces/default/pods/web/exec",
    "/apis/metrics.k8s.io/v1beta1/nodes",
    "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web",
])
def test_proxied_and_metrics_paths_are_left_to_flask(lane, path):
    assert route(lane, path) is None
