"""`superctl apply`: creates, leaves alone, patches three-way, and interoperates with kubectl."""

import json

import yaml
from clientkit import deployment

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def two_containers(image="nginx:1.25"):
    d = deployment("web", replicas=2, image=image)
    d["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    return d


def test_apply_creates_then_is_unchanged_then_configures(client, ns, sctl, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(two_containers()))
    assert sctl("apply", "-f", str(path)).stdout == "deployment.apps/web created\n"
    assert sctl("apply", "-f", str(path)).stdout == "deployment.apps/web unchanged\n"
    path.write_text(yaml.safe_dump(two_containers("nginx:1.26")))
    assert sctl("apply", "-f", str(path)).stdout == "deployment.apps/web configured\n"
    live = client.get("apps/v1", "Deployment", "web", ns)
    assert [c["image"] for c in live["spec"]["template"]["spec"]["containers"]] == \
        ["nginx:1.26", "busybox"]
    recorded = json.loads(live["metadata"]["annotations"][LAST_APPLIED])
    assert recorded["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"


def test_a_container_dropped_from_the_file_is_deleted_others_changes_stay(client, ns, sctl,
                                                                           tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(two_containers()))
    sctl("apply", "-f", str(path))
    # Someone else labels it: a field apply never set must survive the next apply.
    client.patch("apps/v1", "Deployment", "web", {"metadata": {"labels": {"owner": "ops"}}}, ns,
                 patch_type="merge")
    path.write_text(yaml.safe_dump(deployment("web", replicas=2, image="nginx:1.25")))
    assert sctl("apply", "-f", str(path)).stdout == "deployment.apps/web configured\n"
    live = client.get("apps/v1", "Deployment", "web", ns)
    assert [c["name"] for c in live["spec"]["template"]["spec"]["containers"]] == ["c"]
    assert live["metadata"]["labels"] == {"owner": "ops"}


def test_kubectl_and_superctl_take_turns_on_one_object(client, ns, sctl, kctl, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(two_containers()))
    assert sctl("apply", "-f", str(path)).returncode == 0
    # kubectl sees our annotation as its own: nothing to do.
    theirs = kctl("apply", "--validate=false", "-f", str(path))
    assert theirs.stdout == "deployment.apps/web unchanged\n", theirs.stderr
    path.write_text(yaml.safe_dump(two_containers("nginx:1.27")))
    assert kctl("apply", "--validate=false", "-f", str(path)).stdout == \
        "deployment.apps/web configured\n"
    assert sctl("apply", "-f", str(path)).stdout == "deployment.apps/web unchanged\n"


def test_stdin_directories_and_multi_document_files(client, ns, sctl, tmp_path):
    docs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"m{i}"},
             "data": {"i": str(i)}} for i in range(3)]
    result = sctl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    assert result.stdout.splitlines() == [f"configmap/m{i} created" for i in range(3)]
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "a.yaml").write_text(yaml.safe_dump(docs[0]))
    (folder / "b.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                               "items": docs[1:]}))
    (folder / "notes.txt").write_text("not a manifest")
    assert sctl("apply", "-f", str(folder)).stdout.splitlines() == \
        [f"configmap/m{i} unchanged" for i in range(3)]


def test_bad_manifests_are_one_line_errors(sctl, kctl, tmp_path, ns):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    result = sctl("apply", "-f", str(broken))
    assert result.returncode == 1 and result.stderr.startswith(f"error: error parsing {broken}")
    assert len(result.stderr.splitlines()) == 1
    nokind = tmp_path / "nokind.yaml"
    nokind.write_text("metadata: {name: x}\n")
    result = sctl("apply", "-f", str(nokind))
    assert result.stderr == (f'error: error validating "{nokind}": error validating data: '
                             "[apiVersion not set, kind not set]\n")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata":
                                       {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}))
    result = sctl("apply", "-f", str(invalid))
    assert result.returncode == 1
    assert result.stderr.endswith('"p" is invalid: spec.containers[0].image: Required value\n')
    assert result.stderr == kctl("apply", "--validate=false", "-f", str(invalid)).stderr


def test_a_namespace_in_the_file_must_agree_with_dash_n(sctl, tmp_path, ns):
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "x", "namespace": "elsewhere"}}))
    result = sctl("apply", "-f", str(path))
    assert result.returncode == 1
    assert "does not match the namespace" in result.stderr
