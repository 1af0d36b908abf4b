"""Effective pod requests as Kubernetes computes them, and host ports."""

from supernetes.controlplane.scheduler.resources import host_ports, pod_requests

MI = 1024 * 1024


def container(name, cpu=None, memory=None, restart=None, ports=None):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    c = {"name": name, "resources": {"requests": requests}}
    if restart:
        c["restartPolicy"] = restart
    if ports:
        c["ports"] = ports
    return c


def test_requests_of_containers_add_up_in_table_units():
    spec = {"containers": [container("a", "250m", "64Mi"), container("b", "1.5", "1G")]}
    assert pod_requests(spec) == {"cpu": 1750, "memory": 64 * MI + 10**9}


def test_an_init_container_larger_than_the_app_sets_the_request():
    spec = {"initContainers": [container("init", "2", "10Mi")],
            "containers": [container("a", "500m", "64Mi")]}
    assert pod_requests(spec) == {"cpu": 2000, "memory": 64 * MI}


def test_sidecars_run_beside_the_app_and_beside_later_init_containers():
    spec = {"initContainers": [container("sidecar", "300m", restart="Always"),
                               container("migrate", "1")],
            "containers": [container("a", "500m")]}
    # app phase: 500m + 300m sidecar = 800m; init phase: 1 + 300m sidecar = 1300m
    assert pod_requests(spec)["cpu"] == 1300


def test_overhead_and_pod_level_requests_count():
    spec = {"containers": [container("a", "100m", "10Mi")],
            "overhead": {"cpu": "50m"}, "resources": {"requests": {"memory": "1Gi"}}}
    assert pod_requests(spec) == {"cpu": 150, "memory": 1024 * MI}


def test_non_zero_requests_count_missing_cpu_and_memory_per_container():
    spec = {"containers": [container("a"), container("b", cpu="1")]}
    assert pod_requests(spec) == {"cpu": 1000}
    assert pod_requests(spec, non_missing=True) == {"cpu": 1100, "memory": 400 * MI}


def test_host_ports_of_containers_sidecars_and_host_network():
    spec = {"containers": [container("a", ports=[{"containerPort": 80, "hostPort": 8080}])],
            "initContainers": [container("s", restart="Always",
                                         ports=[{"containerPort": 53, "hostPort": 53,
                                                 "protocol": "UDP", "hostIP": "10.0.0.1"}])]}
    assert sorted(host_ports(spec)) == [("0.0.0.0", "TCP", 8080), ("10.0.0.1", "UDP", 53)]
    assert host_ports({"hostNetwork": True,
                       "containers": [container("a", ports=[{"containerPort": 9100}])]}) == [
        ("0.0.0.0", "TCP", 9100)]
