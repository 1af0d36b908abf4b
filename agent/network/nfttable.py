"""A table as data: written whole, or changed from one version to the next.

nft.sync() rewrites a whole table, which costs time in proportion to the table:
about half a second for a service proxy with 1000 Services, seconds at 3000.
A component whose table is large and changes a little at a time (the proxy,
when one endpoint of one Service moves) keeps its table as a `Table` and hands
`diff(old, new)` to nft.apply(): the commands that turn what the kernel holds
into what is wanted, in one transaction, costing about the size of the change.

    Table
      chains  name -> Chain(head, rules)    head: the hook line, the comment
      sets    name -> Named("set" | "map", declaration lines, elements)
                      elements: key -> the rest of the element's text,
                      ' comment "default/web:http" : goto svc-default/web/tcp/http'

The order of a diff is the one nft needs: what is referenced exists before a
rule or an element refers to it, and nothing is deleted while referred to
(chains to delete are flushed first; a chain must be empty to go). A named
set or chain whose declaration changes is not altered in place by nft, so the
owner gives it a new name instead (the proxy puts an affinity timeout in its
set's name); `diff` treats a changed head or declaration as a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Chain:
    head: list[str] = field(default_factory=list)    # "type ... hook ...;" and/or comment
    rules: list[str] = field(default_factory=list)


@dataclass
class Named:
    kind: str                                         # "set" or "map"
    declaration: list[str] = field(default_factory=list)
    elements: dict[str, str] = field(default_factory=dict)


@dataclass
class Table:
    family: str
    name: str
    comment: str = ""
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, Named] = field(default_factory=dict)

    def body(self) -> str:
        """The table's content in nft's syntax, for nft.sync() or a learner."""
        out = [f'comment "{self.comment}"'] if self.comment else []
        for name, named in self.sets.items():
            out += [f"{named.kind} {name} {{", *(f"  {d}" for d in named.declaration)]
            if named.elements:
                out.append("  elements = {")
                out += [f"    {key}{rest}," for key, rest in named.elements.items()]
                out.append("  }")
            out.append("}")
        for name, chain in self.chains.items():
            out += [f"chain {name} {{", *(f"  {line}" for line in chain.head + chain.rules),
                    "}"]
        return "\n".join(out) + "\n"


def diff(old: Table, new: Table) -> list[str]:
    """nft commands turning `old` (what the kernel holds) into `new`; [] when equal."""
    where = f"{new.family} {new.name}"
    added, removed, changed = [], [], []
    out: list[str] = []
    for name, named in new.sets.items():
        before = old.sets.get(name)
        if before is None:
            decl = "; ".join(named.declaration)
            out.append(f"add {named.kind} {where} {name} {{ {decl}; }}")
        elif before.declaration != named.declaration or before.kind != named.kind:
            raise ValueError(f"{named.kind} {name} changed its declaration: rename it")
    for name, chain in new.chains.items():
        before = old.chains.get(name)
        if before is None:
            head = "".join(f" {line}" if line.endswith(";") else f" {line};"
                           for line in chain.head)
            out.append(f"add chain {where} {name} {{{head} }}")
            added.append(name)
        elif before.head != chain.head:
            raise ValueError(f"chain {name} changed its head: rename it")
        elif before.rules != chain.rules:
            changed.append(name)
    removed = [name for name in old.chains if name not in new.chains]
    # Elements that go or change first: they may point at chains about to go.
    inserts = []
    for name, named in new.sets.items():
        before = old.sets.get(name)
        old_elements = before.elements if before else {}
        gone = [k for k, rest in old_elements.items() if named.elements.get(k) != rest]
        if gone:
            out.append(f"delete element {where} {name} {{ {', '.join(gone)} }}")
        fresh = [f"{k}{rest}" for k, rest in named.elements.items() if old_elements.get(k) != rest]
        if fresh:
            inserts.append(f"add element {where} {name} {{ {', '.join(fresh)} }}")
    for name in changed + removed:
        out.append(f"flush chain {where} {name}")
    for name in added + changed:
        out += [f"add rule {where} {name} {rule}" for rule in new.chains[name].rules]
    out += inserts
    out += [f"delete chain {where} {name}" for name in removed]
    out += [f"delete {named.kind} {where} {name}" for name, named in old.sets.items()
            if name not in new.sets]
    return out
