"""`supernetes up --demo` and `supernetes down`, as the README's first command runs them.

In a network namespace the test makes (bound to a file under tmp), with a data
dir under tmp: the demo's three httpd replicas must serve their pages, and
`down` must leave no process, mount, cgroup, link or file behind.
"""

import os
import subprocess

import pytest
from nodekit import BIN, NetNS

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]


def supernetes(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "supernetes"), *args], capture_output=True, text=True,
                          timeout=300)


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

        again = supernetes("up", "--data-dir", str(data), "--netns", ns.path)
        assert again.returncode == 1 and again.stderr.count("\n") == 1
        assert "already up" in again.stderr

        down = supernetes("down", "--data-dir", str(data), "--netns", ns.path)
        assert down.returncode == 0, down.stderr
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
