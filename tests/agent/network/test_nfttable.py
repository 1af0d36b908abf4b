"""A table as data: its text, and the diff that turns one version into the next."""

import pytest

from supernetes.agent.network.nfttable import Chain, Named, Table, diff


def table(**chains) -> Table:
    t = Table("ip", "supernetes-x", comment="x")
    t.sets["routes"] = Named("map", ["type ipv4_addr : verdict"])
    for name, rules in chains.items():
        t.chains[name] = Chain(['comment "c"'], list(rules))
    return t


def test_the_body_lists_sets_then_chains_in_nft_syntax():
    t = table(a=["accept"])
    t.sets["routes"].elements["10.0.0.1"] = " : goto a"
    assert t.body().splitlines() == [
        'comment "x"', "map routes {", "  type ipv4_addr : verdict", "  elements = {",
        "    10.0.0.1 : goto a,", "  }", "}", "chain a {", '  comment "c"', "  accept", "}"]


def test_equal_tables_need_no_command():
    assert diff(table(a=["accept"]), table(a=["accept"])) == []


def test_a_diff_adds_before_it_refers_and_empties_before_it_deletes():
    old = table(keep=["goto gone"], gone=["accept"])
    old.sets["routes"].elements["10.0.0.1"] = " : goto gone"
    old.sets["old-set"] = Named("set", ["type ipv4_addr"])
    new = table(keep=["goto fresh"], fresh=["ip saddr @learned accept"])
    new.sets["routes"].elements["10.0.0.2"] = " : goto fresh"
    new.sets["learned"] = Named("set", ["type ipv4_addr", "flags dynamic,timeout",
                                        "timeout 60s"])
    where = "ip supernetes-x"
    assert diff(old, new) == [
        f"add set {where} learned {{ type ipv4_addr; flags dynamic,timeout; timeout 60s; }}",
        f'add chain {where} fresh {{ comment "c"; }}',
        f"delete element {where} routes {{ 10.0.0.1 }}",
        f"flush chain {where} keep",
        f"flush chain {where} gone",
        f"add rule {where} fresh ip saddr @learned accept",
        f"add rule {where} keep goto fresh",
        f"add element {where} routes {{ 10.0.0.2 : goto fresh }}",
        f"delete chain {where} gone",
        f"delete set {where} old-set",
    ]


def test_a_changed_element_is_replaced_and_a_changed_head_is_refused():
    old, new = table(a=["accept"], b=["accept"]), table(a=["accept"], b=["accept"])
    old.sets["routes"].elements["10.0.0.1"] = " : goto a"
    new.sets["routes"].elements["10.0.0.1"] = " : goto b"
    assert diff(old, new)[-2:] == ["delete element ip supernetes-x routes { 10.0.0.1 }",
                                   "add element ip supernetes-x routes { 10.0.0.1 : goto b }"]
    new.chains["a"].head = ['comment "other"']
    with pytest.raises(ValueError, match="rename it"):
        diff(old, new)
