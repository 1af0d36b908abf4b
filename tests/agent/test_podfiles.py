"""The pod's shared /etc files, as the kubelet writes them."""

from supernetes.agent.podfiles import hosts_file, resolv_conf, write_pod_files


def pod(**spec):
    return {"metadata": {"name": "web-1", "namespace": "shop"}, "spec": spec}


def test_hosts_file_names_the_pod_and_its_aliases():
    text = hosts_file(pod(hostAliases=[{"ip": "10.0.0.9", "hostnames": ["db", "db.local"]}]),
                      "10.244.1.7")
    assert "127.0.0.1\tlocalhost" in text
    assert "10.244.1.7\tweb-1\n" in text
    assert text.endswith("10.0.0.9\tdb\tdb.local\n")


def test_hosts_file_with_hostname_and_subdomain_carries_the_fqdn():
    text = hosts_file(pod(hostname="w0", subdomain="web"), "10.244.1.7")
    assert "10.244.1.7\tw0.web.shop.svc.cluster.local\tw0" in text


def test_cluster_first_points_at_cluster_dns_with_the_search_path(tmp_path):
    node = tmp_path / "resolv.conf"
    node.write_text("nameserver 192.0.2.53\nsearch corp.example\noptions rotate\n")
    text = resolv_conf(pod(), ["10.96.0.10"], node_resolv=str(node))
    assert text == ("nameserver 10.96.0.10\n"
                    "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
                    "options ndots:5\n")


def test_default_policy_and_host_network_copy_the_node_resolver(tmp_path):
    node = tmp_path / "resolv.conf"
    node.write_text("# comment\nnameserver 192.0.2.53\nsearch corp.example\n")
    expected = "nameserver 192.0.2.53\nsearch corp.example\n"
    assert resolv_conf(pod(dnsPolicy="Default"), ["10.96.0.10"], node_resolv=str(node)) == expected
    assert resolv_conf(pod(hostNetwork=True), ["10.96.0.10"], node_resolv=str(node)) == expected
    with_net = resolv_conf(pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"),
                           ["10.96.0.10"], node_resolv=str(node))
    assert with_net.startswith("nameserver 10.96.0.10\n")


def test_policy_none_uses_only_dns_config_and_options_override():
    text = resolv_conf(pod(dnsPolicy="None", dnsConfig={
        "nameservers": ["1.2.3.4"], "searches": ["a.example"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}), ["10.96.0.10"])
    assert text == "nameserver 1.2.3.4\nsearch a.example\noptions ndots:2 edns0\n"


def test_write_pod_files_maps_container_paths_to_node_files(tmp_path):
    paths = write_pod_files(str(tmp_path / "pod"), pod(), "10.244.1.7", ["10.96.0.10"])
    assert set(paths) == {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}
    with open(paths["/etc/hostname"]) as f:
        assert f.read() == "web-1\n"
