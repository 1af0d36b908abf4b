"""From what the runtime reports to what the pure functions read: ContainerRecords."""

from supernetes.agent.containers import ContainerIndex, container_id, record_of
from supernetes.agent.observed import CREATED, EXITED, RUNNING
from supernetes.agent.runtimes.base import ContainerInfo

NOTES = {"io.supernetes.pod.uid": "uid-1", "io.supernetes.container.name": "app",
         "io.supernetes.container.attempt": "3", "io.supernetes.container.restart-streak": "2",
         "io.supernetes.container.spec-hash": "abc", "io.supernetes.container.init": "false",
         "io.supernetes.container.image-id": "sha256:1"}


def info(status="running", bundle="", **kw):
    return ContainerInfo(id="c1", status=status, bundle=bundle, pid=7, annotations=dict(NOTES),
                         created_at=100.0, **kw)


def test_annotations_say_which_attempt_of_which_container_of_which_pod():
    record = record_of(info())
    assert (record.name, record.attempt, record.restart_streak, record.state) == \
        ("app", 3, 2, RUNNING)
    assert (record.spec_hash, record.image_id, record.init) == ("abc", "sha256:1", False)


def test_a_container_without_the_agents_annotations_is_not_the_agents():
    assert record_of(ContainerInfo(id="x", status="running", annotations={})) is None


def test_the_start_time_and_termination_message_come_from_the_bundle(tmp_path):
    (tmp_path / "started").write_text("123.5")
    (tmp_path / "termination-log").write_text("disk full\n")
    record = record_of(info("exited", str(tmp_path), exit_code=1, finished_at=130.0))
    assert (record.started_at, record.finished_at) == (123.5, 130.0)
    assert (record.state, record.exit_code, record.message) == (EXITED, 1, "disk full")


def test_a_running_container_whose_start_was_not_written_down_started_when_created():
    assert record_of(info()).started_at == 100.0
    assert record_of(info("created")).state == CREATED


def test_exit_reasons_oomkilled_and_unknown():
    assert record_of(info("exited", exit_code=137, oom_killed=True)).reason == "OOMKilled"
    lost = record_of(info("exited", unknown_exit=True))
    assert (lost.exit_code, lost.reason) == (137, "ContainerStatusUnknown")


def test_container_ids_are_readable_unique_per_attempt_and_valid_for_runtimes():
    pod = {"metadata": {"name": "web-" + "x" * 80, "uid": "5f1c2d3e-aaaa"}}
    ids = {container_id(pod, "app", n) for n in range(3)}
    assert len(ids) == 3
    assert all(len(i) <= 128 and i.replace("_", "").replace("-", "").isalnum() for i in ids)


def test_the_index_finds_containers_by_pod_and_tells_what_changed():
    index = ContainerIndex()
    record, changed = index.put(info())
    assert changed and index.records("uid-1") == (record,)
    assert index.put(info()) == (record, False)
    _, changed = index.put(info("exited", exit_code=0, finished_at=200.0))
    assert changed and index.pod_uids() == {"uid-1"}
    index.forget("c1")
    assert index.records("uid-1") == () and index.pod_uids() == set()
