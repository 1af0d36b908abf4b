"""Watch over real HTTPS: ordering, resume, selectors, bookmarks, timeouts, 410."""

from __future__ import annotations

import json
import threading
import time

from apiserverkit import pod


def pods(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/pods" + (f"/{name}" if name else "")


class Watcher:
    """Reads a watch stream in a thread; events land in `events`."""

    def __init__(self, api, path: str, **params):
        params.setdefault("timeoutSeconds", "20")
        self.response = api.get(path, params={"watch": "1", **params}, stream=True)
        assert self.response.status_code == 200, self.response.text
        self.events: list[dict] = []
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for line in self.response.iter_lines():
                if line:
                    self.events.append(json.loads(line))
        except Exception:  # the test closed the stream
            pass
        finally:
            self.ended.set()

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events):
                return self.events
            time.sleep(0.02)
        raise AssertionError(f"condition not met; events: {self.summary()}")

    def summary(self):
        return [(e["type"], e["object"].get("metadata", {}).get("name")) for e in self.events]

    def close(self):
        # Shut the socket down under the reading thread, so neither waits for the
        # server's timeout; the server notices the client went away.
        connection = getattr(self.response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            import socket
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.ended.wait(5)
        self.response.close()


def test_watch_from_resource_version_replays_then_follows(api, ns):
    first = api.post(pods(ns), pod("w1")).json()
    rv = first["metadata"]["resourceVersion"]
    api.post(pods(ns), pod("w2"))
    api.delete(pods(ns, "w1"))
    watcher = Watcher(api, pods(ns), resourceVersion=rv)
    try:
        api.post(pods(ns), pod("w3"))
        events = watcher.wait_for(lambda ev: len(ev) >= 3)
        assert watcher.summary() == [("ADDED", "w2"), ("DELETED", "w1"), ("ADDED", "w3")]
        revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert revisions == sorted(revisions) and revisions[0] > int(rv)
    finally:
        watcher.close()


def test_watch_without_resource_version_starts_with_current_state(api, ns):
    api.post(pods(ns), pod("s1"))
    watcher = Watcher(api, pods(ns))
    try:
        watcher.wait_for(lambda ev: ("ADDED", "s1") in [(e["type"], e["object"]["metadata"][
            "name"]) for e in ev])
        obj = api.get(pods(ns, "s1")).json()
        obj["metadata"]["labels"] = {"x": "1"}
        assert api.put(pods(ns, "s1"), obj).status_code == 200
        watcher.wait_for(lambda ev: any(e["type"] == "MODIFIED" for e in ev))
    finally:
        watcher.close()


def test_concurrent_writers_no_gap_no_duplicate(api, ns, apiserver):
    start = api.get(pods(ns)).json()["metadata"]["resourceVersion"]
    watcher = Watcher(api, pods(ns), resourceVersion=start)
    writers = []
    per_writer = 15

    def write(index):
        client = apiserver.client("admin")
        for i in range(per_writer):
            assert client.post(pods(ns), pod(f"c{index}-{i}")).status_code == 201

    try:
        for index in range(4):
            writers.append(threading.Thread(target=write, args=(index,)))
            writers[-1].start()
        for thread in writers:
            thread.join()
        events = watcher.wait_for(lambda ev: len(ev) >= 4 * per_writer)
        time.sleep(0.2)
        names = [e["object"]["metadata"]["name"] for e in events]
        assert len(names) == len(set(names)) == 4 * per_writer
        revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert revisions == sorted(revisions)
        listed = api.get(pods(ns)).json()["items"]
        assert sorted(names) == sorted(i["metadata"]["name"] for i in listed)
    finally:
        watcher.close()


def test_selector_watch_sees_objects_leave_and_enter(api, ns):
    api.post(pods(ns), pod("sel", app="front"))
    start = api.get(pods(ns)).json()["metadata"]["resourceVersion"]
    watcher = Watcher(api, pods(ns), resourceVersion=start, fieldSelector="status.phase=Pending")
    try:
        obj = api.get(pods(ns, "sel")).json()
        obj["status"]["phase"] = "Running"
        assert api.put(pods(ns, "sel") + "/status", obj).status_code == 200
        watcher.wait_for(lambda ev: len(ev) >= 1)
        assert watcher.summary() == [("DELETED", "sel")]
        obj = api.get(pods(ns, "sel")).json()
        obj["status"]["phase"] = "Pending"
        assert api.put(pods(ns, "sel") + "/status", obj).status_code == 200
        watcher.wait_for(lambda ev: len(ev) >= 2)
        assert watcher.summary()[1] == ("ADDED", "sel")
    finally:
        watcher.close()


def test_watch_ends_at_timeout_seconds(api, ns):
    began = time.monotonic()
    watcher = Watcher(api, pods(ns), timeoutSeconds="1")
    assert watcher.ended.wait(10)
    assert 0.9 <= time.monotonic() - began < 8


def test_watch_from_compacted_revision_gets_410(tmp_path):
    from apiserverkit import ApiServer

    data = tmp_path / "data"
    data.mkdir()
    # A store that keeps almost no history, compacting every 0.1 s.
    store = f"sqlite:///{data / 'state.db'}?max_revisions=2&compact_interval=0.1"
    server = ApiServer(data, store)
    server.start()
    api = server.admin
    old = api.post(pods("default"), pod("old")).json()["metadata"]["resourceVersion"]
    for i in range(5):
        api.post(pods("default"), pod(f"later{i}"))
    time.sleep(0.5)
    # A restarted server's watch cache starts now: the old revision is older than
    # its ring, so the watch goes to the store, which has compacted it away.
    server.stop()
    server.start()
    try:
        response = server.admin.get(pods("default"), params={
            "watch": "1", "resourceVersion": old, "timeoutSeconds": "5"})
        assert response.status_code == 200
        events = [json.loads(line) for line in response.text.splitlines() if line]
        assert events[-1]["type"] == "ERROR", events
        assert events[-1]["object"]["code"] == 410
        assert events[-1]["object"]["reason"] == "Expired"
        listed = server.admin.get(pods("default"), params={
            "resourceVersion": old, "resourceVersionMatch": "Exact"})
        assert listed.status_code == 410
    finally:
        server.stop()


def test_bookmarks_are_sent_when_allowed(tmp_path):
    from apiserverkit import ApiServer

    server = ApiServer(tmp_path / "data", extra_args=["--bookmark-interval", "0.5"])
    server.start()
    try:
        api = server.admin
        watcher = Watcher(api, pods("default"), resourceVersion="1",
                          allowWatchBookmarks="true", timeoutSeconds="5")
        watcher.wait_for(lambda ev: any(e["type"] == "BOOKMARK" for e in ev))
        bookmark = next(e for e in watcher.events if e["type"] == "BOOKMARK")
        assert bookmark["object"]["kind"] == "Pod"
        assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= 1
        watcher.close()
    finally:
        server.stop()


def test_slow_watcher_gets_every_event_in_order(api, ns, apiserver):
    """A client that stops reading fills its socket: the server stops writing to it
    (the dispatcher hands the stream back to the watch's own thread) and, once the
    client reads again, delivers everything, in order."""
    start = api.get(pods(ns)).json()["metadata"]["resourceVersion"]
    response = api.get(pods(ns), params={"watch": "1", "resourceVersion": start,
                                         "timeoutSeconds": "60"}, stream=True)
    assert response.status_code == 200
    writer = apiserver.client("admin")
    count = 60
    for i in range(count):                      # ~6 MB: far more than socket buffers
        body = pod(f"big{i}")
        body["metadata"]["annotations"] = {"blob": "x" * 100_000}
        assert writer.post(pods(ns), body).status_code == 201
    time.sleep(0.5)
    seen = []
    try:
        for line in response.iter_lines():
            if line:
                event = json.loads(line)
                seen.append((event["type"], event["object"]["metadata"]["name"]))
            if len(seen) == count:
                break
    finally:
        response.close()
    assert seen == [("ADDED", f"big{i}") for i in range(count)]
