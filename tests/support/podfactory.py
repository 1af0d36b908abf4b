"""Builders for the agent's pure tests: pods as the API serves them, and observations."""

from supernetes.agent.observed import RUNNING, ContainerRecord, PodObserved, spec_hash

NOW = 1_000_000.0
APP = {"name": "app", "image": "busybox"}
SIDE = {"name": "side", "image": "busybox"}
INIT1 = {"name": "init-1", "image": "busybox"}
INIT2 = {"name": "init-2", "image": "busybox"}


def pod(containers=(APP,), init=(), policy="Always", **spec):
    return {"metadata": {"name": "p", "uid": "u1"},
            "spec": {"containers": list(containers), "initContainers": list(init),
                     "restartPolicy": policy, **spec}}


def rec(name, attempt=0, state=RUNNING, exit_code=None, started=NOW - 100, finished=None,
        init=False, streak=0, container=None, reason=None):
    container = container or {"name": name, "image": "busybox"}
    return ContainerRecord(id=f"{name}-{attempt}", name=name, attempt=attempt, state=state,
                           init=init, exit_code=exit_code, reason=reason, started_at=started,
                           finished_at=finished, spec_hash=spec_hash(container),
                           restart_streak=streak)


def observed(*records, sandbox=True, sandbox_at=NOW - 1000):
    return PodObserved(sandbox_ready=sandbox, sandbox_created_at=sandbox_at if sandbox else None,
                       records=tuple(records))
