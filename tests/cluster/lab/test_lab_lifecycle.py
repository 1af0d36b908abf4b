"""The lab's own life: bad input, up twice, stop and resume, outside access, and down.

Each test makes a small lab of its own and takes it down; the leak check
(tests/support/leakcheck.py) then verifies the host has no mount, namespace,
link, rule, cgroup or process more than before.
"""

import ipaddress
import json
import os
import random
import subprocess
import uuid

import pytest
from labkit import BIN, FAST_AGENT, Lab, whoami_container
from netcheck import Listener
from prockit import alive
from proxykit import make_netns, remove_netns

from supernetes.agent.network import nft

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]


def supernetes_lab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "supernetes"), "lab", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("args, message", [
    (["--nodes", "0"], "--nodes 0: between 1 and"),
    (["--name", "Bad_Name"], "lab name 'Bad_Name'"),
    (["--subnet", "10.244.3.0/24"], "overlaps the cluster range 10.244.0.0/16"),
    (["--subnet", "nonsense"], "subnet 'nonsense'"),
])
def test_bad_input_is_one_line_and_makes_nothing(tmp_path, args, message):
    done = supernetes_lab("up", "--data-dir", str(tmp_path / "lab"), *args)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert not (tmp_path / "lab").exists()


def command_lines() -> list[str]:
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                lines.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass    # gone meanwhile
    return lines


def test_down_removes_every_process_namespace_cgroup_and_file(tmp_path):
    lab = Lab.start(tmp_path, nodes=1)
    # the nodes joined with the token in a file: `ps` shows its path, never the token
    token = (lab.state.server_data / "tokens" / "bootstrap").read_text().strip()
    agents = [line for line in command_lines()
              if "superlet run" in line and str(lab.state.server_data) in line]
    assert agents and all("--token-file" in line and token not in line for line in agents)
    lab.whoami_pod("busy", node=lab.node_names[0])
    lab.wait_running("busy")
    records = dict(lab.state.machines)
    parents = [os.path.join(d, f"superlet-{lab.config.hostname(m)}")
               for m, r in records.items() for d in r.get("cgroups", [])]
    assert any(os.path.isdir(p) for p in parents)

    again = lab.cli("up")
    assert again.returncode == 1 and "already up" in again.stderr

    lab.client.close()
    down = lab.cli("down")
    assert down.returncode == 0, down.stderr
    assert not (tmp_path / "lab").exists() and not (tmp_path / "netns").exists()
    for record in records.values():
        assert not alive(record["pid"]) and not alive(record["init"])
    assert not [p for p in parents if os.path.isdir(p)]
    with open("/proc/self/mountinfo") as f:
        assert str(tmp_path) not in f.read()


def test_stop_then_up_resumes_the_same_cluster(tmp_path):
    lab = Lab.start(tmp_path, nodes=1)
    try:
        lab.whoami_pod("survivor", node=lab.node_names[0])
        uid = lab.wait_running("survivor")["metadata"]["uid"]
        lab.client.close()
        stop = lab.cli("stop")
        assert stop.returncode == 0, stop.stderr
        status = lab.cli("status").stdout
        assert status.count("stopped") == 2 and "running" not in status

        resumed = lab.cli("up")
        assert resumed.returncode == 0, resumed.stderr
        lab = Lab(type(lab.state).load(lab.config.data_dir))
        pod = lab.wait_running("survivor")
        assert pod["metadata"]["uid"] == uid   # the same pod, from the same store
        lab.delete_pods(["survivor"])
    finally:
        lab.close()


def test_outside_access_adds_an_uplink_and_down_takes_it_back(tmp_path):
    """--outside-access changes the host: a link, forwarding, a masquerade table. Links
    and rules on this machine's own network are shared with every concurrent test
    session (whose leak checks would take them for their own), so here "the host" is a
    network namespace of the test's, where the whole `supernetes lab` command runs."""
    host = make_netns(tmp_path / "host.netns")
    subnet = f"172.31.{random.randint(128, 250)}.0/24"
    gateway = str(ipaddress.ip_network(subnet).network_address + 1)
    name = "o" + uuid.uuid4().hex[:6]
    where = ["--name", name, "--data-dir", str(tmp_path / "lab")]

    def on_host(*argv: str, check: bool = True) -> str:
        return subprocess.run(["nsenter", f"--net={host}", *argv], capture_output=True,
                              text=True, check=check, timeout=300).stdout

    try:
        on_host(str(BIN / "supernetes"), "lab", "up", *where, "--nodes", "1",
                "--netns-dir", str(tmp_path / "netns"), "--subnet", subnet,
                "--outside-access", *[f"--agent-arg={a}" for a in FAST_AGENT])
        link = f"lab-{name}"
        assert f"inet {gateway}/24" in on_host("ip", "-o", "-4", "addr", "show", link)
        assert on_host("cat", "/proc/sys/net/ipv4/ip_forward").strip() == "1"
        table = nft.list_table("ip", f"supernetes-lab-{name}", netns=host)
        assert f"ip saddr {subnet}" in table and "masquerade" in table
        node_ns = str(tmp_path / "netns" / f"{name}-node1")
        assert f"default via {gateway}" in subprocess.run(
            ["nsenter", f"--net={node_ns}", "ip", "route"], capture_output=True,
            text=True).stdout

        # a pod reaches the host through the uplink (masqueraded by its node on the way)
        kubeconfig = str(tmp_path / "lab" / "kubeconfig")
        pod = ["kubectl", "--kubeconfig", kubeconfig]
        manifest = tmp_path / "pod.json"
        manifest.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "out"},
            "spec": {"containers": [whoami_container()], "terminationGracePeriodSeconds": 1}}))
        on_host(*pod, "apply", "-f", str(manifest))
        on_host(*pod, "wait", "--for=condition=Ready", "pod/out", "--timeout=60s")
        with Listener(host, gateway, 9077):
            seen = on_host(*pod, "exec", "out", "--", "sh", "-c",
                           f"nc {gateway} 9077 </dev/null").strip()
        assert seen == str(ipaddress.ip_network(subnet).network_address + 11)   # node1
        on_host(*pod, "delete", "pod", "out", "--wait=true")
    finally:
        on_host(str(BIN / "supernetes"), "lab", "down", *where, check=False)
        links = on_host("ip", "-o", "link")
        tables = on_host("nft", "list", "tables")
        forwarding = on_host("cat", "/proc/sys/net/ipv4/ip_forward").strip()
        remove_netns(host)
    assert f"lab-{name}" not in links and f"supernetes-lab-{name}" not in tables
    assert forwarding == "0"   # as the fresh namespace had it
