"""`supernetes lab`: a multi-node cluster on one machine, built from plain namespaces.

kind runs each node of a cluster in a Docker container; the lab runs each node
as a *machine* made of namespaces, with no container engine at all:

      host (untouched: no link, no route, no rule, unless --outside-access)
      127.0.0.1:PORT  -- relayed by the control plane machine's port proxy --.
                                                                             |
      +-- lab-switch (netns) ----------------------------------------------+ |
      |   backplane: the lab's L2 segment, 172.31.255.0/24, no uplink      | |
      +-----+----------------------+----------------------+----------------+ |
            | macvlan              | macvlan              | macvlan          |
      +-----+------------+  +------+-----------+  +-------+----------+       |
      | lab-cp           |  | lab-node1        |  | lab-node2        |  ...  |
      | eth0 .2          |  | eth0 .11         |  | eth0 .12         |       |
      | supernetes server|  | superlet run     |  | superlet run     |       |
      | port proxy  <----|--|------------------|--|------------------|-------'
      +------------------+  | super0 10.244.x  |  | super0 10.244.y  |
                            | pods             |  | pods             |
                            +------------------+  +------------------+

Each machine is a network namespace (pinned under --netns-dir, so `ip netns
exec lab-node1 ...` works) plus, for its processes, a PID, mount and UTS
namespace of its own: its init (`nodeinit.py`) is PID 1 there, owns a tmpfs
for the volatile run dir, sets the hostname (which the agent takes as its node
name) and supervises the machine's services, as systemd would. Killing that
init is pulling the plug: the kernel kills every process of the machine, its
mounts vanish, and the lab deletes its network namespace, as a reboot would.

Nodes join exactly as a remote machine does: `superlet run --server
https://<control plane>:6443 --token-file <the server's bootstrap token file>`,
the paths coming from SUPERLET_ROOT_DIR and SUPERLET_RUN_DIR in the machine's
environment.

    config.py     LabConfig: names, the address plan, validation
    state.py      lab.json in the data dir: what the lab made, so any later command
                  (or a `lab down` after a crash) can find and undo it
    netplumb.py   namespaces pinned to files, the switch, plugging machines into it,
                  the optional uplink to the host
    machine.py    booting, stopping, killing and entering one machine
    nodeinit.py   PID 1 of a machine
    portproxy.py  relays the API server port from the host's loopback into the lab
    cgroupsweep.py  removes the cgroups a dead machine's pods left behind
    lab.py        up, stop, down, status, node stop/start/kill, exec: the composition
    cli.py        `supernetes lab ...`

Errors: every failure is a `LabError` with a message naming what and where
(the CLI prints it on one line); causes are chained.
"""


class LabError(Exception):
    """The lab could not do what was asked; the message says what and where to look."""
