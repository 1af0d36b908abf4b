"""Incremental writes leave the kernel exactly where a whole write would.

A random walk over Services and endpoints (added, removed, scaled, switched to
NodePort, to ClientIP affinity, to externalTrafficPolicy Local): after each
step the diff from the previous table is applied in one namespace, the whole
new table written in another, and what the kernel holds is compared.
"""

from __future__ import annotations

import random
import re

import pytest
from proxykit import endpoint, endpoint_slice, make_netns, remove_netns, service

from supernetes.agent.network import nft, nfttable
from supernetes.agent.proxy import model, rules

pytestmark = [pytest.mark.root, pytest.mark.netns]

CONFIG = rules.RuleConfig(node_name="node-a")


def kernel_view(netns: str) -> dict[str, list[str]]:
    """Each chain/set/map of the table -> its lines; comparable whatever the write order."""
    text = nft.list_table(*rules.TABLE, netns=netns)
    text = re.sub(r"expires \S+", "", text)               # timers differ between the two
    blocks, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        match = re.match(r"^(chain|set|map) (\S+) \{$", line)
        if match:
            current = line
            blocks[current] = []
        elif line == "}":
            current = None
        elif current and line:
            blocks[current].append(line)
    return blocks


def random_state(rng: random.Random) -> list[model.ServicePort]:
    ports = []
    for i in rng.sample(range(12), rng.randrange(1, 9)):
        spec = {}
        kind = rng.choice(["ClusterIP", "NodePort"])
        port = {"name": "http", "port": 80, "protocol": "TCP"}
        if kind == "NodePort":
            port["nodePort"] = 30000 + i
            if rng.random() < 0.5:
                spec["externalTrafficPolicy"] = "Local"
        if rng.random() < 0.3:
            spec["sessionAffinity"] = "ClientIP"
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds":
                                                          rng.choice([60, 300])}}
        svc = service(f"s{i}", f"10.96.0.{i + 10}", kind=kind, ports=[port], **spec)
        eps = [endpoint(f"10.244.{n % 2 + 7}.{n + 2}", node=f"node-{'ab'[n % 2]}",
                        ready=rng.random() < 0.85)
               for n in rng.sample(range(20), rng.randrange(0, 5))]
        ports += model.service_ports(svc, [endpoint_slice(f"s{i}", eps)])
    return ports


def test_a_random_walk_of_diffs_matches_writing_each_table_whole(tmp_path):
    incremental = make_netns(tmp_path / "incremental")
    whole = make_netns(tmp_path / "whole")
    rng = random.Random(8)
    try:
        before = rules.build(random_state(rng), CONFIG)
        nft.sync({rules.TABLE: before.body()}, netns=incremental, owner=rules.TABLE[1])
        for step in range(25):
            after = rules.build(random_state(rng), CONFIG)
            nft.apply(nfttable.diff(before, after), netns=incremental)
            nft.sync({rules.TABLE: after.body()}, netns=whole, owner=rules.TABLE[1])
            assert kernel_view(incremental) == kernel_view(whole), f"step {step}"
            before = after
    finally:
        remove_netns(incremental)
        remove_netns(whole)
