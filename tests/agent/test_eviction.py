"""Local storage eviction: usage measured like `du`, limits read like the kubelet (no root)."""

import os
import subprocess

from supernetes.agent import eviction

MIB = 2**20


def pod_with(volumes=(), containers=None, phase="Running", **status):
    containers = containers or [{"name": "app", "image": "busybox"}]
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"},
            "spec": {"containers": containers, "volumes": list(volumes)},
            "status": {"phase": phase, **status}}


def write(path, size: int) -> None:
    with open(path, "wb") as f:
        f.write(b"x" * size)
        os.fsync(f.fileno())


def test_disk_usage_counts_allocated_blocks_below_a_tree_like_du(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    write(tmp_path / "a" / "one", MIB)
    write(tmp_path / "a" / "b" / "two", 2 * MIB)
    used = eviction.disk_usage(str(tmp_path))
    du = int(subprocess.run(["du", "-s", "--block-size=1", str(tmp_path)], check=True,
                            capture_output=True, text=True).stdout.split()[0])
    assert used == du
    assert 3 * MIB <= used < 3 * MIB + 64 * 1024


def test_disk_usage_ignores_holes_and_counts_a_hard_linked_file_once(tmp_path):
    with open(tmp_path / "sparse", "wb") as f:
        f.truncate(100 * MIB)
    write(tmp_path / "data", MIB)
    os.link(tmp_path / "data", tmp_path / "again")
    os.symlink("/usr", tmp_path / "link")  # not followed
    assert MIB <= eviction.disk_usage(str(tmp_path)) < 2 * MIB


def test_disk_usage_of_a_missing_volume_is_zero(tmp_path):
    assert eviction.disk_usage(str(tmp_path / "gone")) == 0


def test_only_disk_backed_emptydirs_with_a_positive_limit_are_watched():
    pod = pod_with([{"name": "a", "emptyDir": {"sizeLimit": "1Mi"}},
                    {"name": "b", "emptyDir": {}},
                    {"name": "c", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                    {"name": "d", "emptyDir": {"sizeLimit": "0"}},
                    {"name": "e", "configMap": {"name": "x"}}])
    assert eviction.limited_empty_dirs(pod) == [("a", "1Mi")]
    assert eviction.needs_watching(pod)
    assert not eviction.needs_watching(pod_with([{"name": "b", "emptyDir": {}}]))


def test_an_emptydir_over_its_limit_gives_the_kubelets_eviction_message(tmp_path):
    pod = pod_with([{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}},
                    {"name": "small", "emptyDir": {"sizeLimit": "1Mi"}}])
    for name in ("scratch", "small"):
        (tmp_path / name).mkdir()
    write(tmp_path / "small" / "f", 100 * 1024)

    def check():
        return eviction.check(pod, lambda name: str(tmp_path / name), lambda name: 0)

    assert check() is None
    write(tmp_path / "scratch" / "f", 2 * MIB)
    assert check() == 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'


def limited(name: str, limit: str | None) -> dict:
    container = {"name": name, "image": "busybox"}
    if limit:
        container["resources"] = {"limits": {"ephemeral-storage": limit}}
    return container


def test_the_pod_limit_is_the_sum_of_its_containers_or_the_largest_init_container():
    assert eviction.pod_storage_limit(pod_with(containers=[limited("a", None)])) is None
    two = pod_with(containers=[limited("a", "1Mi"), limited("b", "10Mi"), limited("c", None)])
    assert eviction.pod_storage_limit(two) == "11Mi"
    assert eviction.pod_storage_limit(pod_with(containers=[limited("a", "1M"),
                                                           limited("b", "1M")])) == "2M"
    with_init = two | {"spec": dict(two["spec"], initContainers=[limited("i", "64Mi")])}
    assert eviction.pod_storage_limit(with_init) == "64Mi"
    assert eviction.needs_watching(two) and not eviction.needs_watching(pod_with())


def test_one_container_over_its_limit_gets_the_kubelets_pod_message():
    pod = pod_with(containers=[limited("app", "10Mi")])
    usage = {"app": 10 * MIB}
    assert eviction.check(pod, str, usage.__getitem__) is None
    usage["app"] += 1
    assert eviction.check(pod, str, usage.__getitem__) == \
        "Pod ephemeral local storage usage exceeds the total limit of containers 10Mi."


def test_a_container_over_its_own_limit_within_the_pods_is_named():
    pod = pod_with(containers=[limited("app", "1Mi"), limited("side", "10Mi")])
    usage = {"app": 2 * MIB, "side": 0}
    assert eviction.check(pod, str, usage.__getitem__) == \
        'Container app exceeded its local ephemeral storage limit "1Mi".'


def test_the_pods_emptydirs_count_against_its_containers_limits(tmp_path):
    pod = pod_with([{"name": "cache", "emptyDir": {}},
                    {"name": "ram", "emptyDir": {"medium": "Memory"}}],
                   containers=[limited("app", "2Mi")])
    (tmp_path / "cache").mkdir()
    (tmp_path / "ram").mkdir()
    write(tmp_path / "ram" / "f", 4 * MIB)    # a tmpfs in real life: memory, not disk

    def check():
        return eviction.check(pod, lambda name: str(tmp_path / name), lambda name: MIB)

    write(tmp_path / "cache" / "f", MIB // 2)
    assert check() is None
    write(tmp_path / "cache" / "f", MIB + MIB // 2)
    assert check() == \
        "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi."


def test_an_eviction_recorded_in_the_api_is_remembered():
    message = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    assert eviction.evicted_message(pod_with(phase="Failed", reason="Evicted",
                                             message=message)) == message
    assert eviction.evicted_message(pod_with(phase="Failed", reason="DeadlineExceeded")) is None
    assert eviction.evicted_message(pod_with()) is None
