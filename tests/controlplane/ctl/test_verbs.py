"""The other verbs, each against the real server: output and exit status as a user sees them."""

import json
import os
import stat

import pytest
import yaml
from clientkit import configmap, deployment, pod


def test_create_generators_print_what_kubectl_prints(sctl, kctl):
    cases = [
        ["create", "deployment", "web", "--image=registry:5000/team/nginx:1.25", "--image=busybox",
         "--replicas=3", "--port=80"],
        ["create", "deployment", "w2", "--image=nginx", "--", "sleep", "10"],
        ["create", "namespace", "team"],
        ["create", "configmap", "c", "--from-literal=a=true", "--from-literal=b=1"],
        ["create", "secret", "generic", "s", "--from-literal=user=admin", "--type=Opaque"],
    ]
    for args in cases:
        for fmt in ("yaml", "json"):
            # Flags go before `--`: after it, everything is the container's command.
            head, sep, command = " ".join(args).partition(" -- ")
            full = [*head.split(), "--dry-run=client", "-o", fmt, "-n", "x"] + \
                (["--", *command.split()] if sep else [])
            ours = sctl(*full, namespaced=False)
            theirs = kctl(*full, namespaced=False)
            assert ours.returncode == 0, ours.stderr
            if fmt == "yaml":
                assert ours.stdout == theirs.stdout, args
            else:   # kubectl keeps Go's struct order in JSON; compare the documents
                assert json.loads(ours.stdout) == json.loads(theirs.stdout), args


def test_create_makes_objects_and_reports_each(client, ns, sctl, tmp_path):
    assert sctl("create", "deployment", "web", "--image=nginx").stdout == \
        "deployment.apps/web created\n"
    assert client.get("apps/v1", "Deployment", "web", ns)["spec"]["template"]["spec"][
        "containers"][0]["image"] == "nginx"
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump(configmap("cfg")))
    assert sctl("create", "-f", str(path)).stdout == "configmap/cfg created\n"
    again = sctl("create", "-f", str(path))
    assert again.returncode == 1
    assert again.stderr == 'Error from server (AlreadyExists): configmaps "cfg" already exists\n'


def test_delete_by_name_label_all_and_file(client, ns, sctl, tmp_path):
    for name in ("a", "b", "c", "d"):
        group = "yes" if name in "ab" else "no"
        client.create({**configmap(name), "metadata": {"name": name, "labels": {"grp": group}}},
                      ns)
    assert sctl("delete", "cm", "a").stdout == 'configmap "a" deleted\n'
    assert sctl("delete", "cm", "-l", "grp=yes").stdout == 'configmap "b" deleted\n'
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(configmap("c")))
    assert sctl("delete", "-f", str(path)).stdout == 'configmap "c" deleted\n'
    assert sctl("delete", "cm", "--all").stdout == 'configmap "d" deleted\n'
    missing = sctl("delete", "cm", "nope")
    assert missing.returncode == 1
    assert missing.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'
    assert sctl("delete", "cm", "nope", "--ignore-not-found").returncode == 0


def test_delete_waits_until_a_finalizer_lets_go(client, ns, sctl):
    import threading
    import time
    obj = configmap("held")
    obj["metadata"]["finalizers"] = ["example.com/hold"]
    client.create(obj, ns)

    def release():
        time.sleep(1.0)
        client.patch("v1", "ConfigMap", "held", {"metadata": {"finalizers": None}}, ns,
                     patch_type="merge")

    threading.Thread(target=release).start()
    started = time.monotonic()
    result = sctl("delete", "cm", "held")
    assert result.returncode == 0 and result.stdout == 'configmap "held" deleted\n'
    assert time.monotonic() - started >= 0.9


def test_scale_and_its_precondition(client, ns, sctl):
    client.create(deployment("web", replicas=1), ns)
    assert sctl("scale", "deploy/web", "--replicas=3").stdout == "deployment.apps/web scaled\n"
    assert client.get("apps/v1", "Deployment", "web", ns)["spec"]["replicas"] == 3
    wrong = sctl("scale", "deploy", "web", "--replicas=5", "--current-replicas=2")
    assert wrong.returncode == 1 and wrong.stderr == "error: Expected replicas to be 2, was 3\n"


def test_label_and_annotate_as_kubectl_words_them(client, ns, sctl, kctl):
    client.create(pod("p"), ns)
    assert sctl("label", "pod", "p", "tier=web").stdout == "pod/p labeled\n"
    ours, theirs = sctl("label", "pod", "p", "tier=db"), kctl("label", "pod", "p", "tier=db")
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr
    assert sctl("label", "pod", "p", "tier=db", "--overwrite").stdout == "pod/p labeled\n"
    assert sctl("label", "pod", "p", "tier-").stdout == "pod/p unlabeled\n"
    assert sctl("annotate", "pod", "p", "note=hello world").stdout == "pod/p annotated\n"
    live = client.get("v1", "Pod", "p", ns)["metadata"]
    assert "tier" not in live["labels"] and live["annotations"]["note"] == "hello world"
    bad = sctl("label", "pod", "p", "bad key=x")
    assert bad.returncode == 1 and bad.stderr.startswith("error: invalid label")


@pytest.fixture
def node(client):
    name = f"node-{os.urandom(3).hex()}"
    client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    yield name
    client.delete("v1", "Node", name)


def test_cordon_uncordon(client, node, sctl):
    assert sctl("cordon", node, namespaced=False).stdout == f"node/{node} cordoned\n"
    assert client.get("v1", "Node", node)["spec"]["unschedulable"] is True
    assert sctl("cordon", node, namespaced=False).stdout == f"node/{node} already cordoned\n"
    assert sctl("uncordon", node, namespaced=False).stdout == f"node/{node} uncordoned\n"
    assert not client.get("v1", "Node", node)["spec"].get("unschedulable")


def test_drain_refuses_unmanaged_pods_then_empties_the_node(client, ns, node, sctl):
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-1",
             "controller": True}
    managed = pod("managed", node=node)
    managed["metadata"]["ownerReferences"] = [owner]
    daemon = pod("daemon", node=node)
    daemon["metadata"]["ownerReferences"] = [{**owner, "kind": "DaemonSet", "name": "ds"}]
    for obj in (managed, daemon, pod("loose", node=node)):
        client.create(obj, ns)
    refused = sctl("drain", node, namespaced=False)
    assert refused.returncode == 1
    assert "cannot delete DaemonSet-managed Pods" in refused.stderr
    assert f"cannot delete Pods that declare no controller (use --force to override): " \
           f"{ns}/loose" in refused.stderr
    # No agent runs these pods, so only an immediate deletion ends them; the server's
    # eviction does not honour gracePeriodSeconds=0 yet (NOTES-client.md), hence delete.
    result = sctl("drain", node, "--ignore-daemonsets", "--force", "--grace-period=0",
                  "--disable-eviction", "--timeout=30s", namespaced=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"node/{node} drained"
    assert f"Warning: ignoring DaemonSet-managed Pods: {ns}/daemon" in result.stderr
    left = [p["metadata"]["name"] for p in client.list("v1", "Pod", ns)["items"]]
    assert left == ["daemon"]
    assert client.get("v1", "Node", node)["spec"]["unschedulable"] is True


def _replicaset(deploy, revision, image):
    rs = deployment(f"web-{revision}", image=image)
    rs["kind"] = "ReplicaSet"
    labels = {"app": "web", "pod-template-hash": f"h{revision}"}
    rs["spec"]["selector"] = {"matchLabels": labels}
    rs["spec"]["template"]["metadata"]["labels"] = labels
    rs["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": str(revision),
                                     "kubernetes.io/change-cause": f"image {image}"}
    rs["metadata"]["ownerReferences"] = [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
        "uid": deploy["metadata"]["uid"], "controller": True}]
    return rs


def test_rollout_history_undo_restart_and_status(client, ns, sctl):
    deploy = client.create(deployment("web", image="nginx:2"), ns)
    client.create(_replicaset(deploy, 1, "nginx:1"), ns)
    client.create(_replicaset(deploy, 2, "nginx:2"), ns)
    history = sctl("rollout", "history", "deployment/web")
    assert history.stdout == ("deployment.apps/web \nREVISION  CHANGE-CAUSE\n"
                              "1         image nginx:1\n2         image nginx:2\n\n")
    assert sctl("rollout", "undo", "deployment/web").stdout == "deployment.apps/web rolled back\n"
    live = client.get("apps/v1", "Deployment", "web", ns)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    assert "pod-template-hash" not in live["spec"]["template"]["metadata"]["labels"]
    assert sctl("rollout", "restart", "deploy/web").stdout == "deployment.apps/web restarted\n"
    live = client.get("apps/v1", "Deployment", "web", ns)
    assert "kubectl.kubernetes.io/restartedAt" in live["spec"]["template"]["metadata"][
        "annotations"]
    live["status"] = {"observedGeneration": live["metadata"]["generation"], "replicas": 1,
                      "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}
    client.replace_status(live)
    status = sctl("rollout", "status", "deploy/web", "--timeout=10s")
    assert status.returncode == 0
    assert status.stdout == 'deployment "web" successfully rolled out\n'


def test_rollout_status_reports_progress_and_times_out(client, ns, sctl):
    live = client.create(deployment("slow", replicas=3), ns)
    live["status"] = {"observedGeneration": live["metadata"]["generation"], "replicas": 3,
                      "updatedReplicas": 1}
    client.replace_status(live)
    result = sctl("rollout", "status", "deploy/slow", "--timeout=2s")
    assert result.returncode == 1
    assert result.stdout == ('Waiting for deployment "slow" rollout to finish: 1 out of 3 new '
                             "replicas have been updated...\n")
    assert result.stderr == "error: timed out waiting for the condition\n"


def test_describe_includes_recent_events(client, ns, sctl, kctl):
    p = client.create(pod("web"), ns)
    client.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
                   "involvedObject": {"kind": "Pod", "name": "web", "namespace": ns,
                                      "uid": p["metadata"]["uid"]},
                   "reason": "Scheduled", "message": "Successfully assigned to node-1",
                   "type": "Normal", "source": {"component": "default-scheduler"},
                   "firstTimestamp": p["metadata"]["creationTimestamp"],
                   "lastTimestamp": p["metadata"]["creationTimestamp"], "count": 1}, ns)
    ours = sctl("describe", "pod", "web")
    assert ours.returncode == 0
    assert ours.stdout.splitlines()[0] == "Name:         web"
    assert "Normal  Scheduled" in ours.stdout and "default-scheduler" in ours.stdout
    theirs = kctl("describe", "pod", "web")
    assert ours.stdout.splitlines()[:8] == theirs.stdout.splitlines()[:8]
    events = sctl("events")
    assert events.stdout.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT",
                                                     "MESSAGE"]
    assert "Pod/web" in events.stdout
    assert "Pod/web" in sctl("events", "--for", "pod/web").stdout
    assert sctl("events", "--for", "pod/other").stdout == ""


def test_version_cluster_info_and_api_resources(server, sctl):
    version = sctl("version", namespaced=False)
    assert version.stdout.splitlines()[0] == "Client Version: v0.1.0"
    assert version.stdout.splitlines()[1].startswith("Server Version: v1.")
    assert f"running at {server.url}" in sctl("cluster-info", namespaced=False).stdout
    resources = sctl("api-resources", namespaced=False).stdout.splitlines()
    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert any(line.split()[:2] == ["deployments", "deploy"] for line in resources)


def test_edit_sends_what_the_editor_changed(client, ns, sctl, tmp_path):
    client.create(configmap("ed", v="1"), ns)
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/v: \"1\"/v: \"2\"/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    result = sctl("edit", "cm", "ed", env={"EDITOR": str(editor)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "configmap/ed edited\n"
    assert client.get("v1", "ConfigMap", "ed", ns)["data"] == {"v": "2"}
    unchanged = sctl("edit", "cm", "ed", env={"EDITOR": "true"})
    assert unchanged.stdout == "Edit cancelled, no changes made.\n"
