"""Proving that packets really arrive: tiny TCP peers run inside network namespaces.

`Listener` starts a process inside a namespace that accepts connections and
answers each with the address the connection came from, so a test sees both that
the packet arrived and which source address it carried (masquerade or not).
`connect` dials from inside another namespace and returns that answer.
"""

from __future__ import annotations

import subprocess
import sys

SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    c.sendall(peer[0].encode())
    c.close()
"""

CLIENT = r"""
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(c.recv(64).decode())
except OSError as exc:
    print(f"error: {exc}")
"""


class Listener:
    def __init__(self, netns: str, address: str = "0.0.0.0", port: int = 8080):
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={netns}", sys.executable, "-c", SERVER, address, str(port)],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.close()
            raise RuntimeError(f"listener in {netns} did not start")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(netns: str | None, address: str, port: int = 8080, timeout: float = 2.0) -> str:
    """Connect from `netns` (None: here); the peer's view of our address, or 'error: ...'."""
    prefix = ["nsenter", f"--net={netns}"] if netns else []
    out = subprocess.run([*prefix, sys.executable, "-c", CLIENT, address, str(port), str(timeout)],
                         capture_output=True, text=True, timeout=timeout + 10)
    return out.stdout.strip()
