"""`supernetes demo`: show a cluster made by `supernetes up` doing its job.

It applies a Deployment of three busybox `httpd` replicas, each serving a page
that names the pod, waits until all three are Running, prints them as
`superctl get pods -o wide` shows them, and fetches the page from every pod IP,
the way a Service or another pod would reach them. The cluster's network
namespace (if `up` used one) is entered first, so the pod IPs are reachable.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

from .up import DEFAULT_DATA_DIR, STATE_FILE, UpError, _bin, _enter_netns

NAME = "hello"
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": NAME, "namespace": "default", "labels": {"app": NAME}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": NAME}},
        "template": {
            "metadata": {"labels": {"app": NAME}},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{
                    "name": "httpd", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", 'mkdir -p /www && echo "hello from $(hostname)" '
                                "> /www/index.html && exec httpd -f -p 8080 -h /www"],
                    "ports": [{"containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                       "periodSeconds": 2},
                }],
            },
        },
    },
}


def demo(data_dir: str = DEFAULT_DATA_DIR, timeout: float = 120.0, out=print) -> list[str]:
    """Run the demo against the cluster in `data_dir`; returns the pages fetched."""
    from supernetes.controlplane.client import AlreadyExists, Client

    data = Path(data_dir).absolute()
    try:
        state = json.loads((data / STATE_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise UpError(f"no cluster in {data}: run `supernetes up` first") from exc
    if state.get("netns"):
        _enter_netns(state["netns"])
    kubeconfig = str(data / "admin.kubeconfig")
    with Client.from_kubeconfig(kubeconfig) as client:
        try:
            client.create(DEPLOYMENT)
            out(f"deployment.apps/{NAME} created")
        except AlreadyExists:
            out(f"deployment.apps/{NAME} exists")
        pods = _wait_running(client, timeout)
    listing = subprocess.run([_bin("superctl"), "--kubeconfig", kubeconfig, "get", "pods",
                              "-o", "wide", "-l", f"app={NAME}"],
                             capture_output=True, text=True)
    out(listing.stdout.rstrip() or listing.stderr.rstrip())
    pages = []
    for pod in pods:
        ip = pod["status"]["podIP"]
        with urllib.request.urlopen(f"http://{ip}:8080/", timeout=5) as answer:
            page = answer.read().decode().strip()
        out(f"http://{ip}:8080/  ->  {page}")
        pages.append(page)
    return pages


def _wait_running(client, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        pods = client.list("v1", "Pod", "default", label_selector=f"app={NAME}")["items"]
        ready = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
                 and p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")
                 and all(c.get("ready") for c in p["status"].get("containerStatuses") or [])]
        if len(ready) >= 3:
            return sorted(ready, key=lambda p: p["metadata"]["name"])[:3]
        if time.monotonic() > deadline:
            phases = ", ".join(f"{p['metadata']['name']}: "
                               f"{(p.get('status') or {}).get('phase', '?')}" for p in pods)
            raise UpError(f"the demo's pods were not all Running within {timeout:.0f} s "
                          f"({phases or 'no pods: are the controllers running?'})")
        time.sleep(0.5)
