"""Errors carry the server's Status, and a non-Status answer still becomes one."""

import json

from supernetes.controlplane.client import AlreadyExists, ApiError, Conflict, Gone, NotFound


def status(code, reason, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "code": code, "reason": reason, "message": message}).encode()


def test_the_subclass_follows_the_status_reason_before_the_code():
    assert isinstance(ApiError.from_response(409, status(409, "AlreadyExists", "x")),
                      AlreadyExists)
    assert isinstance(ApiError.from_response(409, status(409, "Conflict", "x")), Conflict)
    assert isinstance(ApiError.from_response(410, status(410, "Expired", "too old")), Gone)
    err = ApiError.from_response(404, status(404, "NotFound", 'pods "x" not found'))
    assert isinstance(err, NotFound)
    assert (err.code, err.reason, err.message) == (404, "NotFound", 'pods "x" not found')
    assert err.status["status"] == "Failure"


def test_a_non_status_body_gets_client_go_wording():
    err = ApiError.from_response(404, b"<html>nope</html>")
    assert isinstance(err, NotFound)
    assert err.message == "the server could not find the requested resource"
    err = ApiError.from_response(502, b"bad gateway")
    assert err.reason == "InternalError"
    assert '"bad gateway"' in err.message
