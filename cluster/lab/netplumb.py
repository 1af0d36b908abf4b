"""The lab's network plumbing: pinned namespaces, the switch, plugs, the optional uplink.

A network namespace lives as long as a process is in it or a file pins it: a
bind mount of the namespace (an nsfs file) onto an empty file, which is what
`ip netns add` does under /run/netns. `pin()` makes one with `unshare
--net=FILE true`: the namespace outlives that `true` because of the pin, and
`unpin()` (unmount, unlink) lets the kernel destroy it with every interface,
route and rule inside.

The switch is a namespace holding the lab's L2 segment and nothing else: no
address, no route to anywhere. The segment is a `backplane`, one end of a veth
pair whose other end stays beside it, unused: every machine's `eth0` is a
macvlan on the backplane in bridge mode, created directly inside the machine
by `plug()`, with the machine's address. Macvlans in bridge mode on one lower
device hand each other frames directly (the sender's transmit is the
receiver's receive, one hop, like a cable through a switch that costs the
hosts nothing); only frames for no macvlan and broadcasts also go out of the
backplane, into its unused peer. When the switch was a bridge with a veth
per machine, a frame between two machines crossed two veths and the bridge,
all of it run on the sending machine's core: that made the lab's wire three
hops where a real cluster's (and bench/crossnode.py's bare peer's) is one.
A machine's MAC address is derived from its address (0a:5e + the four
bytes), so a machine that reboots comes back with the same MAC and its
peers' ARP caches stay right.

The uplink (`--outside-access` only) is the lab's single door to the outside:
one more macvlan on the backplane, created in the host's namespace as
`lab-<name>`, holding the gateway address (.1); forwarding on, and an nftables
table on the host that masquerades the lab subnet. Without it the lab has no
route out at all.
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

BACKPLANE = "backplane"
BACKPLANE_PEER = "backplane-end"


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
        if not ipr.link_lookup(ifname=BACKPLANE):
            ipr.link("add", ifname=BACKPLANE, kind="veth", peer={"ifname": BACKPLANE_PEER})
        # Both ends up: a veth has carrier only when its peer is up, and macvlans
        # follow their lower device's carrier.
        for name in (BACKPLANE_PEER, BACKPLANE):
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")


def _plug_macvlan(switch: str, target_fd: int, ifname: str, mac: str) -> None:
    """A macvlan on the backplane, made directly in the namespace `target_fd` as `ifname`."""
    with netns.route_socket(switch) as ipr:
        (backplane,) = ipr.link_lookup(ifname=BACKPLANE)
        ipr.link("add", ifname=ifname, kind="macvlan", link=backplane, macvlan_mode="bridge",
                 address=mac, net_ns_fd=target_fd)


def mac_for(address: str) -> str:
    octets = ipaddress.IPv4Address(address).packed
    return ":".join(f"{b:02x}" for b in (0x0A, 0x5E, *octets))


def plug(switch: str, machine: str, address: str, prefixlen: int,
         gateway: str | None = None) -> None:
    """Connect the machine's namespace to the switch: `eth0` there, on the backplane."""
    with netns.route_socket(machine) as ipr:
        for index in ipr.link_lookup(ifname="eth0"):   # a stale plug goes first
            ipr.link("del", index=index)
    fd = os.open(machine, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _plug_macvlan(switch, fd, "eth0", mac_for(address))
    finally:
        os.close(fd)
    with netns.route_socket(machine) as ipr:
        (eth0,) = ipr.link_lookup(ifname="eth0")
        ipr.addr("add", index=eth0, address=address, prefixlen=prefixlen)
        ipr.link("set", index=eth0, state="up")
        if gateway:
            ipr.route("replace", dst="default", gateway=gateway)


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
    with netns.route_socket(None) as ipr:
        found = ipr.link_lookup(ifname=name)
    if not found:
        fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _plug_macvlan(switch, fd, name, mac_for(gateway))
        finally:
            os.close(fd)
    with netns.route_socket(None) as ipr:
        (index,) = ipr.link_lookup(ifname=name)
        present = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index)}
        if gateway not in present:
            ipr.addr("add", index=index, address=gateway, prefixlen=network.prefixlen)
        ipr.link("set", index=index, state="up")
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
