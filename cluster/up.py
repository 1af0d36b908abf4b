"""`supernetes up` / `supernetes down`: a whole single-node cluster on this machine.

    supernetes up [--data-dir D] [--netns NAME] [--runtime superc|runc] [--demo]

starts, each as its own process (the way k3s composes a server and an agent):

    supernetes server      the API server over HTTPS on :6443, SQLite at D/state.db,
                           with the scheduler and the controllers inside it (node
                           IPAM gives the node its pod CIDR)
    superlet run           the node agent, joined with the server's bootstrap token
                           (--token-file: `ps` never shows it),
                           its state in D/superlet and D/run
    supernetes dns         the cluster DNS, once the node is Ready, listening on the
                           pod bridge's gateway address (the first address of the
                           node's pod CIDR, e.g. 10.244.0.1) port 53 and published
                           as the endpoint of kube-system/kube-dns (10.96.0.10)

after building a busybox image offline into the node's image store. The admin
kubeconfig is D/admin.kubeconfig; with the default data dir it is also copied
to /etc/supernetes/admin.kubeconfig, where superctl looks, and ~/.kube/config
points at it for kubectl when the user has none. `--netns NAME` first moves
this process into the network namespace NAME (made if missing), so every
process above runs there and the machine's own network is never touched
(reach the cluster with `ip netns exec NAME superctl ...`).

What `up` made is recorded in D/up.json; `supernetes down` reads it and undoes
all of it: the agent is stopped and `superlet reset` removes every container,
mount, veth, rule and cgroup; then the control plane processes stop, the files
go, and the namespace too if `up` made it. Processes are stopped by the PIDs
`up` recorded, each checked to still be the program it started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA_DIR = "/var/lib/supernetes"
ETC_KUBECONFIG = "/etc/supernetes/admin.kubeconfig"
STATE_FILE = "up.json"
BUSYBOX = "localhost/busybox:latest"


class UpError(Exception):
    """The cluster could not be started or stopped; the message says what and where."""


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _enter_netns(name: str) -> bool:
    """Move this (single-threaded) process into netns NAME; True if we created it."""
    from supernetes.runtime import linux

    path = name if "/" in name else f"/run/netns/{name}"
    created = False
    if not os.path.exists(path):
        if "/" in name:
            raise UpError(f"network namespace {path} does not exist")
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        created = True
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        linux.setns(fd, linux.CLONE_NEWNET, path)
    finally:
        os.close(fd)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
    return created


def _start(state: dict, data: Path, name: str, argv: list[str]) -> None:
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True)
    state["processes"][name] = {"pid": process.pid, "argv": argv}
    _save(data, state)


def _save(data: Path, state: dict) -> None:
    tmp = data / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, data / STATE_FILE)


def _wait(what: str, check, timeout: float, process_log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    hint = f" (see {process_log})" if process_log else ""
    raise UpError(f"{what} did not happen within {timeout:.0f} s{hint}")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def up(data_dir: str = DEFAULT_DATA_DIR, netns: str | None = None, runtime: str = "superc",
       port: int = 6443, pod_cidr: str | None = None, node_name: str | None = None,
       agent_port: int = 10250, timeout: float = 120.0) -> dict:
    data = Path(data_dir).absolute()
    if (data / STATE_FILE).exists():
        raise UpError(f"a cluster is already up with data dir {data} "
                      f"(`supernetes down --data-dir {data}` first)")
    data.mkdir(parents=True, exist_ok=True)
    state: dict = {"dataDir": str(data), "netns": netns, "createdNetns": False,
                   "processes": {}, "files": []}
    _save(data, state)
    if netns:
        state["createdNetns"] = _enter_netns(netns)
        _save(data, state)
    if not _free(port):
        raise UpError(f"port {port} is taken (another API server?): pass --port")
    node_name = node_name or socket.gethostname().lower()

    # The server's own DNS would listen on its bind address, which no pod reaches
    # (loopback, or the wildcard with nothing to advertise): `dns` below serves them.
    _start(state, data, "server", [_bin("supernetes"), "server", "--data-dir", str(data),
                                   "--bind", "127.0.0.1" if netns else "0.0.0.0",
                                   "--port", str(port), "--disable-dns"])
    kubeconfig = data / "admin.kubeconfig"
    _wait("the API server writing its admin kubeconfig", kubeconfig.exists, timeout,
          data / "logs" / "server.log")
    admin = str(kubeconfig)

    _import_busybox(data / "superlet" / "images")
    agent = [_bin("superlet"), "run", "--server", f"https://127.0.0.1:{port}",
             "--token-file", str(data / "tokens" / "bootstrap"),  # never on the command line
             "--node-name", node_name, "--root-dir", str(data / "superlet"),
             "--run-dir", str(data / "run"), "--runtime", runtime, "--port", str(agent_port)]
    if pod_cidr:
        agent += ["--pod-cidr", pod_cidr]
    _start(state, data, "superlet", agent)
    _publish_kubeconfig(state, data, kubeconfig)
    _wait(f"node {node_name} becoming Ready", lambda: _node_ready(admin, node_name), timeout,
          data / "logs" / "superlet.log")
    _start_dns(state, data, admin, node_name, timeout)
    return state


def _start_dns(state: dict, data: Path, kubeconfig: str, node_name: str,
               timeout: float) -> None:
    """The cluster DNS where this node's pods reach it: the pod bridge's gateway.

    A pod cannot reach the node's loopback, and in a fresh network namespace the
    node has no other address; but every pod routes through the bridge, whose
    gateway address is the node's own. The agent's service proxy then sends the
    kube-dns ClusterIP, which pods are told to ask, to that address.
    """
    gateway = ""

    def gateway_up() -> bool:
        nonlocal gateway
        gateway = gateway or _pod_gateway(kubeconfig, node_name)
        return bool(gateway) and _is_local(gateway)

    _wait("the pod bridge's gateway address", gateway_up, timeout,
          data / "logs" / "superlet.log")
    _start(state, data, "dns", [_bin("supernetes"), "dns", "--kubeconfig", kubeconfig,
                                "--bind", f"{gateway}:53", "--advertise", gateway])
    _wait(f"the cluster DNS serving on {gateway}:53",
          lambda: _dns_published(kubeconfig, gateway), timeout, data / "logs" / "dns.log")


def _import_busybox(store: Path) -> None:
    from supernetes.rootfs.build import build_busybox
    from supernetes.rootfs.errors import ImageNotFound
    from supernetes.rootfs.images import ImageService

    service = ImageService(str(store), progress=False)
    try:
        service.image(BUSYBOX)
        return
    except ImageNotFound:
        pass
    layout = store.parent / "busybox-layout"
    build_busybox(str(layout), BUSYBOX)
    service.import_(str(layout))
    shutil.rmtree(layout, ignore_errors=True)


def _publish_kubeconfig(state: dict, data: Path, kubeconfig: Path) -> None:
    if str(data) != DEFAULT_DATA_DIR:
        return
    os.makedirs(os.path.dirname(ETC_KUBECONFIG), exist_ok=True)
    shutil.copy2(kubeconfig, ETC_KUBECONFIG)
    state["files"].append(ETC_KUBECONFIG)
    home = Path(os.path.expanduser("~/.kube/config"))
    if not home.exists() and not home.is_symlink():
        home.parent.mkdir(parents=True, exist_ok=True)
        home.symlink_to(ETC_KUBECONFIG)
        state["files"].append(str(home))
    _save(data, state)


def _get(kubeconfig: str, kind: str, name: str, namespace: str | None = None) -> dict:
    """One object read as the admin; {} while the server cannot give it (yet)."""
    from supernetes.controlplane.client import Client, ClientError

    try:
        with Client.from_kubeconfig(kubeconfig) as client:
            return client.get("v1", kind, name, namespace)
    except ClientError:
        return {}


def _node_ready(kubeconfig: str, node: str) -> bool:
    status = _get(kubeconfig, "Node", node).get("status") or {}
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status.get("conditions") or [])


def _pod_gateway(kubeconfig: str, node: str) -> str:
    """The first address of the node's pod CIDR ('' until it has one)."""
    import ipaddress

    cidr = (_get(kubeconfig, "Node", node).get("spec") or {}).get("podCIDR")
    return str(ipaddress.ip_network(cidr).network_address + 1) if cidr else ""


def _is_local(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True


def _dns_published(kubeconfig: str, address: str) -> bool:
    """Has the DNS server published itself as kube-system/kube-dns's endpoint?"""
    endpoints = _get(kubeconfig, "Endpoints", "kube-dns", "kube-system")
    return any(a.get("ip") == address for subset in endpoints.get("subsets") or []
               for a in subset.get("addresses") or [])


# --- down ----------------------------------------------------------------------------------

def down(data_dir: str = DEFAULT_DATA_DIR, netns: str | None = None) -> list[str]:
    data = Path(data_dir).absolute()
    try:
        state = json.loads((data / STATE_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise UpError(f"no cluster recorded in {data / STATE_FILE}: nothing to take down") \
            from exc
    netns = netns or state.get("netns")
    if netns and state.get("netns") and netns != state["netns"]:
        raise UpError(f"the cluster in {data} runs in netns {state['netns']}, not {netns}")
    done = []
    if netns:
        path = netns if "/" in netns else f"/run/netns/{netns}"
        if os.path.exists(path):
            _enter_netns(netns)
    processes = state.get("processes", {})
    if "superlet" in processes:
        _stop(processes["superlet"])
        done.append("superlet")
    from supernetes.agent.config import AgentConfig
    from supernetes.agent.reset import reset

    if (data / "superlet").exists():
        agent_runtime = "superc"
        argv = processes.get("superlet", {}).get("argv", [])
        if "--runtime" in argv:
            agent_runtime = argv[argv.index("--runtime") + 1]
        done += reset(AgentConfig(root_dir=str(data / "superlet"), run_dir=str(data / "run"),
                                  runtime=agent_runtime), everything=True)
    for name in ("dns", "controllers", "scheduler", "server"):
        if name in processes:
            _stop(processes[name])
            done.append(name)
    for path in state.get("files", []):
        if os.path.islink(path) or os.path.exists(path):
            os.unlink(path)
            done.append(path)
    shutil.rmtree(data, ignore_errors=True)
    done.append(str(data))
    if netns and state.get("createdNetns") and "/" not in netns:
        subprocess.run(["ip", "netns", "delete", netns], capture_output=True)
        done.append(f"netns {netns}")
    return done


def _stop(process: dict, timeout: float = 15.0) -> None:
    """SIGTERM the recorded PID (if it is still the program we started), then SIGKILL."""
    pid = process["pid"]
    if not _is(pid, process["argv"]):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is(pid, process["argv"]):
        time.sleep(0.1)
    if _is(pid, process["argv"]):
        os.kill(pid, signal.SIGKILL)
        while _is(pid, process["argv"]):
            time.sleep(0.05)


def _is(pid: int, argv: list[str]) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat", "rb") as f:
            zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return False
    return not zombie and os.path.basename(argv[0]).encode() in b" ".join(cmdline)
