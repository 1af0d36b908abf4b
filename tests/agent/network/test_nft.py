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


def test_a_rewrite_in_place_flushes_refills_and_deletes_what_is_no_longer_declared():
    body = ("set learned {\n  type ipv4_addr\n}\nset config {\n  type ipv4_addr\n}\n"
            "map routes {\n  type ipv4_addr : verdict\n}\nchain kept {\n}\n")
    existing = {("set", "learned"), ("set", "config"), ("set", "old-learned"),
                ("map", "routes"), ("chain", "kept"), ("chain", "gone")}
    script = nft.render({("ip", "supernetes-proxy"): body}, set(),
                        in_place={("ip", "supernetes-proxy"): existing},
                        keep_sets=lambda name: name.endswith("learned"))
    lines = script.splitlines()
    assert lines[:6] == [
        "flush table ip supernetes-proxy",
        "flush map ip supernetes-proxy routes",
        "flush set ip supernetes-proxy config",          # configuration: refilled below
        "delete set ip supernetes-proxy old-learned",    # kept kind, but no longer declared
        "delete chain ip supernetes-proxy gone",
        "table ip supernetes-proxy {",
    ]
    assert "flush set ip supernetes-proxy learned" not in lines   # the kernel's state stays


def test_declared_reads_the_top_level_objects_of_a_body():
    body = "chain a/b {\n  jump c\n}\nset s {\n}\nmap m {\n  elements = { 1 : goto x }\n}\n"
    assert nft.declared(body) == {("chain", "a/b"), ("set", "s"), ("map", "m")}
