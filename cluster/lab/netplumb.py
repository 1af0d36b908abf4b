"""The lab's network plumbing: pinned namespaces, the switch, plugs, the optional uplink.

A network namespace lives as long as a process is in it or a file pins it: a
bind mount of the namespace (an nsfs file) onto an empty file, which is what
`ip netns add` does under /run/netns. `pin()` makes one with `unshare
--net=FILE true`: the namespace outlives that `true` because of the pin, and
`unpin()` (unmount, unlink) lets the kernel destroy it with every interface,
route and rule inside.

The switch is a namespace holding one bridge, `br0`, and nothing else: no
address, no route to anywhere. `plug()` connects a machine to it with a veth
pair whose switch end joins the bridge and whose other end is created directly
inside the machine as `eth0`, with the machine's address. Its MAC address is
derived from that address (0a:5e + the four bytes), so a machine that reboots
comes back with the same MAC and its peers' ARP caches stay right.

The uplink (`--outside-access` only) is the lab's single door to the outside:
a veth from the host into the switch, the gateway address (.1) on the host's
end, forwarding on, and an nftables table on the host that masquerades the
lab subnet. Without it the lab has no route out at all.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import subprocess

from supernetes.agent.network import netns, nft
from supernetes.runtime import linux

from . import LabError

BRIDGE = "br0"


# --- namespaces pinned to files ----------------------------------------------------------

def is_pinned(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path and fields[fields.index("-") + 1] == "nsfs":
                return True
    return False


def pin(path: str) -> None:
    """A new network namespace pinned at `path` (kept if one is pinned there already)."""
    if is_pinned(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "a").close()
    done = subprocess.run(["unshare", f"--net={path}", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        raise LabError(f"cannot make network namespace {path}: {done.stderr.strip()}")
    # a fresh namespace has its loopback down
    with netns.route_socket(path) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def unpin(path: str) -> None:
    with contextlib.suppress(OSError):
        linux.umount2(path, linux.MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def sysctl(path: str | None, key: str, value: str) -> None:
    netns.write_sysctl(path, key, value)


def host_forwarding() -> str:
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        return f.read().strip()


# --- the switch --------------------------------------------------------------------------

def make_switch(path: str) -> None:
    pin(path)
    with netns.route_socket(path) as ipr:
        if not ipr.link_lookup(ifname=BRIDGE):
            ipr.link("add", ifname=BRIDGE, kind="bridge")
        ipr.link("set", index=ipr.link_lookup(ifname=BRIDGE)[0], state="up")
    # A switch only switches: if br_netfilter is loaded, frames crossing this bridge
    # would otherwise go through (empty) netfilter hooks and conntrack here as well.
    if os.path.exists("/proc/sys/net/bridge"):
        for family in ("iptables", "ip6tables", "arptables"):
            sysctl(path, f"net.bridge.bridge-nf-call-{family}", "0")


def mac_for(address: str) -> str:
    octets = ipaddress.IPv4Address(address).packed
    return ":".join(f"{b:02x}" for b in (0x0A, 0x5E, *octets))


def plug(switch: str, machine: str, port: str, address: str, prefixlen: int,
         gateway: str | None = None) -> None:
    """Connect the machine's namespace to the switch: `port` there, `eth0` in the machine."""
    unplug(switch, port)   # a stale port (the machine's old namespace is gone) goes first
    fd = os.open(machine, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with netns.route_socket(switch) as ipr:
            ipr.link("add", ifname=port, kind="veth",
                     peer={"ifname": "eth0", "net_ns_fd": fd, "address": mac_for(address)})
            (index,) = ipr.link_lookup(ifname=port)
            ipr.link("set", index=index, master=ipr.link_lookup(ifname=BRIDGE)[0], state="up")
    finally:
        os.close(fd)
    with netns.route_socket(machine) as ipr:
        (eth0,) = ipr.link_lookup(ifname="eth0")
        ipr.addr("add", index=eth0, address=address, prefixlen=prefixlen)
        ipr.link("set", index=eth0, state="up")
        if gateway:
            ipr.route("replace", dst="default", gateway=gateway)


def unplug(switch: str, port: str) -> None:
    if not is_pinned(switch):
        return
    with netns.route_socket(switch) as ipr:
        for index in ipr.link_lookup(ifname=port):
            ipr.link("del", index=index)


# --- the uplink to the host (--outside-access) ----------------------------------------------

def uplink_name(lab: str) -> str:
    return f"lab-{lab}"[:15]


def uplink_table(lab: str) -> str:
    return f"supernetes-lab-{lab}"


def check_subnet_free(subnet: str) -> None:
    """Refuse a subnet the host already routes: the uplink would shadow it."""
    network = ipaddress.IPv4Network(subnet)
    with netns.route_socket(None) as ipr:
        for route in ipr.get_routes(family=socket.AF_INET, table=254):
            dst = route.get_attr("RTA_DST")
            if dst is None:
                continue   # the default route overlaps everything, and that is fine
            if network.overlaps(ipaddress.ip_network(f"{dst}/{route['dst_len']}")):
                raise LabError(f"subnet {subnet} overlaps the host's route to "
                               f"{dst}/{route['dst_len']}: choose another with --subnet")


def make_uplink(lab: str, switch: str, gateway: str, subnet: str) -> None:
    name = uplink_name(lab)
    network = ipaddress.IPv4Network(subnet)
    fd = os.open(switch, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with netns.route_socket(None) as ipr:
            if not ipr.link_lookup(ifname=name):
                ipr.link("add", ifname=name, kind="veth",
                         peer={"ifname": "uplink", "net_ns_fd": fd})
            (index,) = ipr.link_lookup(ifname=name)
            present = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index)}
            if gateway not in present:
                ipr.addr("add", index=index, address=gateway, prefixlen=network.prefixlen)
            ipr.link("set", index=index, state="up")
    finally:
        os.close(fd)
    with netns.route_socket(switch) as ipr:
        (index,) = ipr.link_lookup(ifname="uplink")
        ipr.link("set", index=index, master=ipr.link_lookup(ifname=BRIDGE)[0], state="up")
    sysctl(None, "net.ipv4.ip_forward", "1")
    table = uplink_table(lab)
    # One transaction, replacing the table whole. (Not nft.sync(): its owner is a
    # name prefix, and this lab's table name may prefix another lab's.)
    nft.apply([f"table ip {table}", f"delete table ip {table}",
               f"table ip {table} {{\n{_uplink_rules(name, subnet)}\n}}"])


def _uplink_rules(link: str, subnet: str) -> str:
    return "\n".join([
        "chain forward {",
        "  type filter hook forward priority filter; policy accept;",
        f'  iifname "{link}" accept',
        f'  oifname "{link}" ct state established,related accept',
        "}",
        "chain postrouting {",
        "  type nat hook postrouting priority srcnat; policy accept;",
        f'  ip saddr {subnet} oifname != "{link}" masquerade',
        "}",
    ])


def remove_uplink(lab: str, forwarding: str | None = None) -> None:
    """Remove the uplink; `forwarding`: the host's ip_forward to put back."""
    table = uplink_table(lab)
    nft.apply([f"table ip {table}", f"delete table ip {table}"])
    with netns.route_socket(None) as ipr:
        for index in ipr.link_lookup(ifname=uplink_name(lab)):
            ipr.link("del", index=index)
    if forwarding is not None:
        sysctl(None, "net.ipv4.ip_forward", forwarding)
