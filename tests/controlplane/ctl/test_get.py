"""`superctl get` prints what kubectl prints for the same objects, and fails as it does."""

import json
import subprocess
import time

import yaml
from clientkit import configmap, deployment, pod, superctl_path


def test_table_output_matches_kubectl(client, ns, sctl, kctl):
    client.create(pod("web-0", app="web"), ns)
    client.create(pod("db-0", app="db"), ns)
    for args in (["get", "pods"], ["get", "pods", "-o", "wide"], ["get", "pods", "--no-headers"],
                 ["get", "pods", "-l", "app=web"], ["get", "pods", "--show-labels"],
                 ["get", "pod", "web-0", "db-0"], ["get", "pods", "-L", "app"]):
        ours, theirs = sctl(*args), kctl(*args)
        assert ours.returncode == theirs.returncode == 0, ours.stderr
        assert _ages_blanked(ours.stdout) == _ages_blanked(theirs.stdout), args


def _ages_blanked(text: str) -> str:
    # A second may tick between the two runs: compare everything but the AGE cells.
    import re
    return re.sub(r"\b\d+(s|m\d*s?|h)\b", "AGE", text)


def test_json_and_yaml_output_are_kubectls_byte_for_byte(client, ns, sctl, kctl):
    client.create({**configmap("cfg", a="true", b="1", text="line1\nline2\n"),
                   "metadata": {"name": "cfg", "annotations": {"note": "<x & y>"}}}, ns)
    for fmt in ("json", "yaml"):
        ours, theirs = sctl("get", "cm", "cfg", "-o", fmt), kctl("get", "cm", "cfg", "-o", fmt)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == theirs.stdout, fmt
    ours, theirs = sctl("get", "cm", "-o", "yaml"), kctl("get", "cm", "-o", "yaml")
    assert ours.stdout == theirs.stdout          # a List of every config map


def test_name_jsonpath_and_custom_columns(client, ns, sctl, kctl):
    client.create(deployment("web", replicas=3), ns)
    client.create(pod("p1"), ns)
    assert sctl("get", "deploy,pods", "-o", "name").stdout == "deployment.apps/web\npod/p1\n"
    template = '{range .items[*]}{.metadata.name}={.spec.replicas}{"\\n"}{end}'
    ours = sctl("get", "deploy", "-o", f"jsonpath={template}")
    assert ours.stdout == kctl("get", "deploy", "-o", f"jsonpath={template}").stdout == "web=3\n"
    columns = "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image"
    assert sctl("get", "pods", "-o", columns).stdout == \
        kctl("get", "pods", "-o", columns).stdout


def test_several_kinds_print_one_table_each_with_kind_prefixes(client, ns, sctl):
    client.create(deployment("web"), ns)
    client.create(configmap("cfg"), ns)
    out = sctl("get", "deployments,cm").stdout
    blocks = out.split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].splitlines()[1].startswith("deployment.apps/web")
    assert blocks[1].splitlines()[0].split()[:3] == ["NAME", "DATA", "AGE"]
    assert "configmap/cfg" in blocks[1]


def test_all_namespaces_adds_the_namespace_column(client, ns, sctl):
    client.create(configmap("here"), ns)
    out = sctl("get", "cm", "-A", namespaced=False).stdout.splitlines()
    assert out[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [ns, "here"] for line in out)


def test_short_names_and_qualified_names_resolve(client, ns, sctl):
    client.create(deployment("web"), ns)
    for name in ("deploy", "deployment", "deployments", "deployments.apps", "Deployment"):
        result = sctl("get", name, "web", "-o", "name")
        assert result.stdout == "deployment.apps/web\n", (name, result.stderr)


def test_a_missing_object_is_kubectls_one_line_error_and_exit_1(client, ns, sctl, kctl):
    client.create(pod("exists"), ns)
    ours, theirs = sctl("get", "pod", "exists", "nope"), kctl("get", "pod", "exists", "nope")
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr == 'Error from server (NotFound): pods "nope" not found\n'
    assert "exists" in ours.stdout
    assert "Traceback" not in ours.stderr


def test_an_empty_namespace_says_so_on_stderr(sctl, kctl, ns):
    ours, theirs = sctl("get", "pods"), kctl("get", "pods")
    assert ours.returncode == 0 and ours.stdout == ""
    assert ours.stderr == theirs.stderr == f"No resources found in {ns} namespace.\n"


def test_unknown_resource_type_is_named(sctl):
    result = sctl("get", "frobnicators")
    assert result.returncode == 1
    assert result.stderr == 'error: the server doesn\'t have a resource type "frobnicators"\n'


def test_a_refused_connection_names_the_server(tmp_path, ns):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    SUPERCTL = superctl_path()
    result = subprocess.run([SUPERCTL, "--server", f"https://127.0.0.1:{port}",
                             "--insecure-skip-tls-verify", "--kubeconfig", "/dev/null",
                             "get", "pods"], capture_output=True, text=True,
                            env={"HOME": str(tmp_path), "PATH": "/usr/bin"})
    assert result.returncode == 1
    assert result.stderr == (f"The connection to the server 127.0.0.1:{port} was refused - "
                             "did you specify the right host or port?\n")


def test_watch_prints_a_row_per_change(client, ns, server, tmp_path):
    SUPERCTL = superctl_path()
    client.create(configmap("watched", v="1"), ns)
    with subprocess.Popen([SUPERCTL, "get", "cm", "watched", "-w", "-n", ns],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={"KUBECONFIG": str(server.kubeconfig),
                               "HOME": str(tmp_path)}) as proc:
        try:
            header, first = proc.stdout.readline(), proc.stdout.readline()
            assert header.split()[:3] == ["NAME", "DATA", "AGE"] and first.startswith("watched")
            time.sleep(0.3)
            client.patch("v1", "ConfigMap", "watched", {"data": {"w": "2"}}, ns,
                         patch_type="merge")
            changed = proc.stdout.readline()
            assert changed.split()[:2] == ["watched", "2"]
        finally:
            proc.terminate()
            proc.wait(10)


def test_get_from_files_and_yaml_round_trip(client, ns, sctl, tmp_path):
    client.create(configmap("f1"), ns)
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(yaml.safe_dump(configmap("f1")))
    out = json.loads(sctl("get", "-f", str(manifest), "-o", "json").stdout)
    assert out["metadata"]["name"] == "f1" and out["kind"] == "ConfigMap"
