"""The agent serves container logs as the kubelet does: tail, since, timestamps, follow,
previous, limits; and refuses callers it does not know."""

from __future__ import annotations

import re

import pytest
import requests

pytestmark = pytest.mark.root


def _logs(node, path, **params):
    reply = node.admin_get(path, params=params)
    assert reply.status_code == 200, reply.text
    return reply.text


def _until_logged(node, pod, text):
    path = f"/containerLogs/{pod['metadata']['namespace']}/{pod['metadata']['name']}/app"
    return node.wait_for(lambda: text in (r := node.admin_get(path)).text and r)


def test_the_log_is_what_the_container_wrote(node):
    pod = node.add_pod("ns1", "web", ["app"])
    node.run(pod, "app", ["sh", "-c", "echo one; echo two; echo oops >&2; sleep 60"])
    _until_logged(node, pod, "oops")
    lines = _logs(node, "/containerLogs/ns1/web/app").splitlines()
    assert sorted(lines) == ["one", "oops", "two"]
    assert lines.index("one") < lines.index("two")


def test_tail_since_limit_and_timestamps(node):
    pod = node.add_pod("ns1", "counter", ["app"])
    node.run(pod, "app", ["sh", "-c", "seq 1 10; sleep 60"])
    _until_logged(node, pod, "10\n")
    path = "/containerLogs/ns1/counter/app"
    assert _logs(node, path, tailLines=3) == "8\n9\n10\n"
    assert _logs(node, path, tailLines=0) == ""
    assert _logs(node, path, limitBytes=5) == "1\n2\n3"
    assert _logs(node, path, sinceSeconds=3600).startswith("1\n2\n")
    assert _logs(node, path, sinceTime="2999-01-01T00:00:00Z") == ""
    stamped = _logs(node, path, timestamps="true", tailLines=2).splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["9", "10"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", line.split(" ")[0])
               for line in stamped)


def test_follow_streams_while_the_container_runs_and_ends_with_it(node):
    pod = node.add_pod("ns1", "ticker", ["app"])
    # The second line waits for the test: the first must arrive while the container runs.
    cid = node.run(pod, "app", ["sh", "-c", "mkfifo /dev/shm/go; echo tick 1; "
                                            "read x < /dev/shm/go; echo tick 2"])
    with node.session(node.tls.admin_token).get(node.base_url + "/containerLogs/ns1/ticker/app",
                                                params={"follow": "true"}, stream=True,
                                                timeout=30) as reply:
        assert reply.status_code == 200
        lines = reply.iter_lines(chunk_size=1)   # whatever has come, not 512 bytes
        assert next(lines) == b"tick 1"
        assert node.runtime.info(cid).status == "running"
        assert node.runtime.exec(cid, ["sh", "-c", "echo > /dev/shm/go"]) == 0
        # The rest, and the end of the stream once the container has exited.
        assert list(lines) == [b"tick 2"]


def test_a_follow_whose_client_leaves_is_let_go(node):
    pod = node.add_pod("ns1", "quiet", ["app"])
    node.run(pod, "app", ["sh", "-c", "echo hello; sleep 120"])
    _until_logged(node, pod, "hello")
    reply = node.session(node.tls.admin_token).get(
        node.base_url + "/containerLogs/ns1/quiet/app", params={"follow": "1"}, stream=True,
        timeout=30)
    assert next(reply.iter_lines(chunk_size=1)) == b"hello"
    reply.close()
    # The server's thread for the stream notices within a poll and ends.
    node.wait_for(lambda: len(node.server._httpd.connections) == 0, timeout=5)


def test_previous_reads_the_last_instance_even_after_it_is_gone(node):
    pod = node.add_pod("ns1", "phoenix", ["app"])
    first = node.run(pod, "app", ["sh", "-c", "echo first life"], attempt=0)
    assert node.wait_exit(first)["exitCode"] == 0
    node.runtime.delete(first)
    node.run(pod, "app", ["sh", "-c", "echo second life; sleep 60"], attempt=1)
    _until_logged(node, pod, "second life")
    assert _logs(node, "/containerLogs/ns1/phoenix/app") == "second life\n"
    assert _logs(node, "/containerLogs/ns1/phoenix/app", previous="true") == "first life\n"


def test_errors_are_kubernetes_statuses(node):
    pod = node.add_pod("ns1", "solo", ["app"])
    node.run(pod, "app", ["sh", "-c", "sleep 60"])
    missing = node.admin_get("/containerLogs/ns1/nobody/app")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'pods "nobody" not found'
    wrong = node.admin_get("/containerLogs/ns1/solo/other")
    assert (wrong.status_code, wrong.json()["message"]) == \
        (400, "container other is not valid for pod solo")
    no_previous = node.admin_get("/containerLogs/ns1/solo/app", params={"previous": "true"})
    assert no_previous.status_code == 400
    assert "previous terminated container" in no_previous.json()["message"]
    bad = node.admin_get("/containerLogs/ns1/solo/app", params={"tailLines": "many"})
    assert bad.status_code == 400 and bad.json()["kind"] == "Status"
    waiting = node.add_pod("ns1", "later", ["app"])
    assert "waiting to start" in node.admin_get("/containerLogs/ns1/later/app").json()["message"]
    assert waiting


def test_only_known_callers_may_read(node, tmp_path):
    path = node.base_url + "/containerLogs/ns1/x/app"
    assert node.session().get(path, timeout=10).status_code == 401
    assert node.session("not-the-token").get(path, timeout=10).status_code == 401
    # /healthz is public, as the kubelet's is.
    assert node.session().get(node.base_url + "/healthz", timeout=10).text == "ok"
    # A certificate from another CA does not even get through the TLS handshake.
    from cryptography import x509  # noqa: F401 - skip early if missing
    stranger = _self_signed(tmp_path)
    with pytest.raises(requests.exceptions.SSLError):
        node.session(cert=stranger).get(path, timeout=10)


def _self_signed(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "mallory")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "mallory.crt", tmp_path / "mallory.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)
