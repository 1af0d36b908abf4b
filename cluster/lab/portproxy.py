"""A TCP relay from a socket in one network namespace to an address in another.

kind publishes each cluster's API server on a port of the host's loopback; the
lab does the same without touching the host's network. A socket belongs to the
network namespace it was created in, for life, wherever the process holding it
goes. So `lab up`, still in the host's namespace, binds 127.0.0.1:PORT there
and hands the listening socket down to the control plane machine (an inherited
file descriptor); this relay runs inside that machine, accepts on the host's
socket and connects to the API server next to it (127.0.0.1:6443 in the
machine). The host gets a working kubeconfig, and no interface, route or rule.

    python -m supernetes.lab.portproxy --listen-fd 3 --to 127.0.0.1:6443

One thread, non-blocking sockets and a selector: each connection is a pair of
sockets with a buffer per direction, so a slow reader (a kubectl watch)
delays only its own connection.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import sys

CHUNK = 256 * 1024


class Pipe:
    """One direction of one connection: bytes read from `src`, waiting to go to `dst`."""

    def __init__(self, src: socket.socket, dst: socket.socket):
        self.src, self.dst = src, dst
        self.buffer = b""
        self.eof = False       # src said it sends no more
        self.shut = False      # ... and dst has been told


class Relay:
    def __init__(self, listener: socket.socket, target: tuple[str, int]):
        self.listener = listener
        self.target = target
        self.selector = selectors.DefaultSelector()
        listener.setblocking(False)
        self.selector.register(listener, selectors.EVENT_READ, None)
        self.pipes: dict[socket.socket, list[Pipe]] = {}   # socket -> pipes touching it
        self.registered: set[socket.socket] = set()

    def serve_forever(self) -> None:
        while True:
            for key, events in self.selector.select():
                if key.data is None:
                    self._accept()
                else:
                    self._service(key.fileobj, events)

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()   # the API server is not up (yet): the client sees a reset
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pipes = [Pipe(client, upstream), Pipe(upstream, client)]
        self.pipes[client] = self.pipes[upstream] = pipes
        self._update_interest(pipes)

    def _service(self, sock: socket.socket, events: int) -> None:
        pipes = self.pipes.get(sock)
        if pipes is None:
            return
        try:
            for pipe in pipes:
                if pipe.src is sock and events & selectors.EVENT_READ and not pipe.buffer:
                    try:
                        data = sock.recv(CHUNK)
                    except (BlockingIOError, InterruptedError):
                        data = None
                    if data == b"":
                        pipe.eof = True
                    elif data:
                        pipe.buffer = data
                self._flush(pipe)
        except OSError:   # reset by either side: the connection is over
            self._close(pipes)
            return
        if all(p.eof and not p.buffer for p in pipes):
            self._close(pipes)
            return
        self._update_interest(pipes)

    @staticmethod
    def _flush(pipe: Pipe) -> None:
        if pipe.buffer:
            try:
                sent = pipe.dst.send(pipe.buffer)
            except (BlockingIOError, InterruptedError):
                return
            pipe.buffer = pipe.buffer[sent:]
        if pipe.eof and not pipe.buffer and not pipe.shut:
            pipe.shut = True
            pipe.dst.shutdown(socket.SHUT_WR)   # pass the half-close on

    def _update_interest(self, pipes: list[Pipe]) -> None:
        for sock in (pipes[0].src, pipes[1].src):
            events = 0
            for pipe in pipes:
                if pipe.src is sock and not pipe.buffer and not pipe.eof:
                    events |= selectors.EVENT_READ    # room to read more
                if pipe.dst is sock and pipe.buffer:
                    events |= selectors.EVENT_WRITE   # bytes waiting for it
            registered = sock in self.registered
            if events and registered:
                self.selector.modify(sock, events, pipes)
            elif events:
                self.selector.register(sock, events, pipes)
                self.registered.add(sock)
            elif registered:   # nothing to read (EOF seen) nor to write: do not spin on it
                self.selector.unregister(sock)
                self.registered.discard(sock)

    def _close(self, pipes: list[Pipe]) -> None:
        for sock in (pipes[0].src, pipes[1].src):
            self.pipes.pop(sock, None)
            if sock in self.registered:
                self.selector.unregister(sock)
                self.registered.discard(sock)
            sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m supernetes.lab.portproxy",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--listen-fd", type=int, required=True,
                        help="an inherited listening TCP socket")
    parser.add_argument("--to", required=True, metavar="HOST:PORT")
    args = parser.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    try:
        listener = socket.socket(fileno=args.listen_fd)
    except OSError as exc:
        print(f"portproxy: fd {args.listen_fd}: {exc}", file=sys.stderr)
        return 1
    try:
        Relay(listener, (host, int(port))).serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
