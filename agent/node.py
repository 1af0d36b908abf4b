"""The Superlet: one object that composes the agent, and `run(config)` that starts it.

    run(config)
      NodeAgent.start()
        1. the runtime (superc's spawner is started here, while the process is
           still single-threaded: DESIGN.md's hard rule)
        2. the node credential (join.py), the image service
        3. the Node in the API and its pod CIDR (nodestatus.py), the node's bridge,
           routes and rules (network/)
        4. adoption: one relist of the runtime (pleg.py) finds every container a
           previous agent left running; IPAM forgets addresses of pods that are gone
        5. informers: the pods bound here (field selector spec.nodeName=<me>) and the
           services (for service-link variables)
        6. pod workers: a work queue keyed by pod UID and a few threads calling
           `PodSyncer.sync` (sync.py); the PLEG, the probe manager and the
           terminator all wake pods by putting their UID in that queue
        7. the node status and Lease loop, housekeeping (orphans, image GC), the
           HTTPS API (`server.py`), the service proxy and the network policy
           enforcer (`proxy/`, `netpol/`), each when this installation has it,
           and the Ingress proxy on the node's port 80 (`ingress/`)

The methods below the lifecycle are the small services the sync, the starter
and the teardown use (so those modules stay free of wiring); the HTTPS API
(`server.py`) reads `client`, `node_ip`, `runtime`, `metrics` and `pods()`.
"""

from __future__ import annotations

import copy
import gc
import ipaddress
import json
import logging
import os
import random
import signal
import socket
import threading
import time
from urllib.parse import urlparse

from supernetes.controlplane.client import Informer, NotFound, WorkQueue
from supernetes.rootfs.errors import RootfsError
from supernetes.rootfs.images import ImageService

from . import cgroups, join, localstate, metrics, nodeinfo
from .config import AgentConfig
from .containers import ContainerIndex
from .envvars import service_links
from .events import EventRecorder
from .images import ImageManager
from .network import crossnode
from .network.ipam import HostLocalIPAM
from .network.node import NodeNetwork, NodeNetworkConfig
from .network.pod import PodNetworker
from .nodestatus import NodeStatusReporter
from .pleg import Pleg
from .probes import ProbeManager
from .runtimes import open_runtime
from .runtimes.base import ContainerRuntimeError
from .sandbox import Sandbox, Sandboxes, _is_ns_mount
from .starter import ContainerStarter
from .sync import PodSyncer
from .terminate import Terminator
from .volumes import VolumeManager

# Jitter from a generator of our own: the global one is the caller's (tests seed it).
_random = random.Random()

log = logging.getLogger(__name__)

HOUSEKEEPING_PERIOD = 2.0
MEMORY_TRIM_PERIOD = 60.0  # when idle; bursts leave freed pages glibc would keep
SHM_SIZE = 64 * 2**20


class NodeAgent:
    def __init__(self, config: AgentConfig):
        self.config = config
        self.node_name = config.node_name
        self.runtime = None
        self.index = ContainerIndex()
        self.metrics = metrics.Registry()
        self.server_port = config.server_port
        self._server = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ips: dict[str, str] = {}                 # uid -> pod IP (wired pods)
        self._volume_paths: dict[str, dict] = {}
        self._remembered: dict[str, str] = {}          # uid -> resourceVersion in pod.json
        self._trimmed = 0.0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        config = self.config
        for directory in (config.root_dir, config.run_dir, config.pods_dir, config.logs_dir):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        self.runtime = open_runtime(config.runtime, root=config.runtime_root,
                                    socket_path=config.spawner_socket)
        cgroups.ensure_parent(config.cgroup_parent)
        try:
            self._start_rest()
        except BaseException:
            self.stop()
            raise

    def _start_rest(self) -> None:
        config = self.config
        path = join.credentials(config.server_url, config.token, config.node_name,
                                config.kubeconfig_path, config.ca_file)
        self.client = join.client_for(path)
        self.pods_api = self.client.resource("v1", "Pod")
        self.node_ip = config.node_ip or _route_source(self.client.server)
        cap = nodeinfo.capacity(config.root_dir, config.max_pods)
        self.node_memory = int(cap["memory"].removesuffix("Ki")) * 1024
        self.allocatable = nodeinfo.allocatable(cap)
        self.oom_score_floor = nodeinfo.oom_score_floor()
        if self.oom_score_floor > -1000:
            log.warning("no CAP_SYS_RESOURCE: container OOM scores stay at or above %d",
                        self.oom_score_floor)
        self.images = ImageManager(ImageService(config.images_dir,
                                                insecure_registries=config.insecure_registries,
                                                progress=False), config.image_backoff)
        self.recorder = EventRecorder(self.client, config.node_name)
        self._start_server()
        self.status = NodeStatusReporter(self)
        self.pod_cidr = self.status.register()
        localstate.write_node_file(config, podCIDR=self.pod_cidr, nodeIP=self.node_ip,
                                   cgroupParent=config.cgroup_parent)
        self.node_network = NodeNetwork(NodeNetworkConfig(
            pod_cidr=self.pod_cidr, cluster_cidr=config.cluster_cidr,
            service_cidr=config.service_cidr, bridge=config.bridge,
            masquerade=config.masquerade,
            mtu=crossnode.pod_mtu(config.network_backend, self.node_ip)))
        self.node_network.ensure()
        self._start_routes()
        self._start_service_rules()
        self.ipam = HostLocalIPAM(config.ipam_dir, self.pod_cidr)
        self.networker = PodNetworker(self.node_network, self.ipam)
        self.sandboxes = Sandboxes(config.run_dir)
        self.volumes = VolumeManager(config.pods_dir, self.get_configmap, self.get_secret)
        self.queue = WorkQueue("pods")
        self.probes = ProbeManager(self.queue.add, self._probe_exec)
        self.terminator = Terminator(self.runtime, self.queue.add)
        self.starter = ContainerStarter(self)
        self.syncer = PodSyncer(self)
        self.pleg = Pleg(self.runtime, self.index, self.queue.add, config.relist_period,
                         self.metrics.pleg_relist.observe)
        self.pleg.relist()  # adoption: everything a previous agent left running

        self.pod_informer = Informer(self.client, "v1", "Pod",
                             field_selector=f"spec.nodeName={config.node_name}")
        self.pod_informer.add_index("uid", lambda pod: [pod["metadata"]["uid"]])
        self.pod_informer.add_handler(on_add=self._pod_added, on_update=self._pod_updated,
                              on_delete=self._pod_added)
        if self.proxy is not None:  # one Service watch for the proxy and the links
            self.services = self.proxy.factory.informer("v1", "Service")
        else:
            self.services = Informer(self.client, "v1", "Service")
        self.pod_informer.start()
        self.services.start()
        if not (self.pod_informer.wait_for_sync(60) and self.services.wait_for_sync(60)):
            raise RuntimeError("the pod and service informers did not sync within 60 s")
        live = {p["metadata"]["uid"] for p in self.pod_informer.cache.list()}
        live |= self.index.pod_uids()
        for address in self.ipam.reconcile(live):
            log.info("released %s: its pod is gone", address)
        for uid in self._local_uids():
            self.queue.add(uid)

        for index in range(config.workers):
            self._spawn(self._worker, f"pod-worker-{index}")
        self.pleg.start()
        self.status.start()
        self._spawn(self._housekeeping, "housekeeping")
        self._start_ingress()
        log.info("superlet %s running: runtime %s, pod CIDR %s, node IP %s",
                 config.node_name, self.runtime.name, self.pod_cidr, self.node_ip)

    def _start_routes(self) -> None:
        """Every other node's pod CIDR routed to it (network/crossnode.py)."""
        self.routes = None
        if self.config.network_backend == "none":
            return
        backend = crossnode.make_backend(self.config.network_backend, pod_cidr=self.pod_cidr,
                                         node_ip=self.node_ip)
        self.routes = crossnode.CrossNodeRouter(self.client, backend, self.config.node_name)
        self.routes.start()

    def _start_service_rules(self) -> None:
        """kube-proxy's and the policy enforcer's jobs, when this installation has them."""
        self.proxy = self.policies = None
        try:
            from .netpol import PolicyConfig, PolicyEnforcer
            from .proxy import ProxyConfig, ServiceProxy
        except ImportError:
            return
        config = self.config
        self.proxy = ServiceProxy(self.client, ProxyConfig(
            node_name=config.node_name, cluster_cidr=config.cluster_cidr,
            service_cidr=config.service_cidr, bridge=config.bridge))
        self.proxy.start()
        self.policies = PolicyEnforcer(self.client, PolicyConfig(node_name=config.node_name))
        self.policies.start()

    def _start_ingress(self) -> None:
        """The Ingress proxy on the node's port; one that cannot listen is said, not fatal
        (the node still runs pods)."""
        self.ingress = None
        if self.config.ingress_port <= 0:
            return
        from .ingress import IngressBindError, IngressConfig, IngressController

        controller = IngressController(self.client, IngressConfig(
            bind=self.config.ingress_bind, port=self.config.ingress_port,
            node_name=self.config.node_name))
        try:
            self.ingress = controller.start()
        except IngressBindError as exc:
            log.warning("no Ingress on this node: %s", exc)

    def cluster_dns(self) -> list[str]:
        """The nameservers of ClusterFirst pods: --cluster-dns, else the ClusterIP of the
        kube-dns Service (none: pods use the node's resolver, podfiles.py)."""
        if self.config.cluster_dns:
            return list(self.config.cluster_dns)
        svc = self.services.cache.get("kube-system/kube-dns")
        ip = ((svc or {}).get("spec") or {}).get("clusterIP")
        return [ip] if ip and ip != "None" else []

    def _start_server(self) -> None:
        try:
            from .server import start_server  # the agent's HTTPS API (another branch)
        except ImportError:
            return
        self._server = start_server(self, self.config)
        self.server_port = getattr(self._server, "port", self.config.server_port)

    def stop(self) -> None:
        """Stop the agent; the containers keep running (a new agent adopts them)."""
        self._stop.set()
        for name in ("pod_informer", "services"):
            informer = getattr(self, name, None)
            if informer is not None:
                informer.stop()
        if getattr(self, "queue", None) is not None:
            self.queue.shutdown()
        for thread in self._threads:
            thread.join(timeout=10)
        for part in ("ingress", "pleg", "status", "probes", "recorder", "proxy", "policies",
                     "routes"):
            component = getattr(self, part, None)
            if component is not None:
                component.stop()
        if getattr(self, "terminator", None) is not None:
            self.terminator.close()
        if self._server is not None:
            self._server.stop()
        if getattr(self, "networker", None) is not None:
            self.networker.close()
        if self.runtime is not None:
            self.runtime.close()
        if getattr(self, "client", None) is not None:
            self.client.close()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- the loops ---------------------------------------------------------------------

    def _worker(self) -> None:
        while self.queue.process_next(self._sync):
            pass

    def _sync(self, uid: str) -> None:
        started = time.monotonic()
        try:
            due = self.syncer.sync(uid)
        finally:
            self.metrics.pod_sync.observe(time.monotonic() - started)
        if self.pod_by_uid(uid) is None and not self.has_local_state(uid):
            return
        # Up to 10 % of jitter, so pods created together do not all resync together.
        delay = self.config.sync_frequency * _random.uniform(1.0, 1.1)
        if due is not None:
            delay = min(max(due - time.time(), 0.0), delay)
        self.queue.add_after(uid, delay)

    def _housekeeping(self) -> None:
        last_gc = time.monotonic()
        self._trim_memory()  # the start-up's garbage (imports, the first lists)
        while not self._stop.wait(HOUSEKEEPING_PERIOD):
            known = {p["metadata"]["uid"] for p in self.pod_informer.cache.list()}
            for uid in self._local_uids() - known:
                self.queue.add(uid)  # an orphan: its worker removes it
            if time.monotonic() - last_gc >= self.config.image_gc_period:
                last_gc = time.monotonic()
                self.collect_images()
            if len(self.queue) == 0 and time.monotonic() - self._trimmed > MEMORY_TRIM_PERIOD:
                self._trim_memory()

    def _trim_memory(self) -> None:
        """Collect cycles, then hand the heap's free pages back to the kernel."""
        from supernetes.runtime import linux

        gc.collect()
        linux.malloc_trim()
        self._trimmed = time.monotonic()

    def collect_images(self) -> list[str]:
        in_use = {c.get("image", "") for p in self.pod_informer.cache.list()
                  for c in (p["spec"].get("containers") or []) +
                  (p["spec"].get("initContainers") or [])}
        for info in self.index.all_infos():
            in_use.add(info.annotations.get("io.supernetes.container.image-id", ""))
        try:
            return self.images.collect_garbage(in_use, self.config.image_gc_high,
                                               self.config.image_gc_low)
        except (RootfsError, OSError) as exc:
            log.warning("image garbage collection failed: %s", exc)
            return []

    def _local_uids(self) -> set[str]:
        uids = set(self.index.pod_uids()) | set(self.sandboxes.list())
        try:
            uids |= set(os.listdir(self.config.pods_dir))
        except FileNotFoundError:
            pass
        uids |= {p["metadata"]["uid"] for p in self.pod_informer.cache.list()}
        return uids

    def _pod_added(self, pod: dict) -> None:
        self.queue.add(pod["metadata"]["uid"])

    def _pod_updated(self, old: dict, new: dict) -> None:
        # The status is ours: a change of nothing but the status needs no sync.
        if old.get("spec") == new.get("spec") and _meta(old) == _meta(new):
            return
        self.queue.add(new["metadata"]["uid"])

    def ready(self) -> tuple[bool, str]:
        if not self.pleg.healthy():
            return False, "PLEG is not healthy: the runtime has not been relisted lately"
        return True, "superlet is posting ready status"

    # --- services for the sync ---------------------------------------------------------

    def pod_by_uid(self, uid: str) -> dict | None:
        found = self.pod_informer.cache.by_index("uid", uid)
        return found[0] if found else None

    def pod_dir(self, uid: str) -> str:
        return os.path.join(self.config.pods_dir, uid)

    def remember_pod(self, pod: dict) -> None:
        """Keep the pod's last spec on disk, for cleaning it up after the API forgot it."""
        uid = pod["metadata"]["uid"]
        version = pod["metadata"].get("resourceVersion", "")
        if self._remembered.get(uid) == version:
            return
        directory = self.pod_dir(uid)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = os.path.join(directory, "pod.json.tmp")
        with open(tmp, "w") as f:
            json.dump({"metadata": pod["metadata"], "spec": pod["spec"]}, f)
        os.replace(tmp, os.path.join(directory, "pod.json"))
        self._remembered[uid] = version

    def local_pod(self, uid: str) -> dict | None:
        try:
            with open(os.path.join(self.pod_dir(uid), "pod.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def has_local_state(self, uid: str) -> bool:
        return bool(self.index.infos(uid)) or os.path.exists(self.sandboxes.path(uid)) or \
            os.path.exists(self.pod_dir(uid))

    def forget_pod(self, uid: str) -> None:
        with self._lock:
            self._ips.pop(uid, None)
            self._volume_paths.pop(uid, None)
            self._remembered.pop(uid, None)

    def sandbox_state(self, uid: str) -> tuple[bool, float | None]:
        ns_dir = os.path.join(self.sandboxes.path(uid), "ns")
        try:
            created = os.stat(ns_dir).st_mtime
        except FileNotFoundError:
            return False, None
        pod = self.pod_by_uid(uid) or self.local_pod(uid) or {}
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        kinds = ("ipc", "uts") if host_network else ("net", "ipc", "uts")
        ready = all(_is_ns_mount(os.path.join(ns_dir, k)) for k in kinds)
        if ready and not host_network:
            ready = uid in self._ips or self.networker.lookup(uid) is not None
        return ready, created

    def ensure_sandbox(self, pod: dict) -> tuple[Sandbox, str]:
        """The pod's namespaces and network (made if missing); (sandbox, pod IP)."""
        uid = pod["metadata"]["uid"]
        spec = pod.get("spec") or {}
        host_network = bool(spec.get("hostNetwork"))
        hostname = spec.get("hostname") or pod["metadata"]["name"]
        sandbox = self.sandboxes.ensure(uid, hostname[:63], host_network)
        if host_network:
            return sandbox, self.node_ip
        with self._lock:
            ip = self._ips.get(uid)
        if ip is None:
            ip = self.networker.attach(uid, sandbox.ns_path("net")).ip
            with self._lock:
                self._ips[uid] = ip
        return sandbox, ip

    def pod_ip(self, uid: str) -> str | None:
        with self._lock:
            ip = self._ips.get(uid)
        if ip is None:
            pod = self.pod_by_uid(uid) or self.local_pod(uid) or {}
            if (pod.get("spec") or {}).get("hostNetwork"):
                return self.node_ip
            network = self.networker.lookup(uid)
            ip = network.ip if network else None
        return ip

    def netns_of(self, uid: str) -> str | None:
        path = os.path.join(self.sandboxes.path(uid), "ns", "net")
        return path if os.path.exists(path) else None

    def remove_network(self, uid: str) -> None:
        self.networker.detach(uid)
        with self._lock:
            self._ips.pop(uid, None)

    def ensure_shm(self, uid: str) -> str:
        """The pod's /dev/shm: one tmpfs every container of the pod shares."""
        from supernetes.runtime import linux

        path = os.path.join(self.sandboxes.path(uid), "shm")
        os.makedirs(path, exist_ok=True)
        if not os.path.ismount(path):
            linux.mount("shm", path, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV |
                        linux.MS_NOEXEC, f"mode=1777,size={SHM_SIZE}")
        return path

    def remove_shm(self, uid: str) -> None:
        from supernetes.runtime import linux

        path = os.path.join(self.sandboxes.path(uid), "shm")
        while os.path.ismount(path):
            linux.umount2(path, linux.MNT_DETACH)

    def volume_paths(self, uid: str) -> dict | None:
        with self._lock:
            return self._volume_paths.get(uid)

    def set_volume_paths(self, uid: str, paths: dict) -> None:
        with self._lock:
            self._volume_paths[uid] = paths

    def release_rootfs(self, container_id: str) -> None:
        try:
            self.images.service.release_rootfs(container_id)
        except (RootfsError, OSError) as exc:
            log.warning("releasing the rootfs of %s: %s", container_id, exc)

    def pleg_refresh(self, container_id: str) -> None:
        try:
            self.index.put(self.runtime.info(container_id))
        except ContainerRuntimeError:
            pass

    def record(self, pod: dict, kind: str, reason: str, message: str,
               container: str | None = None, init: bool = False) -> None:
        field = None
        if container:
            field = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
        self.recorder.record({"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"]},
                             kind, reason, message, field)

    def get_configmap(self, namespace: str, name: str) -> dict | None:
        return self._get("ConfigMap", namespace, name)

    def get_secret(self, namespace: str, name: str) -> dict | None:
        return self._get("Secret", namespace, name)

    def _get(self, kind: str, namespace: str, name: str) -> dict | None:
        try:
            return self.client.get("v1", kind, name, namespace)
        except NotFound:
            return None

    def service_env(self, pod: dict) -> dict[str, str]:
        namespace = pod["metadata"].get("namespace", "default")
        services = [s for s in self.services.cache.list()
                    if s["metadata"].get("namespace") == namespace]
        env = service_links(services)
        kubernetes = self.services.cache.get("default/kubernetes")
        if kubernetes is not None:
            for key, value in service_links([kubernetes]).items():
                env.setdefault(key, value)
        return env

    def _probe_exec(self, container_id: str, command: list[str], timeout: float) -> int:
        try:
            return self.runtime.exec(container_id, command, timeout=timeout)
        except ContainerRuntimeError as exc:
            raise OSError(str(exc)) from exc

    # --- the seam for the HTTPS API (server.py: client, node_ip, runtime, metrics) --------

    def pods(self) -> list[dict]:
        return [copy.deepcopy(p) for p in self.pod_informer.cache.list()]


def _meta(pod: dict) -> dict:
    meta = dict(pod.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    return meta


def _route_source(server_url: str) -> str:
    """The local address the kernel would use to reach the API server."""
    host = urlparse(server_url).hostname or "127.0.0.1"
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        address = socket.gethostbyname(host)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((address, 443))  # UDP connect sends nothing; it picks a route
        return probe.getsockname()[0]


def run(config: AgentConfig, stop: threading.Event | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (or `stop` is set); the containers stay."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    agent = NodeAgent(config)
    agent.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        agent.stop()
    return 0

