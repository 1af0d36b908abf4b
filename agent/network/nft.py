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

Some sets are state the kernel fills, not configuration: the service proxy's
session-affinity sets learn which client went to which endpoint. Deleting the
table would forget them on every rewrite. So `sync(..., keep_sets=pred)`
rewrites an existing table in place instead, still in one transaction:

    flush table ip supernetes-proxy                # every chain's rules go
    flush map ip supernetes-proxy service-ips      # every map and set not kept
    delete chain ip supernetes-proxy svc-old       # what the new body no longer declares
    table ip supernetes-proxy { ... }              # re-declared and refilled; a kept set
                                                   # that exists keeps its elements

(A kept set must change its name when its definition changes: re-declaring a
set does not alter it. Likewise table and chain comments stay as first written.)

Tables of other software (iptables-nft's `ip filter`, firewalld, Docker) are
never touched, since they do not carry our prefix.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable

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


_DECLARATION = re.compile(r"^(chain|set|map) (\S+) \{", re.MULTILINE)


def declared(body: str) -> set[tuple[str, str]]:
    """(kind, name) of the chains, sets and maps a body declares (at line starts)."""
    return {(kind, name) for kind, name in _DECLARATION.findall(body)}


def table_objects(family: str, name: str, netns: str | None = None) -> set[tuple[str, str]]:
    """(kind, name) of the chains, sets and maps the kernel's table holds."""
    listing = json.loads(_nft(["-j", "-t", "list", "table", family, name], None, netns))
    found = set()
    for item in listing.get("nftables", []):
        for kind in ("chain", "set", "map"):
            if kind in item:
                found.add((kind, item[kind]["name"]))
    return found


def render(desired: dict[tuple[str, str], str], stale: set[tuple[str, str]],
           in_place: dict[tuple[str, str], set[tuple[str, str]]] | None = None,
           keep_sets: Callable[[str], bool] | None = None) -> str:
    """The script: `in_place` maps tables to rewrite in place to what they hold now."""
    lines = []
    for (family, name), body in sorted(desired.items()):
        existing = (in_place or {}).get((family, name))
        if existing is None:
            lines += [f"table {family} {name}", f"delete table {family} {name}"]
        else:
            lines += _in_place(family, name, existing, declared(body), keep_sets)
        lines += [f"table {family} {name} {{", body.rstrip("\n"), "}"]
    for family, name in sorted(stale):
        lines.append(f"delete table {family} {name}")
    return "\n".join(lines) + "\n"


def _in_place(family: str, name: str, existing: set[tuple[str, str]],
              wanted: set[tuple[str, str]], keep_sets) -> list[str]:
    lines = [f"flush table {family} {name}"]
    for kind, obj in sorted(existing):
        if kind in ("set", "map") and not (kind == "set" and keep_sets(obj)):
            lines.append(f"flush {kind} {family} {name} {obj}")
    # Chains last: nothing may refer to a chain that is deleted (rules and verdict
    # maps were flushed above).
    order = {"set": 0, "map": 0, "chain": 1}
    for kind, obj in sorted(existing - wanted, key=lambda o: (order[o[0]], o[1])):
        lines.append(f"delete {kind} {family} {name} {obj}")
    return lines


def sync(desired: dict[tuple[str, str], str], netns: str | None = None,
         owner: str = PREFIX, keep_sets: Callable[[str], bool] | None = None) -> str:
    """Make the tables named `owner...` exactly `desired`, in one transaction.

    `desired` maps (family, table name) to the table's body (chains and rules).
    Tables whose name starts with `owner` but are not in `desired` are deleted.
    With `keep_sets`, an existing table is rewritten in place and the sets it
    names keep their elements (see the module docstring).
    Returns the script that was applied (the learner's view of what happened).
    """
    for _, name in desired:
        if not name.startswith(owner):
            raise ValueError(f"table {name!r} does not carry the owner prefix {owner!r}")
    existing = owned_tables(netns, owner)
    stale = existing - set(desired)
    in_place = {}
    if keep_sets is not None:
        in_place = {table: table_objects(*table, netns=netns)
                    for table in desired if table in existing}
    script = render(desired, stale, in_place, keep_sets)
    if desired or stale:
        _nft(["-f", "-"], script, netns)
    return script


def apply(commands: list[str], netns: str | None = None) -> str:
    """Run nft commands as one transaction: an incremental change (nfttable.diff) of a
    table the caller owns. Returns the script."""
    script = "\n".join(commands) + "\n"
    if commands:
        _nft(["-f", "-"], script, netns)
    return script


def list_table(family: str, name: str, netns: str | None = None) -> str:
    return _nft(["list", "table", family, name], None, netns)
