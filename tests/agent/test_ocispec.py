"""From a pod's container to an OCI config, the way kubelet + containerd map it."""

import json
import shutil
import subprocess

import pytest

from supernetes.agent.ocispec import (
    ContainerSpecError,
    capabilities,
    container_config,
    process_args,
)

IMAGE = {"Entrypoint": ["/bin/entry"], "Cmd": ["serve", "--port=80"],
         "Env": ["PATH=/usr/bin:/bin", "MODE=image"], "WorkingDir": "/srv", "User": "1000:1000"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """runc's own default config (`runc spec`), the peer's view of sane defaults."""
    if not shutil.which("runc"):
        pytest.skip("needs runc (apt package runc; `make install`)")
    directory = tmp_path_factory.mktemp("runc-spec")
    subprocess.run(["runc", "spec"], cwd=directory, check=True)
    return json.loads((directory / "config.json").read_text())


def pod(container, **spec):
    return {"metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-1"},
            "spec": {"containers": [container], **spec}}


def build(base, container, p=None, **overrides):
    p = p or pod(container)
    args = dict(base=base, image_config=IMAGE, rootfs="/var/lib/x/rootfs",
                env=[("MODE", "pod"), ("NAME", "web")],
                namespaces={"net": "/run/p/ns/net", "ipc": "/run/p/ns/ipc", "uts": "/run/p/ns/uts"},
                volume_paths={"data": "/var/lib/p/volumes/empty-dir/data"},
                etc_files={"/etc/hosts": "/var/lib/p/etc-hosts",
                           "/etc/resolv.conf": "/var/lib/p/resolv.conf"},
                shm_path="/run/p/shm", termination_log="/var/lib/p/termination-log",
                attempt=2, restart_streak=1, cgroups_path="supernetes/poduid-1/app")
    args.update(overrides)
    return container_config(p, container, **args)


@pytest.mark.parametrize(("container", "expected"), [
    ({}, ["/bin/entry", "serve", "--port=80"]),
    ({"args": ["x"]}, ["/bin/entry", "x"]),
    ({"command": ["/bin/sh"]}, ["/bin/sh"]),
    ({"command": ["/bin/sh"], "args": ["-c", "echo $(NAME)"]}, ["/bin/sh", "-c", "echo web"]),
])
def test_command_and_args_combine_with_the_image_as_kubernetes_documents(container, expected):
    assert process_args(container, IMAGE, [("NAME", "web")]) == expected


def test_no_command_anywhere_is_an_error():
    with pytest.raises(ContainerSpecError, match="no command specified"):
        process_args({}, {}, [])


def test_process_env_cwd_user_and_terminal(base):
    config = build(base, {"name": "app", "image": "img", "tty": True})
    process = config["process"]
    assert process["env"] == ["PATH=/usr/bin:/bin", "MODE=pod", "NAME=web"]
    assert process["cwd"] == "/srv"
    assert process["user"] == {"uid": 1000, "gid": 1000}
    assert process["terminal"] is True
    assert config["root"] == {"path": "/var/lib/x/rootfs", "readonly": False}
    assert "hostname" not in config


def test_security_context_user_groups_and_no_new_privileges(base):
    container = {"name": "app", "securityContext": {
        "runAsUser": 7, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}}
    p = pod(container, securityContext={"runAsUser": 5, "runAsGroup": 9,
                                        "supplementalGroups": [100], "fsGroup": 2000})
    config = build(base, container, p)
    assert config["process"]["user"] == {"uid": 7, "gid": 9, "additionalGids": [100, 2000]}
    assert config["process"]["noNewPrivileges"] is True
    assert config["root"]["readonly"] is True


def test_an_image_user_given_by_name_needs_run_as_user(base):
    with pytest.raises(ContainerSpecError, match="is a name"):
        build(base, {"name": "app"}, image_config={**IMAGE, "User": "nobody"})


def test_capabilities_default_add_drop_and_privileged():
    assert "CAP_NET_ADMIN" not in capabilities({})
    assert "CAP_CHOWN" in capabilities({})
    caps = capabilities({"capabilities": {"add": ["NET_ADMIN"], "drop": ["CHOWN"]}})
    assert "CAP_NET_ADMIN" in caps and "CAP_CHOWN" not in caps
    assert capabilities({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}) == \
        ["CAP_NET_BIND_SERVICE"]
    assert "CAP_SYS_ADMIN" in capabilities({"privileged": True})


def test_pod_namespaces_are_joined_by_path_and_the_rest_are_new(base):
    config = build(base, {"name": "app"})
    assert config["linux"]["namespaces"] == [
        {"type": "pid"}, {"type": "mount"}, {"type": "cgroup"},
        {"type": "network", "path": "/run/p/ns/net"},
        {"type": "ipc", "path": "/run/p/ns/ipc"},
        {"type": "uts", "path": "/run/p/ns/uts"},
    ]
    host_net = build(base, {"name": "app"}, namespaces={"net": None, "ipc": "/i", "uts": "/u"})
    assert "network" not in [n["type"] for n in host_net["linux"]["namespaces"]]


def test_volume_mounts_become_bind_mounts_with_options(base):
    container = {"name": "app", "volumeMounts": [
        {"name": "data", "mountPath": "/data", "readOnly": True},
        {"name": "data", "mountPath": "/one", "subPath": "sub/dir",
         "mountPropagation": "HostToContainer"}]}
    mounts = {m["destination"]: m for m in build(base, container)["mounts"]}
    assert mounts["/data"]["source"] == "/var/lib/p/volumes/empty-dir/data"
    assert mounts["/data"]["options"] == ["rbind", "rprivate", "ro"]
    assert mounts["/one"]["source"] == "/var/lib/p/volumes/empty-dir/data/sub/dir"
    assert mounts["/one"]["options"] == ["rbind", "rslave", "rw"]
    assert mounts["/dev/shm"]["source"] == "/run/p/shm"
    assert mounts["/etc/hosts"]["source"] == "/var/lib/p/etc-hosts"
    assert mounts["/dev/termination-log"]["source"] == "/var/lib/p/termination-log"
    assert mounts["/proc"]["type"] == "proc"  # the runtime's defaults stay


@pytest.mark.parametrize(("mount", "message"), [
    ({"name": "nope", "mountPath": "/x"}, 'no volume of that name'),
    ({"name": "data", "mountPath": "/x", "subPath": "../../etc"}, "must be relative"),
])
def test_bad_volume_mounts_are_refused(base, mount, message):
    with pytest.raises(ContainerSpecError, match=message):
        build(base, {"name": "app", "volumeMounts": [mount]})


def test_annotations_identify_the_container_for_a_restarted_agent(base):
    annotations = build(base, {"name": "app"})["annotations"]
    assert annotations["io.supernetes.pod.uid"] == "uid-1"
    assert annotations["io.supernetes.container.name"] == "app"
    assert annotations["io.supernetes.container.attempt"] == "2"
    assert annotations["io.supernetes.container.restart-streak"] == "1"
    assert annotations["io.supernetes.container.init"] == "false"


def test_privileged_clears_masked_and_readonly_paths(base):
    config = build(base, {"name": "app", "securityContext": {"privileged": True}})
    assert config["linux"]["maskedPaths"] == [] and config["linux"]["readonlyPaths"] == []
    assert base["linux"]["maskedPaths"]  # the base itself is not modified
