"""The batched rule writer: nftables tables owned whole, replaced in one transaction.

Every component that needs packet rules (the node's masquerade and forwarding
here; the service proxy and network policies later) owns one or more nftables
tables whose names start with `supernetes`. It never edits a rule in place: it
renders the whole desired content of its tables and hands it to `sync()`, which
writes one `nft -f` script of the form

    table ip supernetes-node            # make sure it exists, so the delete cannot fail
    delete table ip supernetes-node     # drop whatever it held, ours or stale
    table ip supernetes-node { ... }    # the desired content
    delete table ip supernetes-old      # an owned table nobody wants any more

nft applies a script as a single netlink transaction: packets see either the old
rule set or the new one, never a half-written one, and a crash or restart leaves
nothing stale behind because the next sync rewrites everything it owns.

Tables of other software (iptables-nft's `ip filter`, firewalld, Docker) are
never touched, since they do not carry our prefix.
"""

from __future__ import annotations

import subprocess

from . import netns as netns_mod

PREFIX = "supernetes"


class RuleError(RuntimeError):
    """nft refused a rule set (the message is nft's own, with the script line)."""


def _nft(args: list[str], script: str | None, netns: str | None) -> str:
    result = netns_mod.run_in(
        netns, subprocess.run, ["nft", *args], input=script, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuleError(f"nft {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def owned_tables(netns: str | None = None, prefix: str = PREFIX) -> set[tuple[str, str]]:
    """(family, name) of every table in the namespace whose name carries `prefix`."""
    tables = set()
    for line in _nft(["list", "tables"], None, netns).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "table" and parts[2].startswith(prefix):
            tables.add((parts[1], parts[2]))
    return tables


def render(desired: dict[tuple[str, str], str], stale: set[tuple[str, str]]) -> str:
    lines = []
    for (family, name), body in sorted(desired.items()):
        lines += [
            f"table {family} {name}",
            f"delete table {family} {name}",
            f"table {family} {name} {{",
            body.rstrip("\n"),
            "}",
        ]
    for family, name in sorted(stale):
        lines.append(f"delete table {family} {name}")
    return "\n".join(lines) + "\n"


def sync(desired: dict[tuple[str, str], str], netns: str | None = None,
         owner: str = PREFIX) -> str:
    """Make the tables named `owner...` exactly `desired`, in one transaction.

    `desired` maps (family, table name) to the table's body (chains and rules).
    Tables whose name starts with `owner` but are not in `desired` are deleted.
    Returns the script that was applied (the learner's view of what happened).
    """
    for _, name in desired:
        if not name.startswith(owner):
            raise ValueError(f"table {name!r} does not carry the owner prefix {owner!r}")
    stale = owned_tables(netns, owner) - set(desired)
    script = render(desired, stale)
    if desired or stale:
        _nft(["-f", "-"], script, netns)
    return script


def list_table(family: str, name: str, netns: str | None = None) -> str:
    return _nft(["list", "table", family, name], None, netns)
