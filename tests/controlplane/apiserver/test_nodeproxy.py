"""The API server proxies pods/log, pods/exec and nodes/proxy to the node's agent.

A real API server, and a node agent API over real containers (`agentkit.Node`)
registered as a Node: what kubectl and the client see through the API server,
who may see it, and what they are told when it cannot be done.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import uuid

import pytest
from agentkit import Node, busybox_template
from apiserverkit import ApiServer

from supernetes.agent import websocket as server_frames
from supernetes.controlplane.client import ApiError, Client, Connection, Transport
from supernetes.controlplane.client.websocket import PING, WebSocket

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ApiServer(tmp_path_factory.mktemp("nodeproxy") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    return busybox_template(tmp_path_factory.mktemp("busybox"))


@pytest.fixture
def node(tmp_path, server, busybox):
    node = Node(tmp_path, server, template=busybox)
    yield node
    node.close()


@pytest.fixture
def ns(server):
    name = f"t-{uuid.uuid4().hex[:10]}"
    reply = server.admin.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": name}})
    assert reply.status_code == 201, reply.text
    yield name
    server.admin.delete(f"/api/v1/namespaces/{name}")


def _client(server, token: str) -> Client:
    return Client(Transport(Connection(server=server.url, token=token,
                                       ca_data=server.ca.read_bytes())))


@pytest.fixture
def admin(server):
    with _client(server, server.tokens["admin"]) as client:
        yield client


@pytest.fixture
def web(node, ns):
    pod = node.create_pod(ns, "web", ["app"])
    node.run(pod, "app", ["sh", "-c", "echo hello from web; echo oops >&2; sleep 120"])
    node.wait_for(lambda: "oops" in node.admin_get(f"/containerLogs/{ns}/web/app").text)
    return pod


def _run(session, stdin=None):
    out, err = io.BytesIO(), io.BytesIO()
    code = session.run(io.BytesIO(stdin) if stdin is not None else None, out, err)
    return code, out.getvalue(), err.getvalue()


def test_logs_come_from_the_node_agent(admin, ns, web):
    with admin.pod_logs("web", ns, container="app") as stream:
        text = b"".join(stream.chunks()).decode()
    assert sorted(text.splitlines()) == ["hello from web", "oops"]
    with admin.pod_logs("web", ns, tail_lines=1, timestamps=True) as stream:
        assert b"".join(stream.chunks()).count(b"Z ") == 1


def test_a_follow_streams_through_and_ends_on_both_sides_when_the_client_leaves(
        admin, node, ns):
    pod = node.create_pod(ns, "ticker", ["app"])
    node.run(pod, "app", ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.3; "
                                      "done"])
    stream = admin.pod_logs("ticker", ns, follow=True)
    seen, started = b"", time.monotonic()
    for chunk in stream.chunks():
        seen += chunk
        if seen.count(b"\n") >= 3:
            break
    assert seen.startswith(b"tick 1\ntick 2\n")
    assert time.monotonic() - started < 10
    stream.close()
    # The API server notices the client is gone and hangs up on the agent, which lets go.
    node.wait_for(lambda: len(node.server._httpd.connections) == 0, timeout=10)


def test_exec_is_relayed_to_the_container(admin, ns, web):
    session = admin.exec("web", ns, ["sh", "-c", "cat; hostname; exit 4"], stdin=True)
    code, out, err = _run(session, stdin=b"through the API server\n")
    assert code == 4
    assert out == b"through the API server\nweb\n"


def test_exec_with_a_tty(admin, ns, web):
    session = admin.exec("web", ns, ["sh", "-c", "read x; stty size; tty"], stdin=True,
                         tty=True)
    session.resize(100, 30)
    session.write_stdin(b"go\r")
    code, out, _ = _run(session)
    assert code == 0 and b"30 100" in out and b"/dev/pts/" in out


class _HastyAgent:
    """An agent that sends its 101 and the command's first output in one write (ours
    may: the command can write before the 101 has left), then the exit Status once
    the client's first bytes reached it (or after 10 s)."""

    def __init__(self, tls) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = tls.server_context()
        self.heard = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with self.context.wrap_socket(conn, server_side=True) as sock:
            request = b""
            while b"\r\n\r\n" not in request:
                request += sock.recv(4096)
            key = next(line.split(b":", 1)[1].strip().decode() for line in
                       request.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key:"))
            sock.sendall(server_frames.accept(key, "v5.channel.k8s.io") +
                         server_frames.encode(server_frames.BINARY, b"\x01early\n"))
            sock.settimeout(10)
            try:
                self.heard = sock.recv(4096)
            except OSError:
                pass
            status = json.dumps({"metadata": {}, "status": "Success"}).encode()
            sock.sendall(server_frames.encode(server_frames.BINARY, b"\x03" + status) +
                         server_frames.close_frame())

    def close(self) -> None:
        self.thread.join(15)
        self.listener.close()


def test_output_that_came_with_the_agents_101_reaches_the_client_after_it(admin, node, ns):
    # kubectl < 1.34 drops what arrives with the 101, before it has made its streams
    # (nodeproxy.py): the 101 must come alone, the output once the client spoke.
    node.create_pod(ns, "hasty", ["app"])
    agent = _HastyAgent(node.tls)
    try:
        body = admin.get("v1", "Node", node.name)
        body["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] = agent.port
        admin.replace_status(body)
        transport = admin.transport
        sock = transport.open_socket(10)
        target = transport.url(f"/api/v1/namespaces/{ns}/pods/hasty/exec",
                               {"command": "x", "stdout": "true"})
        headers = {**transport.headers, "Upgrade": "websocket", "Connection": "Upgrade",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                   "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}
        sock.sendall((f"GET {target} HTTP/1.1\r\nHost: {transport.host}\r\n" +
                      "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            assert chunk, head
            head += chunk
        assert head.startswith(b"HTTP/1.1 101 ") and head.endswith(b"\r\n\r\n"), head
        ws = WebSocket(sock, "v5.channel.k8s.io")
        try:
            ws.send(b"", PING)
            assert ws.recv() == (2, b"\x01early\n")
            assert json.loads(ws.recv()[1][1:]) == {"metadata": {}, "status": "Success"}
        finally:
            ws.close()
        assert agent.heard[:1] == bytes([0x80 | PING])   # the client's ping, relayed
    finally:
        agent.close()


def test_node_proxy_serves_the_summary_and_metrics(admin, node, web):
    summary = admin.get_json(f"/api/v1/nodes/{node.name}/proxy/stats/summary")
    assert summary["node"]["nodeName"] == node.name
    assert [p["podRef"]["name"] for p in summary["pods"]] == ["web"]
    metrics = admin.request("GET", f"/api/v1/nodes/{node.name}/proxy/metrics",
                            accept="text/plain").content.decode()
    assert 'container_memory_working_set_bytes{container="app"' in metrics
    assert admin.request("GET", f"/api/v1/nodes/{node.name}/proxy/healthz",
                         accept="*/*").content == b"ok"


def test_the_viewer_may_read_logs_and_stats_but_not_exec(server, node, ns, web):
    with _client(server, server.tokens["viewer"]) as viewer:
        with viewer.pod_logs("web", ns) as stream:
            assert b"hello from web" in b"".join(stream.chunks())
        assert viewer.get_json(f"/api/v1/nodes/{node.name}/proxy/stats/summary")["pods"]
        with pytest.raises(ApiError) as refused:
            viewer.exec("web", ns, ["true"])
        assert refused.value.code == 403
        assert 'cannot create resource "pods/exec"' in str(refused.value)
        with pytest.raises(ApiError) as proxy:
            viewer.get_json(f"/api/v1/nodes/{node.name}/proxy/pods")
        assert proxy.value.code == 403


def test_a_node_may_not_reach_into_pods_or_other_agents(node, ns, web):
    with pytest.raises(ApiError) as exec_refused:
        node.client.exec("web", ns, ["true"])
    assert exec_refused.value.code == 403
    with pytest.raises(ApiError) as logs_refused:
        node.client.pod_logs("web", ns)
    assert logs_refused.value.code == 403
    with pytest.raises(ApiError) as proxy_refused:
        node.client.get_json(f"/api/v1/nodes/{node.name}/proxy/pods")
    assert proxy_refused.value.code == 403


def test_errors_say_what_is_wrong(admin, server, node, ns, web):
    def status(path, **params):
        reply = server.admin.get(path, params=params)
        return reply.status_code, reply.json().get("message", "")

    base = f"/api/v1/namespaces/{ns}/pods"
    assert status(f"{base}/web/log", container="nope") == \
        (400, "container nope is not valid for pod web")
    assert status(f"{base}/ghost/log") == (404, 'pods "ghost" not found')
    two = node.create_pod(ns, "two", ["a", "b"])
    assert two and status(f"{base}/two/log") == \
        (400, "a container name must be specified for pod two, choose one of: [a b]")
    code, message = status(f"{base}/two/log", container="a")
    assert (code, "waiting to start" in message) == (400, True)
    unbound = server.admin.post(base, {"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": "floating"},
                                       "spec": {"containers": [{"name": "x",
                                                                "image": "busybox"}]}})
    assert unbound.status_code == 201
    assert status(f"{base}/floating/log") == (400, "pod floating does not have a host assigned")
    spdy = server.admin.post(f"{base}/web/exec?command=true&stdout=1",
                             headers={"Upgrade": "SPDY/3.1", "Connection": "Upgrade"})
    assert spdy.status_code == 400 and "kubectl 1.30" in spdy.json()["message"]


def test_an_agent_that_is_down_is_named_in_the_error(admin, node, ns, web):
    node.server.stop()
    with pytest.raises(ApiError) as down:
        admin.pod_logs("web", ns)
    assert down.value.code == 500
    assert f"node {node.name}" in str(down.value) and "127.0.0.1" in str(down.value)


def test_an_address_now_held_by_another_agent_is_refused(admin, server, tmp_path, busybox,
                                                          node, ns, web):
    # Another node's agent answers at the address our Node object points to: its
    # certificate names the other node, so the API server will not talk to it.
    other = Node(tmp_path / "other", server, template=busybox)
    try:
        body = admin.get("v1", "Node", node.name)
        body["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] = other.server.port
        admin.replace_status(body)
        with pytest.raises(ApiError) as wrong:
            admin.pod_logs("web", ns)
        assert wrong.value.code == 500
        assert f"not node {node.name}" in str(wrong.value)
    finally:
        other.close()


def test_the_metrics_api_answers_from_the_agents(admin, server, node, ns, web):
    spinner = node.create_pod(ns, "spinner", ["app"])
    node.run(spinner, "app", ["sh", "-c", "while :; do :; done"])
    groups = admin.get_json("/apis")["groups"]
    assert {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"} in next(
        g for g in groups if g["name"] == "metrics.k8s.io")["versions"]
    nodes = admin.get_json("/apis/metrics.k8s.io/v1beta1/nodes")
    mine = next(n for n in nodes["items"] if n["metadata"]["name"] == node.name)
    assert mine["usage"]["cpu"].endswith("n") and mine["usage"]["memory"].endswith("Ki")
    pods = admin.get_json(f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods")
    by_name = {p["metadata"]["name"]: p for p in pods["items"]}
    assert set(by_name) == {"web", "spinner"}
    busy = int(by_name["spinner"]["containers"][0]["usage"]["cpu"].rstrip("n"))
    idle = int(by_name["web"]["containers"][0]["usage"]["cpu"].rstrip("n"))
    assert busy > 50_000_000 and busy > 5 * idle
    one = admin.get_json(f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/web")
    assert one["kind"] == "PodMetrics" and one["containers"][0]["name"] == "app"
    with _client(server, server.tokens["viewer"]) as viewer:
        assert viewer.get_json("/apis/metrics.k8s.io/v1beta1/pods")["items"]
    with pytest.raises(ApiError) as missing:
        admin.get_json(f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/ghost")
    assert missing.value.code == 404
