"""`supernetes up --demo` and `supernetes down`, as the README's first command runs them.

In a network namespace the test makes (bound to a file under tmp), with a data
dir under tmp, where the node's only address is loopback: the demo's three httpd
replicas must serve their pages, a pod must resolve cluster names through the
cluster DNS (busybox's nslookup, asking 10.96.0.10), the bootstrap token must
not show in `ps`, and `down` must leave no process, mount, cgroup, link or file
behind.
"""

import json
import os
import re
import subprocess

import pytest
from nodekit import BIN, NetNS
from prockit import alive

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]


def supernetes(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "supernetes"), *args], capture_output=True, text=True,
                          timeout=300)


def nslookup(ns, data, pod: str, name: str) -> list[str]:
    out = ns.run([str(BIN / "superlet"), "exec", "--root-dir", str(data / "superlet"),
                  "--run-dir", str(data / "run"), pod, "--", "nslookup", name])
    text = out.stdout + out.stderr
    after = text.split("Name:", 1)[1] if "Name:" in text else ""
    return sorted(re.findall(r"Address:\s*([\d.]+)\s*$", after, re.M))


def test_up_with_the_demo_serves_three_pages_and_down_removes_everything(tmp_path):
    ns = NetNS(tmp_path / "netns")
    data = tmp_path / "data"
    try:
        up = supernetes("up", "--data-dir", str(data), "--netns", ns.path, "--port", "16443",
                        "--node-name", "demo-node", "--demo")
        assert up.returncode == 0, up.stderr + up.stdout
        pages = [line for line in up.stdout.splitlines() if "->  hello from hello-" in line]
        assert len(pages) == 3, up.stdout
        assert len({line.split("->")[1] for line in pages}) == 3  # three different pods
        listing = [line for line in up.stdout.splitlines() if line.startswith("hello-")]
        assert len(listing) == 3 and all("Running" in line and "10.244." in line
                                         for line in listing)
        assert (data / "admin.kubeconfig").exists()
        links = ns.run(["ip", "-o", "link"]).stdout
        assert "super0" in links and "veth" in links

        # Cluster DNS, asked from a pod: the API server's name and a Service's name.
        kubectl = ["/usr/bin/kubectl", "--kubeconfig", str(data / "admin.kubeconfig")]
        made = ns.run([*kubectl, "create", "service", "clusterip", "hello", "--tcp=80:8080"])
        assert made.returncode == 0, made.stderr
        service_ip = ns.run([*kubectl, "get", "service", "hello", "-o",
                             "jsonpath={.spec.clusterIP}"]).stdout
        client = listing[0].split()[0]
        resolv = ns.run([str(BIN / "superlet"), "exec", "--root-dir", str(data / "superlet"),
                         "--run-dir", str(data / "run"), client, "--", "cat",
                         "/etc/resolv.conf"]).stdout
        assert "nameserver 10.96.0.10" in resolv
        assert nslookup(ns, data, client, "kubernetes.default.svc.cluster.local") == \
            ["10.96.0.1"]
        assert nslookup(ns, data, client, "hello") == [service_ip]

        # The agent got the bootstrap token from a file: `ps` does not show it.
        token = (data / "tokens" / "bootstrap").read_text().strip()
        processes = json.loads((data / "up.json").read_text())["processes"]
        assert sorted(processes) == ["dns", "server", "superlet"]
        agent = processes["superlet"]
        with open(f"/proc/{agent['pid']}/cmdline", "rb") as f:
            cmdline = f.read().decode().split("\0")
        assert "--token-file" in cmdline and token not in " ".join(cmdline)

        again = supernetes("up", "--data-dir", str(data), "--netns", ns.path)
        assert again.returncode == 1 and again.stderr.count("\n") == 1
        assert "already up" in again.stderr

        pids = [p["pid"] for p in json.loads((data / "up.json").read_text())["processes"]
                .values()]
        down = supernetes("down", "--data-dir", str(data), "--netns", ns.path)
        assert down.returncode == 0, down.stderr
        assert not [pid for pid in pids if alive(pid)]  # the dns process too
        assert not data.exists()
        assert ns.run(["ip", "-o", "link"]).stdout.count("\n") == 1  # lo only
        assert ns.run(["nft", "list", "tables"]).stdout.strip() == ""
        with open("/proc/self/mountinfo") as f:
            assert not [ln for ln in f if str(data) in ln]
    finally:
        if data.exists():
            supernetes("down", "--data-dir", str(data), "--netns", ns.path)
        ns.close()


def test_down_without_a_cluster_is_one_line_and_a_non_zero_exit(tmp_path):
    down = supernetes("down", "--data-dir", str(tmp_path / "nothing"))
    assert down.returncode == 1
    assert down.stderr.startswith("supernetes down: no cluster recorded")
    assert down.stderr.count("\n") == 1
    assert not os.path.exists(tmp_path / "nothing")
