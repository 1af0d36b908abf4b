"""`superlet run --register-with-taints`: the flag, and the taints on the registered Node.

The registration runs against a real API server (apiserverkit), and the Node is
read back with the real kubectl, as a user checks a k3s server's own agent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from apiserverkit import ApiServer

from supernetes.agent import cli
from supernetes.agent.config import AgentConfig
from supernetes.agent.nodestatus import NodeStatusReporter
from supernetes.controlplane.client import Client

CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
SUPERLET = str(Path(sys.executable).parent / "superlet")


def run_args(*argv: str):
    parser = argparse.ArgumentParser()
    cli._add_run(parser.add_subparsers())
    return parser.parse_args(["run", *argv])


def test_register_with_taints_parses_key_value_and_effect():
    args = run_args("--register-with-taints", f"{CONTROL_PLANE}:NoSchedule",
                    "--register-with-taints", "dedicated=gpu:NoExecute",
                    "--register-with-taints", "empty=:PreferNoSchedule")
    assert cli.config_from_args(args).taints == (
        {"key": CONTROL_PLANE, "effect": "NoSchedule"},
        {"key": "dedicated", "value": "gpu", "effect": "NoExecute"},
        {"key": "empty", "value": "", "effect": "PreferNoSchedule"})


def test_no_taint_flag_registers_no_taint():
    assert cli.config_from_args(run_args()).taints == ()


@pytest.mark.parametrize("bad, says", [
    ("gpu", "expected KEY[=VALUE]:EFFECT"),
    ("gpu:NoWay", "the effect must be one of NoSchedule, PreferNoSchedule, NoExecute"),
    ("=x:NoSchedule", "the taint has no key"),
])
def test_a_bad_taint_is_one_line_on_stderr_and_exit_2(bad, says):
    result = subprocess.run([SUPERLET, "run", "--register-with-taints", bad],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("superlet run: error: argument --register-with-taints")
    assert says in last


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("taints") / "data")
    server.start()
    yield server
    server.stop()


def kubectl_taints(server: ApiServer, node: str) -> list[dict]:
    out = subprocess.run(["/usr/bin/kubectl", "--kubeconfig", str(server.kubeconfig), "get",
                          "node", node, "-o", "jsonpath={.spec.taints}"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out) if out.strip() else []


def register(server: ApiServer, config: AgentConfig) -> None:
    with Client.from_kubeconfig(str(server.kubeconfig)) as client:
        NodeStatusReporter(SimpleNamespace(client=client, config=config)).register(5.0)


def test_a_new_node_is_registered_with_its_taints(apiserver):
    config = AgentConfig(node_name="cp-tainted", pod_cidr="10.244.7.0/24",
                         taints=({"key": CONTROL_PLANE, "effect": "NoSchedule"},))
    register(apiserver, config)
    assert kubectl_taints(apiserver, "cp-tainted") == [
        {"key": CONTROL_PLANE, "effect": "NoSchedule"}]


def test_a_restart_does_not_put_back_a_taint_the_admin_removed(apiserver):
    config = AgentConfig(node_name="cp-untainted", pod_cidr="10.244.8.0/24",
                         taints=({"key": CONTROL_PLANE, "effect": "NoSchedule"},))
    register(apiserver, config)
    subprocess.run(["/usr/bin/kubectl", "--kubeconfig", str(apiserver.kubeconfig), "taint",
                    "node", "cp-untainted", f"{CONTROL_PLANE}:NoSchedule-"],
                   capture_output=True, text=True, timeout=30, check=True)
    assert kubectl_taints(apiserver, "cp-untainted") == []
    register(apiserver, config)   # the agent starts again with the same flags
    assert kubectl_taints(apiserver, "cp-untainted") == []


def test_without_the_flag_the_node_has_no_taint(apiserver):
    register(apiserver, AgentConfig(node_name="worker-plain", pod_cidr="10.244.9.0/24"))
    assert kubectl_taints(apiserver, "worker-plain") == []
