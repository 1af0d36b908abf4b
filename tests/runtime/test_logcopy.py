"""The monitor as conmon: `Stdio(log=...)` puts the container's output in a CRI log file,
through the library (the CLI's path) and through the spawner (the agent's warm path)."""

from __future__ import annotations

import os

import pytest

from supernetes.runtime.spawner import SpawnerClient
from supernetes.runtime.stdio import Stdio

pytestmark = pytest.mark.root


@pytest.fixture(params=["library", "spawner"])
def caller(request, tmp_path, state_root, runtime):
    if request.param == "library":
        yield runtime
        return
    client = SpawnerClient.launch(str(tmp_path / "spawner.sock"), root=state_root)
    yield client
    client.close()


def entries(path) -> list[list[str]]:
    with open(path) as f:
        return [line.rstrip("\n").split(" ", 3)[1:] for line in f]


def test_output_becomes_cri_entries_written_before_the_exit_record(caller, bundle, tmp_path):
    log = tmp_path / "logs" / "0.log"
    log.parent.mkdir()
    bundle.sh("echo one; echo two >&2; printf 'x%.0s' $(seq 20000); echo; printf tail; exit 3")
    caller.create("c1", bundle.path, stdio=Stdio(stdin=os.devnull, log=str(log),
                                                 log_max_size=1 << 20, log_max_files=2))
    caller.start("c1")
    record = caller.wait("c1", timeout=20)
    assert record["exitCode"] == 3
    got = entries(log)  # complete as soon as the exit record exists
    assert got[0] == ["stdout", "F", "one"] and got[1] == ["stderr", "F", "two"]
    assert [tag for _, tag, _ in got[2:-1]] == ["P", "F"]  # 20000 bytes: split at 16 KiB
    assert len("".join(text for _, _, text in got[2:-1])) == 20000
    assert got[-1] == ["stdout", "P", "tail"]  # no newline at the end: partial
    caller.delete("c1")


def test_the_log_rotates_by_size_keeping_the_newest_files(caller, bundle, tmp_path):
    log = tmp_path / "rot.log"
    bundle.sh("i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done")
    caller.create("c2", bundle.path, stdio=Stdio(stdin=os.devnull, log=str(log),
                                                 log_max_size=16384, log_max_files=3))
    caller.start("c2")
    caller.wait("c2", timeout=20)
    assert sorted(p.name for p in tmp_path.glob("rot.log*")) == ["rot.log", "rot.log.1",
                                                                   "rot.log.2"]
    assert all(os.path.getsize(p) < 16384 + 100 for p in tmp_path.glob("rot.log*"))
    assert entries(log)[-1][2] == "line-2999"
    caller.delete("c2")
