"""The files every container of a pod shares: /etc/hosts, /etc/hostname, /etc/resolv.conf.

They live in the pod's directory on the node and are bind-mounted over the
image's own, as the kubelet does, so every container of the pod sees the same.

  hosts        localhost lines, the pod's own address and name, then hostAliases;
               a hostNetwork pod gets the node's /etc/hosts content instead.
  resolv.conf  by dnsPolicy: ClusterFirst (the default) points at the cluster DNS
               with the `<ns>.svc.<domain> svc.<domain> <domain>` search path and
               ndots:5; Default copies the node's resolver; None uses only
               `dnsConfig`; ClusterFirstWithHostNet is ClusterFirst for hostNetwork
               pods (which otherwise behave as Default). dnsConfig then adds
               nameservers, searches and options on top.
"""

from __future__ import annotations

import os


def hosts_file(pod: dict, pod_ip: str | None, node_hosts: str = "/etc/hosts") -> str:
    spec = pod.get("spec", {})
    if spec.get("hostNetwork"):
        try:
            with open(node_hosts) as f:
                return f.read()
        except OSError:
            pass
    name = spec.get("hostname") or pod["metadata"]["name"]
    lines = [
        "# Kubernetes-managed hosts file (written by the Supernetes agent).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    if pod_ip:
        subdomain = spec.get("subdomain")
        if subdomain:
            namespace = pod["metadata"].get("namespace", "default")
            fqdn = f"{name}.{subdomain}.{namespace}.svc.cluster.local"
            lines.append(f"{pod_ip}\t{fqdn}\t{name}")
        else:
            lines.append(f"{pod_ip}\t{name}")
    for alias in spec.get("hostAliases") or []:
        lines.append("\t".join([alias["ip"], *alias.get("hostnames", [])]))
    return "\n".join(lines) + "\n"


def _node_resolver(path: str) -> tuple[list[str], list[str], list[str]]:
    servers, searches, options = [], [], []
    try:
        with open(path) as f:
            for line in f:
                words = line.split()
                if not words or words[0].startswith(("#", ";")):
                    continue
                if words[0] == "nameserver" and len(words) > 1:
                    servers.append(words[1])
                elif words[0] in ("search", "domain"):
                    searches = words[1:]
                elif words[0] == "options":
                    options += words[1:]
    except OSError:
        pass
    return servers, searches, options


def resolv_conf(pod: dict, cluster_dns: list[str], cluster_domain: str = "cluster.local",
                node_resolv: str = "/etc/resolv.conf") -> str:
    spec = pod.get("spec", {})
    policy = spec.get("dnsPolicy", "ClusterFirst")
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    if policy == "ClusterFirstWithHostNet":
        policy = "ClusterFirst"
    node_servers, node_searches, node_options = _node_resolver(node_resolv)
    if policy == "ClusterFirst" and cluster_dns:
        namespace = pod["metadata"].get("namespace", "default")
        servers = list(cluster_dns)
        searches = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}",
                    cluster_domain, *node_searches]
        options = ["ndots:5"]
    elif policy == "None":
        servers, searches, options = [], [], []
    else:  # Default, or ClusterFirst with no cluster DNS configured
        servers, searches, options = node_servers, node_searches, node_options
    extra = spec.get("dnsConfig") or {}
    servers += [s for s in extra.get("nameservers") or [] if s not in servers]
    searches += [s for s in extra.get("searches") or [] if s not in searches]
    for option in extra.get("options") or []:
        text = option["name"] + (f":{option['value']}" if option.get("value") else "")
        options = [o for o in options if o.split(":")[0] != option["name"]] + [text]
    lines = [f"nameserver {s}" for s in servers[:3]]
    if searches:
        lines.append("search " + " ".join(searches[:32]))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def write_pod_files(pod_dir: str, pod: dict, pod_ip: str | None, cluster_dns: list[str],
                    cluster_domain: str = "cluster.local") -> dict[str, str]:
    """Write the pod's shared /etc files; returns container path -> node path."""
    os.makedirs(pod_dir, exist_ok=True)
    name = pod.get("spec", {}).get("hostname") or pod["metadata"]["name"]
    contents = {
        "/etc/hosts": ("etc-hosts", hosts_file(pod, pod_ip)),
        "/etc/hostname": ("etc-hostname", name + "\n"),
        "/etc/resolv.conf": ("resolv.conf", resolv_conf(pod, cluster_dns, cluster_domain)),
    }
    paths = {}
    for destination, (filename, text) in contents.items():
        path = os.path.join(pod_dir, filename)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        paths[destination] = path
    return paths
