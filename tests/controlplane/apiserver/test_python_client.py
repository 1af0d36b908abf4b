"""The official Python `kubernetes` client against the real server: list and watch pods."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, config, watch  # noqa: E402


@pytest.fixture
def core(apiserver):
    api_client = config.new_client_from_config(config_file=str(apiserver.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


def v1_pod(name: str) -> client.V1Pod:
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels={"app": "py"}),
                        spec=client.V1PodSpec(containers=[client.V1Container(
                            name="main", image="busybox")]))


def test_python_client_creates_lists_and_watches_pods(core):
    ns = f"py-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    try:
        created = core.create_namespaced_pod(ns, v1_pod("first"))
        assert created.metadata.uid and created.status.phase == "Pending"
        listed = core.list_namespaced_pod(ns, label_selector="app=py")
        assert [p.metadata.name for p in listed.items] == ["first"]

        seen: list[tuple[str, str]] = []
        stream = watch.Watch()

        def follow():
            for event in stream.stream(core.list_namespaced_pod, ns,
                                       resource_version=listed.metadata.resource_version,
                                       timeout_seconds=15):
                seen.append((event["type"], event["object"].metadata.name))
                if len(seen) >= 2:
                    stream.stop()

        reader = threading.Thread(target=follow)
        reader.start()
        time.sleep(0.5)
        core.create_namespaced_pod(ns, v1_pod("second"))
        core.delete_namespaced_pod("first", ns)
        reader.join(20)
        assert seen == [("ADDED", "second"), ("DELETED", "first")]

        with pytest.raises(client.ApiException) as missing:
            core.read_namespaced_pod("ghost", ns)
        assert missing.value.status == 404
    finally:
        core.delete_namespace(ns)
