"""The warm path: a spawner forks containers for a threaded caller, same semantics."""

from __future__ import annotations

import os
import threading

import pytest

from supernetes.runtime.errors import ContainerExists, ContainerNotFound, CreateError
from supernetes.runtime.spawner import SpawnerClient
from supernetes.runtime.stdio import Stdio

pytestmark = pytest.mark.root


@pytest.fixture
def spawner(tmp_path, state_root):
    client = SpawnerClient.launch(str(tmp_path / "spawner.sock"), root=state_root)
    yield client
    for state in client.list():
        client.delete(state["id"], force=True)
    client.close()


def test_run_returns_the_exit_code_and_deletes(spawner, bundle):
    bundle.sh("exit 7")
    assert spawner.run("c1", bundle.path) == 7
    assert spawner.list() == []


def test_stdio_descriptors_travel_to_the_container(spawner, bundle):
    r, w = os.pipe()
    bundle.sh("echo hello from $(hostname)")
    try:
        assert spawner.run("c1", bundle.path, stdio=Stdio(stdout=w)) == 0
    finally:
        os.close(w)
    with os.fdopen(r) as f:
        assert f.read() == "hello from superc-test\n"


def test_create_start_exec_and_delete(spawner, bundle, tmp_path):
    bundle.args("sleep", "30")
    state = spawner.create("c1", bundle.path)
    assert state["status"] == "created"
    spawner.start("c1")
    assert spawner.state("c1")["status"] == "running"
    log = tmp_path / "exec.log"
    code = spawner.exec("c1", {"args": ["sh", "-c", "echo $$; exit 4"], "cwd": "/"},
                        stdio=Stdio(stdout=str(log)))
    assert code == 4
    assert int(log.read_text()) > 1  # a process of the container's PID namespace
    assert spawner.delete("c1", force=True) == []
    assert spawner.list() == []


def test_errors_keep_their_type_across_the_socket(spawner, bundle):
    bundle.args("sleep", "30")
    spawner.create("c1", bundle.path)
    with pytest.raises(ContainerExists, match="already exists"):
        spawner.create("c1", bundle.path)
    with pytest.raises(ContainerNotFound):
        spawner.start("ghost")
    bundle.args("no-such-program")
    with pytest.raises(CreateError, match="executable file not found"):
        spawner.create("c2", bundle.path)


def test_threads_may_share_one_spawner(spawner, bundle):
    codes: dict[int, int] = {}

    def worker(n: int) -> None:
        codes[n] = spawner.run(f"t{n}", bundle.path)

    bundle.sh("exit 3")
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == {0: 3, 1: 3, 2: 3, 3: 3}


def test_containers_outlive_the_spawner(tmp_path, state_root, bundle, runtime):
    client = SpawnerClient.launch(str(tmp_path / "spawner.sock"), root=state_root)
    bundle.args("sleep", "30")
    client.create("c1", bundle.path)
    client.start("c1")
    client.close()
    # A restarted agent finds the container through the library, still running.
    assert runtime.state("c1")["status"] == "running"
    runtime.kill("c1", "KILL")
    assert runtime.wait("c1", timeout=20)["exitCode"] == 137
    runtime.delete("c1")


def test_exec_with_a_terminal_returns_the_pty_master(spawner, bundle):
    bundle.args("sleep", "30")
    spawner.create("c1", bundle.path)
    spawner.start("c1")
    reply = spawner.exec("c1", {"args": ["sh", "-c", "tty; read line; echo got $line; exit 6"],
                                "cwd": "/", "terminal": True}, wait=False, console="return")
    master = reply["console"]
    try:
        os.write(master, b"hello\n")
        seen = b""
        while b"got hello" not in seen:
            seen += os.read(master, 1024)
        # Collected before the master closes (which would hang up the terminal).
        assert spawner.wait_exec(reply["result"]["waiter"]) == 6
    finally:
        os.close(master)
    assert b"/dev/pts/0" in seen
