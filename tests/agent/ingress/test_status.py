"""Ingress status from the Nodes that serve Ingress, and a node announcing itself."""

from __future__ import annotations

import uuid

from netobjects import eventually, ingress

from supernetes.agent.ingress import IngressConfig, IngressController
from supernetes.agent.ingress.status import PORT_ANNOTATION, serving_addresses


def _node(name: str, ip: str, ready: bool = True, serving: bool = True) -> dict:
    meta: dict = {"name": name}
    if serving:
        meta["annotations"] = {PORT_ANNOTATION: "80"}
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta,
            "status": {"addresses": [{"type": "Hostname", "address": name},
                                     {"type": "InternalIP", "address": ip}],
                       "conditions": [{"type": "Ready",
                                       "status": "True" if ready else "False"}]}}


def test_serving_addresses_are_ready_annotated_nodes_sorted():
    nodes = [_node("b", "192.0.2.2"), _node("a", "192.0.2.1"),
             _node("c", "192.0.2.3", ready=False), _node("d", "192.0.2.4", serving=False)]
    assert serving_addresses(nodes) == ["192.0.2.1", "192.0.2.2"]


def test_a_node_announces_itself_and_its_address_reaches_the_ingress_status(client, ns):
    name = f"node-{uuid.uuid4().hex[:6]}"
    node = client.create(_node(name, "192.0.2.60", serving=False))
    node["status"] = _node(name, "192.0.2.60")["status"]
    client.replace_status(node)
    # a class of its own, so that the session's controller never writes this status
    controller = IngressController(client, IngressConfig(
        bind="127.0.0.1", port=0, node_name=name, resync_period=1.0,
        class_name="status-test", controller="example.com/status-test"))
    controller.start()
    try:
        client.create(ingress("st", [("st.test", "/", "Prefix", "web", 80)],
                              class_name="status-test"), ns)
        annotated = eventually(lambda: (client.get("v1", "Node", name)["metadata"]
                                        .get("annotations") or {}).get(PORT_ANNOTATION))
        assert annotated == str(controller.port)
        wanted = [{"ip": "192.0.2.60", "ports": [{"port": controller.port,
                                                  "protocol": "TCP"}]}]
        assert eventually(lambda: (client.get("networking.k8s.io/v1", "Ingress", "st", ns)
                                   .get("status") or {}).get("loadBalancer", {})
                          .get("ingress") == wanted)
    finally:
        controller.stop()
        client.delete("v1", "Node", name)
