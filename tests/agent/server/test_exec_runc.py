"""The same logs and exec API over runc (the agent's OCI-CLI runtime): `runc exec` in the
foreground for pipes, with --console-socket for a terminal."""

from __future__ import annotations

import io
import shutil

import pytest
from agentkit import Node

from supernetes.controlplane.client import Connection, Transport
from supernetes.controlplane.client.remotecommand import ExecSession

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("runc") is None, reason="needs runc")]


@pytest.fixture
def runc_node(tmp_path, apiserver, busybox):
    node = Node(tmp_path, apiserver, template=busybox, runtime="runc")
    yield node
    node.close()


def _session(node, command, *, stdin=False, tty=False):
    transport = Transport(Connection(server=node.base_url, token=node.tls.admin_token,
                                     ca_data=node.tls.client_ca.read_bytes()))
    return ExecSession.open(transport, "/exec/ns1/box/app",
                            {"command": command, "stdin": stdin, "stdout": True,
                             "stderr": not tty, "tty": tty}, stdin=stdin, tty=tty)


def test_logs_and_exec_on_runc(runc_node):
    pod = runc_node.add_pod("ns1", "box", ["app"])
    runc_node.run(pod, "app", ["sh", "-c", "echo from runc; sleep 120"])
    runc_node.wait_for(lambda: "from runc" in runc_node.admin_get(
        "/containerLogs/ns1/box/app").text)
    out, err = io.BytesIO(), io.BytesIO()
    session = _session(runc_node, ["sh", "-c", "cat; hostname; exit 6"], stdin=True)
    assert session.run(io.BytesIO(b"piped\n"), out, err) == 6
    assert out.getvalue() == b"piped\nbox\n"


def test_a_terminal_on_runc(runc_node):
    pod = runc_node.add_pod("ns1", "box", ["app"])
    runc_node.run(pod, "app", ["sleep", "120"])
    session = _session(runc_node, ["sh", "-c", "read x; tty; stty size"], stdin=True, tty=True)
    session.resize(90, 20)
    session.write_stdin(b"go\r")
    out = io.BytesIO()
    assert session.run(None, out, out) == 0
    assert b"/dev/pts/" in out.getvalue() and b"20 90" in out.getvalue()
