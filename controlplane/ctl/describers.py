"""Per-kind layouts for `describe`, as lines of tab-separated cells (see `tabwriter`).

Pod, Deployment, ReplicaSet and Node follow kubectl's describers field for field
where we have the data; everything else goes through `generic`, kubectl's
describer for unstructured objects.
"""

from __future__ import annotations

import base64
import re

from supernetes.controlplane.api import meta as api_meta
from supernetes.controlplane.client import ClientError

NONE = "<none>"


# Kinds whose kubectl describer shows no events.
NO_EVENTS = {"Namespace", "Secret"}


def describe(ctx, info, obj: dict) -> list[str]:
    describer = {"Pod": pod, "Deployment": deployment, "ReplicaSet": replicaset,
                 "Node": node, "Namespace": namespace, "ConfigMap": configmap,
                 "Secret": secret, "Service": service}.get(obj.get("kind", "")) \
        if info.group in ("", "apps") else None
    return describer(ctx, obj) if describer else generic(obj)


# -- shared pieces -------------------------------------------------------------------


def when(timestamp: str | None) -> str:
    """kubectl's time format in describe: `Mon, 02 Jan 2006 15:04:05 -0700`."""
    moment = api_meta.parse_time(timestamp)
    return moment.strftime("%a, %d %b %Y %H:%M:%S %z") if moment else NONE


SKIPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def mapping(title: str, values: dict | None, indent: str = "") -> list[str]:
    values = {k: v for k, v in (values or {}).items() if k not in SKIPPED_ANNOTATIONS}
    if not values:
        return [f"{indent}{title}:\t{NONE}"]
    items = sorted(values.items())
    lines = [f"{indent}{title}:\t{items[0][0]}={items[0][1]}"]
    lines += [f"{indent}\t{k}={v}" for k, v in items[1:]]
    return lines


def header(obj: dict, with_namespace: bool = True) -> list[str]:
    m = obj.get("metadata") or {}
    lines = [f"Name:\t{m.get('name', '')}"]
    if with_namespace and m.get("namespace"):
        lines.append(f"Namespace:\t{m['namespace']}")
    return lines


def controller(obj: dict) -> str | None:
    owner = api_meta.controller_of(obj)
    return f"{owner['kind']}/{owner['name']}" if owner else None


def selector_text(selector: dict | None) -> str:
    if not selector:
        return NONE
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator", "")
        values = ",".join(expr.get("values") or [])
        parts.append({"In": f"{expr['key']} in ({values})", "NotIn": f"{expr['key']} notin "
                      f"({values})", "Exists": expr["key"], "DoesNotExist": f"!{expr['key']}"}
                     .get(op, expr["key"]))
    return ",".join(parts)


def containers(specs: list[dict], statuses: list[dict] | None, title: str,
               in_template: bool = False) -> list[str]:
    """Container sections; a pod template's are indented as kubectl's (`   name:`)."""
    if not specs:
        return []
    by_name = {s.get("name"): s for s in statuses or []}
    lines = [f"  {title}:" if in_template else f"{title}:"]
    for c in specs:
        lines.append(f"   {c.get('name')}:" if in_template else f"  {c.get('name')}:")
        status = by_name.get(c.get("name"))
        if status is not None:
            lines.append(f"    Container ID:\t{status.get('containerID', '')}")
        lines.append(f"    Image:\t{c.get('image', '')}")
        if status is not None:
            lines.append(f"    Image ID:\t{status.get('imageID', '')}")
        ports = c.get("ports") or []
        if ports:
            lines.append(f"    Port:\t{', '.join(_port(p) for p in ports)}")
            lines.append(f"    Host Port:\t{', '.join(_host_port(p) for p in ports)}")
        else:
            lines.append(f"    Port:\t{NONE}")
            lines.append(f"    Host Port:\t{NONE}")
        if c.get("command"):
            lines.append("    Command:")
            lines += [f"      {part}" for part in c["command"]]
        if c.get("args"):
            lines.append("    Args:")
            lines += [f"      {part}" for part in c["args"]]
        if status is not None:
            lines += _state("State", status.get("state") or {})
            if status.get("lastState"):
                lines += _state("Last State", status["lastState"])
            lines.append(f"    Ready:\t{'True' if status.get('ready') else 'False'}")
            lines.append(f"    Restart Count:\t{status.get('restartCount', 0)}")
        resources = c.get("resources") or {}
        for section in ("limits", "requests"):
            if resources.get(section):
                lines.append(f"    {section.title()}:")
                lines += [f"      {k}:\t{v}" for k, v in sorted(resources[section].items())]
        env = c.get("env") or []
        if env:
            lines.append("    Environment:")
            for e in env:
                source = next(iter(e.get("valueFrom") or {}), "")
                value = e.get("value", "") if "value" in e else f"<set from {source}>"
                lines.append(f"      {e['name']}:\t{value}")
        else:
            lines.append(f"    Environment:\t{NONE}")
        mounts = c.get("volumeMounts") or []
        if mounts:
            lines.append("    Mounts:")
            lines += [f"      {m['mountPath']} from {m['name']} "
                      f"({'ro' if m.get('readOnly') else 'rw'})" for m in mounts]
        else:
            lines.append(f"    Mounts:\t{NONE}")
    return lines


def _port(p: dict) -> str:
    return f"{p.get('containerPort', 0)}/{p.get('protocol', 'TCP')}"


def _host_port(p: dict) -> str:
    return f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}"


def _state(title: str, state: dict) -> list[str]:
    if "running" in state:
        started = when(state["running"].get("startedAt"))
        return [f"    {title}:\tRunning", f"      Started:\t{started}"]
    if "waiting" in state:
        lines = [f"    {title}:\tWaiting"]
        if state["waiting"].get("reason"):
            lines.append(f"      Reason:\t{state['waiting']['reason']}")
        return lines
    if "terminated" in state:
        t = state["terminated"]
        lines = [f"    {title}:\tTerminated"]
        if t.get("reason"):
            lines.append(f"      Reason:\t{t['reason']}")
        lines.append(f"      Exit Code:\t{t.get('exitCode', 0)}")
        lines.append(f"      Started:\t{when(t.get('startedAt'))}")
        lines.append(f"      Finished:\t{when(t.get('finishedAt'))}")
        return lines
    return [f"    {title}:\tWaiting"]


def conditions(status: dict, wide: bool = False) -> list[str]:
    conds = status.get("conditions") or []
    if not conds:
        return []
    if wide:
        lines = ["Conditions:", "  Type\tStatus\tReason", "  ----\t------\t------"]
        lines += [f"  {c.get('type')}\t{c.get('status')}\t{c.get('reason', '')}" for c in conds]
        return lines
    lines = ["Conditions:", "  Type\tStatus", "  ----\t------"]
    lines += [f"  {c.get('type')} \t{c.get('status')} " for c in conds]
    return lines


# -- kinds -----------------------------------------------------------------------------


def pod(ctx, obj: dict) -> list[str]:
    m, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    lines = header(obj)
    if spec.get("priority") is not None:
        lines.append(f"Priority:\t{spec['priority']}")
    if spec.get("serviceAccountName"):
        lines.append(f"Service Account:\t{spec['serviceAccountName']}")
    node_name = spec.get("nodeName")
    lines.append(f"Node:\t{node_name}/{status.get('hostIP', '')}" if node_name
                 else f"Node:\t{NONE}")
    if status.get("startTime"):
        lines.append(f"Start Time:\t{when(status['startTime'])}")
    lines += mapping("Labels", m.get("labels"))
    lines += mapping("Annotations", m.get("annotations"))
    phase = status.get("phase", "")
    if m.get("deletionTimestamp"):
        phase = f"Terminating (lasts {m.get('deletionGracePeriodSeconds', 0)}s)"
    lines.append(f"Status:\t{phase}")
    if status.get("reason"):
        lines.append(f"Reason:\t{status['reason']}")
    if status.get("message"):
        lines.append(f"Message:\t{status['message']}")
    lines.append(f"IP:\t{status.get('podIP', '')}")
    ips = status.get("podIPs") or []
    if ips:
        lines.append("IPs:")
        lines += [f"  IP:\t{ip.get('ip', '')}" for ip in ips]
    else:
        lines.append(f"IPs:\t{NONE}")
    owner = controller(obj)
    if owner:
        lines.append(f"Controlled By:\t{owner}")
    lines += containers(spec.get("initContainers") or [], status.get("initContainerStatuses"),
                        "Init Containers")
    lines += containers(spec.get("containers") or [], status.get("containerStatuses"),
                        "Containers")
    lines += conditions(status)
    volumes = spec.get("volumes") or []
    if volumes:
        lines.append("Volumes:")
        for vol in volumes:
            kind = next((k for k in vol if k != "name"), "")
            lines.append(f"  {vol['name']}:")
            lines.append(f"    Type:\t{_title(kind)}")
    else:
        lines.append(f"Volumes:\t{NONE}")
    lines.append(f"QoS Class:\t{status.get('qosClass', 'BestEffort')}")
    lines += mapping("Node-Selectors", spec.get("nodeSelector"))
    tolerations = [_toleration(t) for t in spec.get("tolerations") or []]
    lines.append(f"Tolerations:\t{tolerations[0] if tolerations else NONE}")
    lines += [f"\t{t}" for t in tolerations[1:]]
    return lines


def _toleration(t: dict) -> str:
    text = t.get("key", "")
    if t.get("operator") == "Exists":
        text += f":{t['effect']}" if t.get("effect") else ""
        text += " op=Exists"
    else:
        text += f"={t.get('value', '')}" + (f":{t['effect']}" if t.get("effect") else "")
    if t.get("tolerationSeconds") is not None:
        text += f" for {t['tolerationSeconds']}s"
    return text


def deployment(ctx, obj: dict) -> list[str]:
    m, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    lines = header(obj)
    lines.append(f"CreationTimestamp:\t{when(m.get('creationTimestamp'))}")
    lines += mapping("Labels", m.get("labels"))
    lines += mapping("Annotations", m.get("annotations"))
    lines.append(f"Selector:\t{selector_text(spec.get('selector'))}")
    lines.append(f"Replicas:\t{spec.get('replicas', 1)} desired | "
                 f"{status.get('updatedReplicas', 0)} updated | {status.get('replicas', 0)} "
                 f"total | {status.get('availableReplicas', 0)} available | "
                 f"{status.get('unavailableReplicas', 0)} unavailable")
    strategy = spec.get("strategy") or {}
    lines.append(f"StrategyType:\t{strategy.get('type', 'RollingUpdate')}")
    lines.append(f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}")
    rolling = strategy.get("rollingUpdate")
    if rolling:
        lines.append(f"RollingUpdateStrategy:\t{rolling.get('maxUnavailable', '25%')} max "
                     f"unavailable, {rolling.get('maxSurge', '25%')} max surge")
    lines += _template(spec.get("template") or {})
    lines += conditions(status, wide=True)
    lines += _replica_sets(ctx, obj)
    return lines


def _template(template: dict) -> list[str]:
    tm, ts = template.get("metadata") or {}, template.get("spec") or {}
    lines = ["Pod Template:"]
    lines += mapping("Labels", tm.get("labels"), indent="  ")
    if tm.get("annotations"):
        lines += mapping("Annotations", tm.get("annotations"), indent="  ")
    lines += containers(ts.get("containers") or [], None, "Containers", in_template=True)
    volumes = ts.get("volumes") or []
    lines.append(f"  Volumes:\t{', '.join(v['name'] for v in volumes) if volumes else NONE}")
    lines += mapping("Node-Selectors", ts.get("nodeSelector"), indent="  ")
    tolerations = [_toleration(t) for t in ts.get("tolerations") or []]
    lines.append(f"  Tolerations:\t{', '.join(tolerations) if tolerations else NONE}")
    return lines


def _replica_sets(ctx, deploy: dict) -> list[str]:
    try:
        items = ctx.client.resource("apps/v1", "ReplicaSet").list(
            deploy["metadata"].get("namespace")).get("items") or []
    except ClientError:     # describing must not fail because a list did
        return []
    owned = [rs for rs in items if api_meta.is_owned_by(rs, deploy)]
    template = (deploy.get("spec") or {}).get("template") or {}
    new = [rs for rs in owned if _same_template(rs, template)]
    old = [rs for rs in owned if rs not in new and (rs.get("spec") or {}).get("replicas")]
    if not new and not old:
        return []

    def text(sets):
        return ", ".join(f"{rs['metadata']['name']} ({(rs.get('status') or {}).get('replicas', 0)}"
                         f"/{(rs.get('spec') or {}).get('replicas', 0)} replicas created)"
                         for rs in sets) or NONE
    return [f"OldReplicaSets:\t{text(old)}", f"NewReplicaSet:\t{text(new)}"]


def _same_template(rs: dict, template: dict) -> bool:
    rs_template = dict((rs.get("spec") or {}).get("template") or {})
    meta = dict(rs_template.get("metadata") or {})
    labels = dict(meta.get("labels") or {})
    labels.pop("pod-template-hash", None)
    meta["labels"] = labels
    rs_template["metadata"] = meta
    want = dict(template)
    want_meta = dict(want.get("metadata") or {})
    want_meta["labels"] = dict(want_meta.get("labels") or {})
    want["metadata"] = want_meta
    return rs_template.get("spec") == want.get("spec") and \
        meta.get("labels") == want_meta.get("labels")


def replicaset(ctx, obj: dict) -> list[str]:
    m, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    lines = header(obj)
    lines.append(f"Selector:\t{selector_text(spec.get('selector'))}")
    lines += mapping("Labels", m.get("labels"))
    lines += mapping("Annotations", m.get("annotations"))
    owner = controller(obj)
    if owner:
        lines.append(f"Controlled By:\t{owner}")
    lines.append(f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} "
                 "desired")
    lines += _template(spec.get("template") or {})
    lines += conditions(status, wide=True)
    return lines


def node(ctx, obj: dict) -> list[str]:
    m, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    lines = header(obj, with_namespace=False)
    roles = sorted(k.rsplit("/", 1)[-1] for k in (m.get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    lines.append(f"Roles:\t{','.join(roles) if roles else NONE}")
    lines += mapping("Labels", m.get("labels"))
    lines += mapping("Annotations", m.get("annotations"))
    lines.append(f"CreationTimestamp:\t{when(m.get('creationTimestamp'))}")
    taints = [f"{t['key']}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect', '')}"
              for t in spec.get("taints") or []]
    lines.append(f"Taints:\t{taints[0] if taints else NONE}")
    lines += [f"\t{t}" for t in taints[1:]]
    lines.append(f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}")
    conds = status.get("conditions") or []
    if conds:
        lines.append("Conditions:")
        lines.append("  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage")
        lines.append("  ----\t------\t-----------------\t------------------\t------\t-------")
        lines += [f"  {c.get('type')}\t{c.get('status')}\t{when(c.get('lastHeartbeatTime'))}\t"
                  f"{when(c.get('lastTransitionTime'))}\t{c.get('reason', '')}\t"
                  f"{c.get('message', '')}" for c in conds]
    addresses = status.get("addresses") or []
    if addresses:
        lines.append("Addresses:")
        lines += [f"  {a.get('type')}:\t{a.get('address')}" for a in addresses]
    for title in ("capacity", "allocatable"):
        if status.get(title):
            lines.append(f"{title.title()}:")
            lines += [f"  {k}:\t{v}" for k, v in sorted(status[title].items())]
    info = status.get("nodeInfo") or {}
    if info:
        lines.append("System Info:")
        for key in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                    "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                    "operatingSystem", "architecture"):
            if key in info:
                lines.append(f"  {_title(key)}:\t{info[key]}")
    if spec.get("podCIDR"):
        lines.append(f"PodCIDR:\t{spec['podCIDR']}")
    return lines


def namespace(ctx, obj: dict) -> list[str]:
    m = obj.get("metadata") or {}
    lines = header(obj, with_namespace=False)
    lines += mapping("Labels", m.get("labels"))
    lines += mapping("Annotations", m.get("annotations"))
    lines.append(f"Status:\t{(obj.get('status') or {}).get('phase', '')}")
    return lines


def configmap(ctx, obj: dict) -> list[str]:
    m = obj.get("metadata") or {}
    lines = header(obj) + mapping("Labels", m.get("labels")) + \
        mapping("Annotations", m.get("annotations"))
    lines += ["", "Data", "===="]
    for key, value in sorted((obj.get("data") or {}).items()):
        lines += [f"{key}:", "----", *str(value).split("\n"), ""]
    lines += ["BinaryData", "===="]
    for key, value in sorted((obj.get("binaryData") or {}).items()):
        lines.append(f"{key}: {len(base64.b64decode(value))} bytes")
    lines.append("")
    return lines


def secret(ctx, obj: dict) -> list[str]:
    m = obj.get("metadata") or {}
    lines = header(obj) + mapping("Labels", m.get("labels")) + \
        mapping("Annotations", m.get("annotations"))
    lines += ["", f"Type:\t{obj.get('type', 'Opaque')}", "", "Data", "===="]
    for key, value in sorted((obj.get("data") or {}).items()):
        lines.append(f"{key}:\t{len(base64.b64decode(value))} bytes")
    return lines


def service(ctx, obj: dict) -> list[str]:
    m, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    lines = header(obj) + mapping("Labels", m.get("labels")) + \
        mapping("Annotations", m.get("annotations"))
    selector = spec.get("selector") or {}
    lines.append(f"Selector:\t{','.join(f'{k}={v}' for k, v in sorted(selector.items())) or NONE}")
    lines.append(f"Type:\t{spec.get('type', 'ClusterIP')}")
    if spec.get("ipFamilyPolicy"):
        lines.append(f"IP Family Policy:\t{spec['ipFamilyPolicy']}")
    if spec.get("ipFamilies"):
        lines.append(f"IP Families:\t{','.join(spec['ipFamilies'])}")
    lines.append(f"IP:\t{spec.get('clusterIP', '')}")
    lines.append(f"IPs:\t{','.join(spec.get('clusterIPs') or []) or NONE}")
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        lines.append(f"Port:\t{port.get('name') or '<unset>'}  {port.get('port')}/{protocol}")
        target = port.get("targetPort", port.get("port"))
        lines.append(f"TargetPort:\t{target}/{protocol}")
        if port.get("nodePort"):
            lines.append(f"NodePort:\t{port.get('name') or '<unset>'}  {port['nodePort']}/"
                         f"{protocol}")
    lines.append(f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}")
    return lines


# -- the generic describer ---------------------------------------------------------------


def _title(key: str) -> str:
    """`creationTimestamp` -> `Creation Timestamp`, `podIP` -> `Pod IP` (kubectl's words)."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b|[0-9]|$)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", key)
    return " ".join(w[:1].upper() + w[1:] for w in words) or key


def generic(obj: dict) -> list[str]:
    m = obj.get("metadata") or {}
    lines = header(obj)
    lines += mapping("Labels", m.get("labels"))
    lines += mapping("Annotations", m.get("annotations"))
    lines.append(f"API Version:\t{obj.get('apiVersion', '')}")
    lines.append(f"Kind:\t{obj.get('kind', '')}")
    skip = {"apiVersion", "kind"}
    rest = {k: v for k, v in obj.items() if k not in skip}
    rest["metadata"] = {k: v for k, v in m.items()
                        if k not in ("name", "namespace", "labels", "annotations",
                                     "managedFields")}
    lines += _unstructured(rest, 0)
    return lines


def _unstructured(value, level: int) -> list[str]:
    indent = "  " * level
    lines = []
    for key in sorted(value) if isinstance(value, dict) else []:
        item = value[key]
        title = _title(key) if level < 1 or not isinstance(value, dict) else _title(key)
        if isinstance(item, dict):
            if not item:
                continue
            lines.append(f"{indent}{title}:")
            lines += _unstructured(item, level + 1)
        elif isinstance(item, list):
            if not item:
                continue
            lines.append(f"{indent}{title}:")
            for element in item:
                if isinstance(element, dict):
                    inner = _unstructured(element, level + 1)
                    if inner:
                        first = inner[0]
                        inner[0] = "  " * level + "  " + first.lstrip()
                    lines += inner
                else:
                    lines.append(f"{indent}  {element}")
        else:
            lines.append(f"{indent}{title}:\t{item}")
    return lines
