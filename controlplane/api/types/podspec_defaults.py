"""Defaulting of pod specs beyond the schema's constants, as Kubernetes does it.

The schema already fills the constants (restartPolicy Always, dnsPolicy
ClusterFirst, terminationGracePeriodSeconds 30, schedulerName, securityContext {},
probe timings, protocol TCP, termination message path/policy, file modes...).
What needs a look at other fields lives here:

- `imagePullPolicy`: Always for `:latest` or no tag, IfNotPresent otherwise
  (`default_pod_spec`, for pods and every pod template);
- a volume naming no source becomes an emptyDir;
- for Pods only (not templates, as in Kubernetes' SetDefaults_Pod): requests
  default to limits, `enableServiceLinks` to true, and with hostNetwork every
  container port's hostPort to its containerPort (`default_pod`).
"""

from __future__ import annotations

import copy

from .volumes import VOLUME_SOURCES


def image_tag(image: str) -> str:
    """The tag of an image reference: "" for a digest-only reference, "latest" if none.

    `registry:5000/app` has no tag (the colon belongs to the host), `app@sha256:...`
    is pinned by digest (no tag), `app:1.2@sha256:...` has tag `1.2`.
    """
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return "" if digest else "latest"


def pull_policy_for(image: str) -> str:
    return "Always" if image_tag(image or "") == "latest" else "IfNotPresent"


def _all_containers(spec: dict):
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def default_pod_spec(spec: dict | None) -> None:
    """Conditional defaults of any PodSpec (pods and templates), in place."""
    if not isinstance(spec, dict):
        return
    for container in _all_containers(spec):
        if isinstance(container, dict) and not container.get("imagePullPolicy"):
            container["imagePullPolicy"] = pull_policy_for(container.get("image") or "")
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict) and not any(volume.get(k) is not None for k in VOLUME_SOURCES):
            volume["emptyDir"] = {}
        image = volume.get("image") if isinstance(volume, dict) else None
        if isinstance(image, dict) and not image.get("pullPolicy"):
            image["pullPolicy"] = pull_policy_for(image.get("reference") or "")


def default_template(template: dict | None) -> None:
    if isinstance(template, dict):
        default_pod_spec(template.get("spec"))


def default_pod(pod: dict) -> None:
    """Defaults Kubernetes applies to Pods only (SetDefaults_Pod), in place."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    default_pod_spec(spec)
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            resources = container.get("resources") if isinstance(container, dict) else None
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = resources.setdefault("requests", {})
                for name, value in resources["limits"].items():
                    requests.setdefault(name, copy.deepcopy(value))
    spec.setdefault("enableServiceLinks", True)
    if spec.get("hostNetwork"):
        for key in ("containers", "initContainers"):
            for container in spec.get(key) or []:
                for port in container.get("ports") or []:
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
