"""The agent's two runtime drivers behind one interface, on real containers.

superc runs through its warm spawner; runc through its CLI and the agent's shim.
Each must give the agent the same things: status and annotations from `list()`,
the exit code (128+signal), OOM kills, a CRI log the monitor/shim writes, exec,
cgroup stats, and containers that outlive the driver object (the agent restarts).
"""

import os
import signal
import time
import uuid

import pytest

from supernetes.agent import cgroups
from supernetes.agent.runtimes import open_runtime
from supernetes.agent.runtimes.base import ContainerNotFound
from supernetes.rootfs import bundle as bundles
from supernetes.rootfs.images import ImageService

pytestmark = pytest.mark.root


@pytest.fixture(params=["superc", "runc"])
def env(request, tmp_path, busybox_layout):
    images = ImageService(str(tmp_path / "images"), progress=False)
    images.import_(busybox_layout)
    parent = f"superlet-test-{uuid.uuid4().hex[:6]}"
    made = []

    def bundle(name: str, command: list[str], memory: int | None = None) -> str:
        directory = tmp_path / "bundles" / name
        directory.mkdir(parents=True)
        image = images.image("busybox")
        rootfs = images.prepare_rootfs(name, image.name, str(directory / "rootfs"))
        spec = bundles.generate(image.config, rootfs, bundles.Overrides(command=command),
                                root_path="rootfs")
        spec["linux"]["cgroupsPath"] = f"{parent}/{name}"
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"]
                                       if n["type"] != "network"]
        if memory:
            spec["linux"]["resources"]["memory"] = {"limit": memory}
        spec["annotations"]["io.supernetes.pod.uid"] = "uid-1"
        bundles.write(str(directory), spec)
        made.append(name)
        return str(directory)

    def connect():
        return open_runtime(request.param, root=str(tmp_path / "state"),
                            socket_path=str(tmp_path / "spawner.sock"))

    runtime = connect()
    runtime.bundle = bundle
    runtime.logs = tmp_path / "logs"
    runtime.connect = connect
    yield runtime
    runtime.close()
    cleanup = connect()  # the test may have closed its own
    for name in made:
        try:
            cleanup.delete(name, force=True)
        except ContainerNotFound:
            pass
        images.release_rootfs(name)
    cleanup.close()
    cgroups.remove_all(parent)


def create(rt, name, command, **kw):
    log = str(rt.logs / f"{name}.log")
    rt.create(name, rt.bundle(name, command, **kw), log_path=log, log_max_size=1 << 20,
              log_max_files=2)
    return log


def wait_exited(rt, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = rt.info(name)
        if info.status == "exited":
            return info
        time.sleep(0.05)
    raise AssertionError(f"{name} did not exit")


def test_lifecycle_status_annotations_exit_code_and_cri_log(env):
    log = create(env, "c1", ["sh", "-c", "echo out; echo err >&2; exit 7"])
    info = env.info("c1")
    assert info.status == "created" and info.annotations["io.supernetes.pod.uid"] == "uid-1"
    env.start("c1")
    done = wait_exited(env, "c1")
    assert (done.exit_code, done.oom_killed, done.unknown_exit) == (7, False, False)
    assert done.finished_at and done.finished_at >= done.created_at
    with open(log) as f:
        entries = [line.split(" ", 3)[1:] for line in f.read().splitlines()]
    assert entries == [["stdout", "F", "out"], ["stderr", "F", "err"]]
    assert [i.id for i in env.list()] == ["c1"]
    env.delete("c1")
    with pytest.raises(ContainerNotFound):
        env.info("c1")


def test_exec_stats_and_a_signal_to_the_init(env):
    create(env, "c2", ["sh", "-c", "trap 'exit 0' USR1; while true; do sleep 0.1; done"])
    env.start("c2")
    read, write = os.pipe()
    assert env.exec("c2", ["sh", "-c", "echo inside $$; exit 3"], stdout=write) == 3
    os.close(write)
    assert os.read(read, 100).startswith(b"inside ")
    os.close(read)
    stats = env.stats("c2")
    assert stats.memory_usage > 0 and stats.pids_current >= 1
    env.kill("c2", signal.SIGKILL)
    assert wait_exited(env, "c2").exit_code == 137


def test_an_oom_kill_is_reported_as_such(env):
    create(env, "hog", ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=100M count=1"],
           memory=16 * 2**20)
    env.start("hog")
    info = wait_exited(env, "hog")
    assert (info.exit_code, info.oom_killed) == (137, True)


def test_containers_outlive_the_driver_and_a_new_one_sees_them(env):
    create(env, "long", ["sleep", "60"])
    env.start("long")
    pid = env.info("long").pid
    env.close()  # the agent stops: superc's spawner goes, runc's shims stay
    time.sleep(0.3)
    assert os.path.exists(f"/proc/{pid}")
    again = env.connect()
    try:
        assert again.info("long").status == "running"
        again.kill("long", signal.SIGTERM)  # sleep as PID 1 ignores TERM: nothing happens
        time.sleep(0.3)
        assert again.info("long").status == "running"
        again.delete("long", force=True)
    finally:
        again.close()


def test_an_exec_past_its_timeout_is_killed_and_reports_137(env):
    create(env, "c3", ["sleep", "60"])
    env.start("c3")
    started = time.monotonic()
    assert env.exec("c3", ["sleep", "30"], timeout=0.5) == 137
    assert time.monotonic() - started < 5
    assert env.exec("c3", ["true"], timeout=5) == 0
