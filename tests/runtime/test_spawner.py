"""The warm path: a spawner forks containers for a threaded caller, same semantics."""

from __future__ import annotations

import os
import select
import threading

import pytest

from supernetes.runtime import stdio
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


def test_a_streamed_exec_reports_its_start_then_its_exit(spawner, bundle):
    bundle.args("sleep", "30")
    spawner.create("c1", bundle.path)
    spawner.start("c1")
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        stream = spawner.exec_stream("c1", ["sh", "-c", "read line; echo got $line; exit 5"],
                                     stdio=Stdio(stdin=stdin_r, stdout=out_w, stderr=out_w))
    finally:
        os.close(stdin_r)
        os.close(out_w)
    assert stream.pid > 0 and stream.console is None
    # Running: the exit is not readable yet, and the process waits for its stdin.
    assert select.select([stream], [], [], 0.2)[0] == []
    os.write(stdin_w, b"hello\n")
    os.close(stdin_w)
    assert select.select([stream], [], [], 20)[0] == [stream]
    assert stream.exit_code() == 5
    with os.fdopen(out_r, "rb") as f:
        assert f.read() == b"got hello\n"


def test_a_streamed_exec_with_a_tty_hands_back_the_terminal(spawner, bundle):
    bundle.args("sleep", "30")
    spawner.create("c1", bundle.path)
    spawner.start("c1")
    stream = spawner.exec_stream("c1", ["sh", "-c", "tty; stty size; exit 2"], tty=True)
    assert stream.console is not None
    output = b""
    try:
        stdio.set_winsize(stream.console, 33, 111)
        while True:
            try:
                chunk = os.read(stream.console, 4096)
            except OSError:  # EIO: the terminal's last user has gone
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(stream.console)
    assert stream.exit_code() == 2
    assert b"/dev/pts/" in output


def test_a_streamed_exec_in_a_missing_container_fails_with_its_type(spawner):
    with pytest.raises(ContainerNotFound):
        spawner.exec_stream("ghost", ["true"])
