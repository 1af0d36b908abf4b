"""The lab's verbs: up, stop, down, status, node stop/start/kill, exec.

`up(config)` builds (or resumes) a lab, in this order, saving lab.json before
each step that makes something:

    1. the switch (and the uplink, with --outside-access)
    2. a busybox image, built offline once, for every node's image store
    3. the control plane machine: `supernetes server` (scheduler and controllers
       inside) and the port proxy that publishes it on the host's 127.0.0.1
    4. the host's kubeconfig (DATA_DIR/kubeconfig), once the server serves
    5. the nodes, each joining with `superlet run --server URL --token-file FILE`
    6. waits until every node is Ready

`up` on a lab that exists boots whatever is not running, with the state it had
(the store, the nodes' credentials and images stay in the data dir): a lab
survives `lab stop` and a reboot of the host. `down` stops every machine and
removes everything the lab made, the data dir included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import time
from pathlib import Path

import yaml

from . import LabError, netplumb
from .config import API_PORT, CONTROL_PLANE, DEFAULT_NETNS_DIR, LabConfig
from .machine import Machine
from .state import LabState

BUSYBOX = "localhost/busybox:latest"
SWITCH = "switch"


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def machines(state: LabState) -> list[Machine]:
    return [Machine(state, name) for name in state.config.machines()]


# --- up ----------------------------------------------------------------------------------

RESUME_FIELDS = ("nodes", "backend", "subnet", "netns_dir", "outside_access")


def up(config: LabConfig, progress=print, explicit: set[str] | None = None) -> LabState:
    """Build the lab `config` describes, or resume the one in its data dir. On resume
    the stored configuration wins; `explicit` names the fields the user gave, which
    must then agree with it (default: all of RESUME_FIELDS)."""
    config.validate()
    config.data_dir = str(Path(config.data_dir).absolute())
    if LabState.exists(config.data_dir):
        state = LabState.load(config.data_dir)
        _check_same(state.config, config, RESUME_FIELDS if explicit is None else explicit)
        if all(m.running() for m in machines(state)):
            raise LabError(f"lab {config.name} is already up (data dir {config.data_dir})")
        progress(f"resuming lab {state.config.name} from {config.data_dir}")
    else:
        if config.outside_access:
            netplumb.check_subnet_free(config.subnet)
        state = LabState(config)
        state.save()
    config = state.config
    switch = config.netns_path(SWITCH)
    netplumb.make_switch(switch)
    if config.outside_access and not state.uplink:
        state.uplink = True
        state.host_forwarding = netplumb.host_forwarding()
        state.save()
        netplumb.make_uplink(config.name, switch, config.gateway, config.subnet)
    layout = _busybox_layout(state)

    cp = Machine(state, CONTROL_PLANE)
    if not cp.running():
        progress(f"booting {cp.hostname} ({config.address(CONTROL_PLANE)}): supernetes server")
        _boot_control_plane(state, cp)
    admin = _wait_for_server(state, cp)
    token_file = str(state.server_data / "tokens" / "bootstrap")
    ca = str(state.server_data / "pki" / "ca.crt")

    for node in machines(state)[1:]:
        if not node.running():
            progress(f"booting {node.hostname} ({config.address(node.name)}): superlet run")
            _boot_node(state, node, token_file, ca, layout)
    for node in machines(state)[1:]:
        wait_ready(state, node, admin)
    progress(f"lab {config.name} is up: {config.nodes} nodes Ready; "
             f"export KUBECONFIG={state.kubeconfig}")
    return state


def _check_same(stored: LabConfig, asked: LabConfig, fields) -> None:
    for field in RESUME_FIELDS:
        if field in fields and getattr(stored, field) != getattr(asked, field):
            raise LabError(f"lab {stored.name} in {stored.data_dir} was made with "
                           f"{field}={getattr(stored, field)!r}, not {getattr(asked, field)!r} "
                           f"(`supernetes lab down` first to change it)")


def _busybox_layout(state: LabState) -> Path:
    from supernetes.rootfs.build import build_busybox

    layout = state.images / "busybox"
    if not (layout / "index.json").exists():
        shutil.rmtree(layout, ignore_errors=True)
        state.images.mkdir(parents=True, exist_ok=True)
        build_busybox(str(layout), BUSYBOX)
    return layout


def _plug(state: LabState, machine: Machine) -> None:
    config = state.config
    netplumb.pin(machine.netns)
    netplumb.plug(config.netns_path(SWITCH), machine.netns,
                  config.address(machine.name), config.prefixlen,
                  gateway=config.gateway if state.uplink else None)


def _listener(state: LabState) -> socket.socket:
    """The host's end of the API relay: the recorded port again if it is free."""
    sock = socket.socket()
    for port in dict.fromkeys((state.api_port or state.config.api_port, 0)):
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            continue
    sock.listen(128)
    state.api_port = sock.getsockname()[1]
    state.save()
    return sock


def _boot_control_plane(state: LabState, cp: Machine) -> None:
    config = state.config
    _plug(state, cp)
    listener = _listener(state)
    fd = listener.fileno()
    server = [_bin("supernetes"), "server", "--data-dir", str(state.server_data),
              "--bind", "0.0.0.0", "--port", str(API_PORT),
              "--advertise-address", config.address(CONTROL_PLANE),
              "--node-monitor-grace-period", str(config.node_monitor_grace_period),
              "--default-not-ready-toleration-seconds", str(config.pod_eviction_timeout),
              "--default-unreachable-toleration-seconds", str(config.pod_eviction_timeout),
              *config.server_args]
    relay = [sys.executable, "-m", "supernetes.lab.portproxy", "--listen-fd", str(fd),
             "--to", f"127.0.0.1:{API_PORT}"]
    try:
        cp.boot([{"name": "server", "argv": server, "log": str(cp.dir / "server.log")},
                 {"name": "portproxy", "argv": relay, "log": str(cp.dir / "portproxy.log"),
                  "fds": [fd]}],
                env={"KUBECONFIG": str(state.server_data / "admin.kubeconfig")},
                tmpfs=[], pass_fds=(fd,))
    finally:
        listener.close()   # the machine holds its own copy


def _wait_for_server(state: LabState, cp: Machine) -> str:
    """Wait for the admin kubeconfig; write the host's copy, pointing at the relay."""
    admin = state.server_data / "admin.kubeconfig"
    _wait(lambda: admin.exists() or not cp.running(), state.config.timeout,
          "the API server to serve", cp.dir / "server.log")
    if not cp.running():
        raise LabError(f"the control plane machine stopped (see {cp.dir / 'server.log'})")
    document = yaml.safe_load(admin.read_text())
    for cluster in document.get("clusters", []):
        cluster["cluster"]["server"] = f"https://127.0.0.1:{state.api_port}"
    tmp = state.kubeconfig.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(document))
    os.chmod(tmp, 0o600)
    os.replace(tmp, state.kubeconfig)
    return str(state.kubeconfig)


def node_env(state: LabState, node: Machine) -> dict[str, str]:
    return {"SUPERLET_ROOT_DIR": str(node.dir / "root"),
            "SUPERLET_RUN_DIR": str(node.dir / "run")}


def agent_argv(state: LabState, token_file: str, ca_file: str) -> list[str]:
    """The join command: the very one a remote machine runs (vagrant/systemd/superlet.service,
    started by vagrant/provision/join.sh; tests/vagrant checks they agree). The token is
    read from the server's file, so `ps` on the host never shows it."""
    config = state.config
    return [_bin("superlet"), "run", "--server", config.server_url,
            "--token-file", token_file, "--ca-file", ca_file, "--network-backend", config.backend,
            "--runtime", config.runtime, *config.agent_args]


def _boot_node(state: LabState, node: Machine, token_file: str, ca: str,
               layout: Path) -> None:
    _plug(state, node)
    _import_image(node.dir / "root" / "images", layout)
    node.boot([{"name": "superlet", "argv": agent_argv(state, token_file, ca),
                "log": str(node.dir / "superlet.log")}],
              env=node_env(state, node), tmpfs=[str(node.dir / "run")])


def _import_image(store: Path, layout: Path) -> None:
    from supernetes.rootfs.errors import ImageNotFound
    from supernetes.rootfs.images import ImageService

    service = ImageService(str(store), progress=False)
    try:
        service.image(BUSYBOX)
    except ImageNotFound:
        service.import_(str(layout))


def node_conditions(admin: str, hostname: str) -> dict[str, str]:
    from supernetes.controlplane.client import Client, ClientError

    try:
        with Client.from_kubeconfig(admin) as client:
            node = client.get("v1", "Node", hostname)
    except ClientError:
        return {}
    return {c.get("type"): c.get("status")
            for c in (node.get("status") or {}).get("conditions") or []}


def wait_ready(state: LabState, node: Machine, admin: str | None = None) -> None:
    admin = admin or str(state.kubeconfig)
    _wait(lambda: node_conditions(admin, node.hostname).get("Ready") == "True"
          or not node.running(), state.config.timeout, f"node {node.hostname} to be Ready",
          node.dir / "superlet.log")
    if not node.running():
        raise LabError(f"machine {node.hostname} stopped (see {node.dir / 'console.log'})")


def _wait(check, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout:.0f} s waiting for {what} (see {log})")
        time.sleep(0.2)


# --- node verbs --------------------------------------------------------------------------

def node_stop(state: LabState, name: str) -> None:
    Machine(state, state.config.machine_for(name)).stop()


def node_kill(state: LabState, name: str) -> None:
    Machine(state, state.config.machine_for(name)).kill()


def node_start(state: LabState, name: str) -> None:
    machine = Machine(state, state.config.machine_for(name))
    if machine.running():
        raise LabError(f"machine {machine.hostname} is already running")
    if machine.name == CONTROL_PLANE:
        _boot_control_plane(state, machine)
        _wait_for_server(state, machine)
        return
    _boot_node(state, machine, str(state.server_data / "tokens" / "bootstrap"),
               str(state.server_data / "pki" / "ca.crt"), _busybox_layout(state))
    wait_ready(state, machine)


def exec_argv(state: LabState, name: str, argv: list[str]) -> tuple[list[str], dict]:
    machine = Machine(state, state.config.machine_for(name))
    return machine.exec_argv(argv), machine.environment()


# --- status ------------------------------------------------------------------------------

def status(state: LabState) -> list[dict]:
    rows = []
    admin = str(state.kubeconfig)
    cp_up = Machine(state, CONTROL_PLANE).running() and state.kubeconfig.exists()
    for machine in machines(state):
        row = {"machine": machine.hostname, "address": state.config.address(machine.name),
               "running": machine.running(), "pid": machine.init_pid,
               "role": "control-plane" if machine.name == CONTROL_PLANE else "node",
               "ready": ""}
        if machine.name == CONTROL_PLANE:
            row["ready"] = "serving" if cp_up else ""
        elif cp_up:
            row["ready"] = node_conditions(admin, machine.hostname).get("Ready", "")
        rows.append(row)
    return rows


# --- stop and down -----------------------------------------------------------------------

def stop(state: LabState, timeout: float = 30.0) -> None:
    """Power every machine off (nodes first); the data dir stays for the next `up`."""
    for machine in reversed(machines(state)):
        machine.stop(timeout)
    netplumb.unpin(state.config.netns_path(SWITCH))
    if state.uplink:
        netplumb.remove_uplink(state.config.name, state.host_forwarding)
        state.uplink = False
        state.save()


def down(data_dir: str, timeout: float = 10.0) -> list[str]:
    """Remove everything the lab made: machines, namespaces, links, rules, cgroups, files."""
    state = LabState.load(data_dir)
    done = []
    for machine in reversed(machines(state)):
        was = machine.running()
        machine.stop(timeout)
        if was:
            done.append(f"machine {machine.hostname}")
    switch = state.config.netns_path(SWITCH)
    if netplumb.is_pinned(switch):
        netplumb.unpin(switch)
        done.append(f"switch {switch}")
    if state.uplink:
        netplumb.remove_uplink(state.config.name, state.host_forwarding)
        done.append(f"uplink {netplumb.uplink_name(state.config.name)}")
    for machine in state.config.machines():
        netplumb.unpin(state.config.netns_path(machine))
    if state.config.netns_dir != DEFAULT_NETNS_DIR:
        with contextlib.suppress(OSError):   # a directory of its own, if empty now
            os.rmdir(state.config.netns_dir)
    shutil.rmtree(state.data, ignore_errors=True)
    done.append(f"data dir {state.data}")
    return done
