"""The rule writer renders one transaction that replaces owned tables whole."""

import pytest

from supernetes.agent.network import nft


def test_render_replaces_each_desired_table_and_deletes_stale_ones():
    script = nft.render({("ip", "supernetes-node"): "chain c {\n}\n"},
                        stale={("ip", "supernetes-old")})
    assert script.splitlines() == [
        "table ip supernetes-node",
        "delete table ip supernetes-node",
        "table ip supernetes-node {",
        "chain c {",
        "}",
        "}",
        "delete table ip supernetes-old",
    ]


def test_sync_refuses_a_table_it_does_not_own():
    with pytest.raises(ValueError, match="owner prefix"):
        nft.sync({("ip", "filter"): ""}, owner="supernetes")
