"""Requests and limits -> cgroup settings, QoS class and OOM score, as the kubelet computes them."""

import pytest

from supernetes.agent.resources import (
    BEST_EFFORT,
    BURSTABLE,
    GUARANTEED,
    linux_resources,
    oom_score_adj,
    qos_class,
)

GIB = 2**30


def pod(*containers, init=()):
    return {"spec": {"containers": list(containers), "initContainers": list(init)}}


def c(requests=None, limits=None):
    resources = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"name": "x", "resources": resources}


@pytest.mark.parametrize(("containers", "qos"), [
    ([c()], BEST_EFFORT),
    ([c(limits={"cpu": "500m", "memory": "64Mi"})], GUARANTEED),  # requests default to limits
    ([c({"cpu": "500m", "memory": "64Mi"}, {"cpu": "500m", "memory": "64Mi"})], GUARANTEED),
    ([c({"cpu": "250m", "memory": "64Mi"}, {"cpu": "500m", "memory": "64Mi"})], BURSTABLE),
    ([c({"memory": "64Mi"})], BURSTABLE),
    ([c(limits={"cpu": "1", "memory": "1Gi"}), c()], BURSTABLE),
    ([c(limits={"cpu": "1"})], BURSTABLE),  # guaranteed needs memory too
])
def test_qos_class_follows_the_kubelet_rules(containers, qos):
    assert qos_class(pod(*containers)) == qos


def test_an_init_container_counts_for_the_qos_class():
    assert qos_class(pod(c(), init=[c({"memory": "10Mi"})])) == BURSTABLE


def test_cpu_shares_come_from_requests_and_the_quota_from_limits():
    resources = linux_resources(c({"cpu": "250m"}, {"cpu": "1500m", "memory": "64Mi"}))
    assert resources["cpu"] == {"shares": 256, "quota": 150000, "period": 100000}
    assert resources["memory"] == {"limit": 64 * 2**20}
    assert "pids" not in resources


def test_no_request_gets_the_kernel_minimum_of_two_shares_and_tiny_limits_are_clamped():
    assert linux_resources(c())["cpu"] == {"shares": 2}
    assert linux_resources(c(limits={"cpu": "1m"}))["cpu"]["quota"] == 1000


def test_the_node_pids_limit_applies_to_every_container():
    assert linux_resources(c(), pids_limit=512)["pids"] == {"limit": 512}


@pytest.mark.parametrize(("containers", "score"), [
    ([c(limits={"cpu": "1", "memory": "1Gi"})], -997),
    ([c()], 1000),
    ([c({"memory": "1Gi"})], 1000 - 1000 // 8),          # an eighth of the node's memory
    ([c({"memory": "8Gi"})], 2),                          # never below 2 for Burstable
    ([c({"memory": "1Mi"})], 999),                        # never above 999 for Burstable
])
def test_oom_score_adj_per_qos_class(containers, score):
    p = pod(*containers)
    assert oom_score_adj(p, p["spec"]["containers"][0], node_memory=8 * GIB) == score
