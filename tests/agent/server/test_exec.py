"""Exec through the agent's websocket: inside the container, exit codes, stdin, tty."""

from __future__ import annotations

import io
import json
import os

import pytest

from supernetes.controlplane.client import Connection, StreamError, Transport
from supernetes.controlplane.client.remotecommand import ExecSession
from supernetes.controlplane.client.websocket import WebSocket

pytestmark = pytest.mark.root


def _transport(node) -> Transport:
    return Transport(Connection(server=node.base_url, token=node.tls.admin_token,
                                ca_data=node.tls.client_ca.read_bytes()))


def _exec(node, pod, command, stdin=None, tty=False, protocols=None):
    params = {"command": command, "stdin": stdin is not None, "stdout": True,
              "stderr": not tty, "tty": tty}
    path = f"/exec/{pod['metadata']['namespace']}/{pod['metadata']['name']}/app"
    if protocols:
        session = ExecSession(WebSocket.connect(_transport(node), path, params, protocols),
                              stdin=stdin is not None, tty=tty)
    else:
        session = ExecSession.open(_transport(node), path, params, stdin=stdin is not None,
                                   tty=tty)
    out, err = io.BytesIO(), io.BytesIO()
    code = session.run(io.BytesIO(stdin) if stdin is not None else None, out, err)
    return code, out.getvalue().decode(), err.getvalue().decode()


@pytest.fixture
def sleeper(node):
    pod = node.add_pod("ns1", "box", ["app"])
    node.run(pod, "app", ["sleep", "120"])
    return pod


def test_exec_runs_inside_the_containers_namespaces(node, sleeper):
    code, out, _ = _exec(node, sleeper,
                         ["sh", "-c", "hostname; echo $$; readlink /proc/self/ns/mnt"])
    hostname, pid, mnt = out.split()
    assert code == 0
    assert hostname == "box"                       # the pod's UTS namespace
    assert int(pid) < 100                          # a small PID: the container's PID namespace
    assert mnt != os.readlink("/proc/self/ns/mnt")


def test_exit_code_and_both_streams_come_back(node, sleeper):
    code, out, err = _exec(node, sleeper, ["sh", "-c", "echo to-out; echo to-err >&2; exit 7"])
    assert (code, out, err) == (7, "to-out\n", "to-err\n")


def test_stdin_reaches_the_command_and_its_end_is_seen(node, sleeper):
    data = b"".join(b"line %d\n" % i for i in range(20000))    # well past a pipe's buffer
    code, out, _ = _exec(node, sleeper, ["sh", "-c", "cat | wc -l"], stdin=data)
    assert (code, out.strip()) == (0, "20000")


def test_v4_clients_work_without_a_stdin_half_close(node, sleeper):
    code, out, _ = _exec(node, sleeper, ["head", "-n", "1"], stdin=b"first\nsecond\n",
                         protocols=["v4.channel.k8s.io"])
    assert (code, out) == (0, "first\n")


def test_a_tty_is_a_terminal_inside_and_follows_resizes(node, sleeper):
    path = "/exec/ns1/box/app"
    params = {"command": ["sh", "-c", "tty; read go; stty size; exit 3"], "stdin": True,
              "stdout": True, "tty": True}
    session = ExecSession.open(_transport(node), path, params, stdin=True, tty=True)
    session.resize(123, 45)
    session.write_stdin(b"go\r")
    out = io.BytesIO()
    code = session.run(None, out, out)
    text = out.getvalue().decode()
    assert code == 3
    assert "/dev/pts/" in text
    assert "45 123" in text


def test_a_command_that_cannot_start_is_reported_not_hung(node, sleeper):
    with pytest.raises(StreamError, match="no-such-program"):
        _exec(node, sleeper, ["no-such-program"])


def test_exec_is_refused_where_it_cannot_run(node, sleeper):
    done = node.add_pod("ns1", "done", ["app"])
    node.wait_exit(node.run(done, "app", ["true"]))
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}
    stopped = node.admin_get("/exec/ns1/done/app?command=true&stdout=1", headers=headers)
    assert stopped.status_code == 400 and "not running" in stopped.json()["message"]
    spdy = node.session(node.tls.admin_token).post(
        node.base_url + "/exec/ns1/box/app?command=true&stdout=1",
        headers={"Upgrade": "SPDY/3.1", "Connection": "Upgrade"}, timeout=10)
    assert spdy.status_code == 400 and "kubectl 1.30" in spdy.json()["message"]
    no_command = node.admin_get("/exec/ns1/box/app?stdout=1", headers=headers)
    assert no_command.status_code == 400
    assert json.loads(no_command.text)["message"].startswith("you must specify")


def test_attach_streams_the_output_from_now_on_each_stream_on_its_channel(node):
    pod = node.add_pod("ns1", "talker", ["app"])
    cid = node.run(pod, "app", ["sh", "-c", "echo before; mkfifo /dev/shm/go; "
                                            "read x < /dev/shm/go; echo out; echo err >&2"])
    node.wait_for(lambda: "before" in node.admin_get("/containerLogs/ns1/talker/app").text)
    session = ExecSession.open(_transport(node), "/attach/ns1/talker/app",
                               {"stdout": True, "stderr": True}, stdin=False, tty=False)
    assert node.runtime.exec(cid, ["sh", "-c", "echo > /dev/shm/go"]) == 0
    out, err = io.BytesIO(), io.BytesIO()
    assert session.run(None, out, err) == 0         # the container exited: Success
    assert (out.getvalue(), err.getvalue()) == (b"out\n", b"err\n")   # not "before"


def test_attach_refuses_stdin(node, sleeper):
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}
    reply = node.admin_get("/attach/ns1/box/app?stdin=1&stdout=1", headers=headers)
    assert reply.status_code == 400 and "no stdin" in reply.json()["message"]
