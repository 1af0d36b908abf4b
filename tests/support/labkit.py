"""A running `supernetes lab` for end-to-end tests, and what tests do with one.

    lab = Lab.start(tmp, nodes=3, backend="host-gw")    # `supernetes lab up`, for real
    lab.client                  an admin Client (through the lab's loopback relay)
    lab.kubeconfig              for kubectl and superctl
    lab.node_names              ["t1a2b3c-node1", ...]
    lab.exec("node1", argv)     a command inside a machine (`supernetes lab exec`)
    lab.cli("status")           the `supernetes lab` command itself, on this lab
    lab.close()                 `supernetes lab down`

Everything lives under the test's tmp dir: the data dir, and the machines'
network namespaces (pinned there, not in /run/netns, which other test
sessions' leak checks watch). The lab's name is random, so labs of concurrent
sessions never share a name, a Node name or a cgroup. The agents run with
short periods and the control plane with a short node grace period and
eviction timeout (`FAST`), so failure tests take seconds.

Pods for network tests (`whoami_pod`) run busybox's httpd with a CGI script
that answers with REMOTE_ADDR: the address the connection came from, as the
server saw it. `fetch(pod, url)` runs busybox wget inside a pod.

A conftest gets a module-wide lab with `from labfixtures import lab` (see
labfixtures.py); the proxy and DNS tests can run in the same lab.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from supernetes.controlplane.client import Client, NotFound
from supernetes.lab import lab as lab_mod
from supernetes.lab.config import LabConfig
from supernetes.lab.state import LabState

BIN = Path(sys.executable).parent
BUSYBOX = "localhost/busybox:latest"
# Agents: the runtime relisted every 0.2 s, node status every 1 s, leases renewed
# quickly; the control plane: a node is Unknown after 4 s of silence, and its pods
# are evicted 3 s later.
FAST_AGENT = ["--relist-period", "0.2", "--sync-frequency", "5", "--node-status-period", "1",
              "--crash-backoff", "1", "4"]
FAST = {"node_monitor_grace_period": 4.0, "pod_eviction_timeout": 3}

# busybox httpd (listening dual-stack, so REMOTE_ADDR reads [::ffff:10.244.1.2])
WHOAMI = r"""mkdir -p /www/cgi-bin
cat > /www/cgi-bin/ip <<'EOF'
#!/bin/sh
a=${REMOTE_ADDR#[}; a=${a%]}; a=${a#::ffff:}
printf 'Content-Type: text/plain\r\n\r\n%s' "$a"
EOF
chmod +x /www/cgi-bin/ip
hostname > /www/index.html
exec httpd -f -p 8080 -h /www
"""


class Lab:
    def __init__(self, state: LabState):
        self.state = state
        self.config = state.config
        self.client = Client.from_kubeconfig(str(state.kubeconfig))

    @classmethod
    def start(cls, tmp: Path, nodes: int = 3, backend: str = "host-gw", **overrides) -> Lab:
        name = "t" + uuid.uuid4().hex[:6]
        settings = {**FAST, **overrides}
        settings["agent_args"] = [*FAST_AGENT, *settings.get("agent_args", [])]
        config = LabConfig(name=name, nodes=nodes, backend=backend,
                           data_dir=str(tmp / "lab"), netns_dir=str(tmp / "netns"),
                           timeout=90, **settings)
        try:
            state = lab_mod.up(config, progress=lambda line: None)
        except BaseException:
            if LabState.exists(config.data_dir):
                lab_mod.down(config.data_dir)
            raise
        return cls(state)

    def close(self) -> None:
        self.client.close()
        lab_mod.down(self.config.data_dir)

    # --- looking ---------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> str:
        return str(self.state.kubeconfig)

    @property
    def node_names(self) -> list[str]:
        return [self.config.hostname(m) for m in self.config.machines()[1:]]

    def address(self, machine: str) -> str:
        return self.config.address(self.config.machine_for(machine))

    def netns(self, machine: str) -> str:
        return self.config.netns_path(self.config.machine_for(machine))

    def exec(self, machine: str, argv: list[str], check: bool = True,
             timeout: float = 60) -> subprocess.CompletedProcess:
        command, env = lab_mod.exec_argv(self.state, machine, argv)
        return subprocess.run(command, env=env, capture_output=True, text=True, check=check,
                              timeout=timeout)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        verb, rest = args[0], list(args[1:])   # the options before `exec`'s command
        return subprocess.run([str(BIN / "supernetes"), "lab", verb, "--name", self.config.name,
                               "--data-dir", self.config.data_dir, *rest],
                              capture_output=True, text=True, timeout=300)

    def routes(self, machine: str) -> str:
        """The cross-node routes (protocol 83) a machine holds."""
        return subprocess.run(["nsenter", f"--net={self.netns(machine)}", "ip", "route", "show",
                               "proto", "83"], capture_output=True, text=True).stdout

    def log_tail(self, machine: str, lines: int = 30) -> str:
        machine = self.config.machine_for(machine)
        name = "server.log" if machine == "cp" else "superlet.log"
        log = self.state.machine_dir(machine) / name
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # --- pods ------------------------------------------------------------------------------

    def pod(self, name: str, namespace: str = "default") -> dict | None:
        try:
            return self.client.get("v1", "Pod", name, namespace)
        except NotFound:
            return None

    def whoami_pod(self, name: str, node: str | None = None, namespace: str = "default",
                   labels: dict | None = None) -> dict:
        """A pod answering HTTP on 8080: / with its name, /cgi-bin/ip with the caller's IP."""
        spec = {"containers": [whoami_container()], "terminationGracePeriodSeconds": 1}
        if node:
            spec["nodeName"] = node
        return self.client.create({"apiVersion": "v1", "kind": "Pod",
                                   "metadata": {"name": name, "namespace": namespace,
                                                "labels": labels or {"app": "whoami"}},
                                   "spec": spec})

    def wait_running(self, name: str, namespace: str = "default", timeout: float = 60) -> dict:
        last: dict = {}

        def check() -> bool:
            nonlocal last
            last = self.pod(name, namespace) or {}
            status = last.get("status") or {}
            return status.get("phase") == "Running" and bool(status.get("podIP")) and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in status.get("conditions") or [])

        if not wait_for(check, timeout):
            node = (last.get("spec") or {}).get("nodeName") or "node1"
            raise AssertionError(f"pod {namespace}/{name} not Running: {last.get('status')}\n"
                                 f"{self.log_tail(node)}")
        return last

    def kubectl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args],
                              capture_output=True, text=True, timeout=timeout)

    def fetch(self, pod: str, url: str, namespace: str = "default", timeout: int = 5) -> str:
        """busybox wget inside the pod (through `kubectl exec`): the body, or 'error: ...'."""
        # (busybox's own `wget -T` crashes in Debian's static build: `timeout` instead)
        done = self.kubectl("exec", "-n", namespace, pod, "--", "timeout", str(timeout),
                            "wget", "-qO-", url, timeout=timeout + 30)
        if done.returncode != 0:
            return f"error: {done.stderr.strip()}"
        return done.stdout.strip()

    def delete_pods(self, names: list[str], namespace: str = "default",
                    timeout: float = 60) -> None:
        """Delete and wait until the API has let them go and their nodes have swept
        their cgroups (the last thing a node removes, after the API forgets the pod)."""
        uids = []
        for name in names:
            pod = self.pod(name, namespace)
            if pod is None:
                continue
            uids.append(pod["metadata"]["uid"])
            try:
                self.client.delete("v1", "Pod", name, namespace)
            except NotFound:
                pass
        assert wait_for(lambda: all(self.pod(n, namespace) is None for n in names), timeout), \
            f"pods {names} are still there"
        assert wait_for(lambda: not self.pod_cgroups(uids), timeout), self.pod_cgroups(uids)

    def pod_cgroups(self, uids: list[str]) -> list[str]:
        found = []
        for machine, record in self.state.machines.items():
            parent = f"superlet-{self.config.hostname(machine)}"
            for directory in record.get("cgroups", []):
                found += [os.path.join(directory, parent, f"pod{uid}") for uid in uids
                          if os.path.isdir(os.path.join(directory, parent, f"pod{uid}"))]
        return found


def whoami_container() -> dict:
    return {"name": "whoami", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", WHOAMI],
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}


def wait_for(check, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())
