"""Fixtures for the API types tests: manifests as users write them."""

import copy

import pytest

from supernetes.controlplane.api import registry

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                             "ports": [{"containerPort": 80}]}]},
}


@pytest.fixture
def pod() -> dict:
    return copy.deepcopy(POD)


@pytest.fixture
def pods():
    return registry.lookup("", "v1", "pods")
