"""The relay of an upgraded exec/attach connection between a client and an agent.

Over socket pairs: the relay's two ends are real sockets, the test holds their
peers. The agent's first bytes wait for the client to speak (or for the hold to
pass): kubectl drops output that arrives before it has made its streams.
"""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest

from supernetes.controlplane.apiserver import agentconn


@pytest.fixture
def ends():
    """(client, agent, start): the test's ends, and `start(**kw)` running the relay."""
    client, client_side = socket.socketpair()
    agent, agent_side = socket.socketpair()
    threads = []

    def start(**kw) -> threading.Thread:
        thread = threading.Thread(target=agentconn.relay, args=(client_side, agent_side),
                                  kwargs=kw, daemon=True)
        thread.start()
        threads.append(thread)
        return thread
    yield client, agent, start
    for sock in (client, agent):
        sock.close()
    for thread in threads:
        thread.join(10)
    for sock in (client_side, agent_side):
        sock.close()


def _read(sock: socket.socket, size: int, timeout: float = 10) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        if not select.select([sock], [], [], max(0, deadline - time.monotonic()))[0]:
            break
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _silent(sock: socket.socket, seconds: float) -> bool:
    return not select.select([sock], [], [], seconds)[0]


def test_the_agents_first_bytes_wait_until_the_client_speaks(ends):
    client, agent, start = ends
    agent.sendall(b"[more]")
    start(held=b"[came with the 101]", hold=60)
    assert _silent(client, 0.5)              # held: the client has said nothing yet
    client.sendall(b"[stdin]")
    assert _read(agent, 7) == b"[stdin]"
    assert _read(client, 25) == b"[came with the 101][more]"
    agent.sendall(b"[then]")                 # from now on, a plain relay both ways
    assert _read(client, 6) == b"[then]"
    client.sendall(b"[again]")
    assert _read(agent, 7) == b"[again]"


def test_a_silent_client_gets_them_once_the_hold_has_passed(ends):
    client, agent, start = ends
    agent.sendall(b"[more]")
    began = time.monotonic()
    start(held=b"[came with the 101]", hold=0.3)
    assert _read(client, 25) == b"[came with the 101][more]"
    assert time.monotonic() - began >= 0.3
    client.sendall(b"[late stdin]")
    assert _read(agent, 12) == b"[late stdin]"


def test_a_client_that_leaves_during_the_hold_ends_both_sides(ends):
    client, agent, start = ends
    thread = start(held=b"[came with the 101]", hold=60)
    client.shutdown(socket.SHUT_WR)
    thread.join(10)
    assert not thread.is_alive()
    assert _read(agent, 1) == b""            # the agent's connection is shut too


def test_without_a_hold_the_relay_copies_at_once(ends):
    client, agent, start = ends
    start()
    agent.sendall(b"[out]")
    assert _read(client, 5) == b"[out]"
    client.sendall(b"[in]")
    assert _read(agent, 4) == b"[in]"
    agent.shutdown(socket.SHUT_WR)
    assert _read(client, 1) == b""
