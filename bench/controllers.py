"""Controllers at work: how long a Deployment takes to roll out, update and go away,
through a real `supernetes server` running its embedded scheduler and controllers.

    .venv/bin/python bench/controllers.py [--replicas 300] [--nodes 20] [--dead-node]

A fresh server (HTTPS, SQLite, default settings: the scheduler and the controllers run
in its process, behind their Leases) gets N hollow nodes, and this process plays their
kubelet (tests/controlplane/controllers/hollow.py: pods bound to a hollow node turn
Running and Ready). Measured, each from the API call to the state observed:

- rollout:  create a Deployment of R replicas -> R available
- update:   change its image (RollingUpdate 25%/25%) -> R updated and available
- delete:   delete it (background propagation) -> no pod left
- peer:     R bare pods created by this process (16 parallel connections), bound by the
            same scheduler and made ready by the same hollow kubelet -> R ready. The
            ratio rollout/peer is what the Deployment and ReplicaSet controllers add
            on top of creating the pods by hand.
- --dead-node: a node stops heartbeating -> its pods ready elsewhere, with the default
            20 s grace period and 25 s toleration (the promise: under 60 s).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "tests/controlplane/controllers")]

from apiserverkit import ApiServer  # noqa: E402
from hollow import HollowKubelet, wait_for  # noqa: E402

from supernetes.controlplane.client import Client  # noqa: E402


def deployment(name: str, replicas: int, image: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "w", "image": image}]}}}}


def ready_pods(client, ns, selector) -> list[dict]:
    pods = client.list("v1", "Pod", ns, label_selector=selector)["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (p.get("status") or {}).get("conditions") or ())]


def rolled_out(client, ns, name, replicas, image) -> bool:
    d = client.get("apps/v1", "Deployment", name, ns)
    st = d.get("status") or {}
    return (d["spec"]["template"]["spec"]["containers"][0]["image"] == image and
            st.get("observedGeneration", 0) >= d["metadata"]["generation"] and
            st.get("updatedReplicas") == replicas and st.get("replicas") == replicas and
            st.get("availableReplicas") == replicas)


def timed(label: str, action, done, timeout: float) -> float:
    started = time.monotonic()
    action()
    wait_for(done, timeout=timeout, interval=0.1, what=label)
    elapsed = time.monotonic() - started
    print(f"  {label:<42} {elapsed:7.2f} s")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=300)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--dead-node", action="store_true")
    args = parser.parse_args()
    with TemporaryDirectory(prefix="bench-controllers-") as tmp:
        server = ApiServer(Path(tmp) / "data", extra_args=["--log-level", "warning"],
                           components=True)
        server.start()
        client = Client.from_kubeconfig(str(server.kubeconfig), pool_size=64)
        kubelet = HollowKubelet(client, interval=2.0).start()
        try:
            for i in range(args.nodes):
                kubelet.add_node(f"bench-{i}", pods="250")
            ns = f"bench-{uuid.uuid4().hex[:6]}"
            client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            r = args.replicas
            print(f"{r} replicas on {args.nodes} hollow nodes, `supernetes server` with its "
                  f"embedded scheduler and controllers")
            rollout = timed(f"rollout: Deployment -> {r} available",
                            lambda: client.create(deployment("web", r, "nginx:1"), ns),
                            lambda: rolled_out(client, ns, "web", r, "nginx:1"), 600)
            timed(f"update: new image -> {r} updated, available",
                  lambda: client.patch("apps/v1", "Deployment", "web", {"spec": {"template": {
                      "spec": {"containers": [{"name": "w", "image": "nginx:2"}]}}}}, ns),
                  lambda: rolled_out(client, ns, "web", r, "nginx:2"), 600)
            timed("delete: Deployment -> no pod left",
                  lambda: client.delete("apps/v1", "Deployment", "web", ns),
                  lambda: not client.list("v1", "Pod", ns, label_selector="app=web")["items"],
                  600)

            def create_bare():
                def one(i):
                    client.create({"apiVersion": "v1", "kind": "Pod",
                                   "metadata": {"name": f"bare-{i}", "labels": {"app": "bare"}},
                                   "spec": {"containers": [{"name": "w", "image": "nginx:1"}]}},
                                  ns)
                with ThreadPoolExecutor(16) as pool:
                    list(pool.map(one, range(r)))
            peer = timed(f"peer: {r} bare pods by hand -> ready", create_bare,
                         lambda: len(ready_pods(client, ns, "app=bare")) == r, 600)
            print(f"  rollout / peer                             {rollout / peer:7.2f}")
            if args.dead_node:
                client.create(deployment("spread", args.nodes * 2, "nginx:1"), ns)
                wait_for(lambda: rolled_out(client, ns, "spread", args.nodes * 2, "nginx:1"),
                         timeout=300, what="the spread Deployment")
                victim = ready_pods(client, ns, "app=spread")[0]["spec"]["nodeName"]
                timed(f"dead node: {victim} silent -> pods ready elsewhere",
                      lambda: kubelet.kill(victim),
                      lambda: len([p for p in ready_pods(client, ns, "app=spread")
                                   if p["spec"]["nodeName"] != victim]) == args.nodes * 2,
                      180)
        finally:
            kubelet.stop(delete_nodes=False)
            client.close()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
