"""The gunicorn worker: gthread, with the quick requests answered on the poller thread
and small writes parsed there.

Why not stock gthread: in one Python process it is the GIL, not the CPU, that
sets the pace of small requests. Under gthread every request on a kept-alive
connection travels poller thread -> pool thread -> poller thread, and each
socket call on a pool thread (recv, send, select) lets the GIL go to one of the
other busy pool threads and then waits to get it back. Measured on this 2-core
machine with 16 busy connections, half of the worker's CPU went to those thread
switches (futex waits, the kernel's `finish_task_switch`), and `/healthz` cost
420 us of CPU against 290 us on a single connection.

So the poller thread serves by itself the requests that never wait: a GET of
one object (a local store read of microseconds), discovery, health. When a
kept-alive connection turns readable, the poller reads what has arrived
(non-blocking); if that is a complete GET that the app calls quick
(`Server.answers_at_once`), it parses it, runs the app and writes the response
in one non-blocking `send` (quickhttp.py: gunicorn's own request and response
objects would cost more than the app), then goes on with the next ready connection:
requests from many connections run one after the other on one thread, with no
hand-off and nobody to fight for the GIL. A response the socket cannot take at
once (a slow reader, a big object) is finished by a pool thread.

Small writes (a binding, an event, a pod: a body up to 64 KiB with a
Content-Length, all of it arrived, a response built whole) wait for the store's
group commit, so they run on a pool thread; but the poller parses them as it
does quick GETs (`QuickHttp.environ_with_body`) and hands the pool thread a
ready environ. gunicorn's pure-Python request parser, its environ builder and
its response object cost more CPU than the bind handler itself.

Everything else goes to the pool exactly as gthread does it, unparsed (the
bytes read so far stay in the connection's buffer): lists and watches, big or
chunked bodies, exec and proxy, requests not yet complete. On the pool, a busy
connection stays on its thread between requests (`KEEPALIVE_LINGER`; what
comes next is parsed by the worker itself if it can, else by gunicorn), and a
response leaves in one write (gunicorn writes its header and its body
separately: two TLS records, two system calls, two chances to lose the GIL).

On exit the watch cache stops first, so open watches end.
"""

from __future__ import annotations

import io
import logging
import select
import ssl
import threading
from datetime import datetime

from gunicorn import util
from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

from .onewrite import OneWriteResponse
from .quickhttp import HEAD_END, QuickHttp

log = logging.getLogger(__name__)

# After a response on a keep-alive connection, how long the pool thread waits for
# the client's next request before handing the connection back to the poller.
KEEPALIVE_LINGER = 0.002

# Requests served in a row from one connection's buffer (HTTP pipelining) before
# the poller goes on with the other connections.
MAX_PIPELINED = 16


def _nothing_buffered(conn) -> bool:
    """The connection's parser holds no bytes of a next request (gthread re-queues those)."""
    buf = getattr(getattr(getattr(conn, "parser", None), "unreader", None), "buf", None)
    return bool(getattr(conn, "initialized", False)) and buf is not None and not buf.getvalue()


def _readable(sock, timeout: float) -> bool:
    try:
        if sock.pending():                      # bytes already decrypted by TLS
            return True
        return bool(select.select([sock], [], [], timeout)[0])
    except (OSError, ValueError, AttributeError):
        return False


def _pending(sock) -> int:
    """Bytes TLS has decrypted but nobody read yet (the poller cannot see those)."""
    pending = getattr(sock, "pending", None)
    return pending() if pending is not None else 0


class Worker(ThreadWorker):
    quick: QuickHttp

    def load_wsgi(self):
        super().load_wsgi()
        server = getattr(self.wsgi, "extensions", {}).get("supernetes")
        answers_at_once = server.answers_at_once if server is not None else None
        writes_one_response = server.writes_one_response if server is not None else None
        if self.cfg.accesslog:      # gunicorn logs what it serves itself: let it serve all
            answers_at_once = writes_one_response = None
        self.quick = QuickHttp(self.cfg, self.wsgi,
                               answers_at_once or (lambda path, query: False),
                               writes_one_response)

    # -- on the poller thread ----------------------------------------------------------

    def on_client_socket_readable(self, conn, client):
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        for _ in range(MAX_PIPELINED):
            outcome = self._serve_here(conn)
            if outcome is not True or not self._more_arrived(conn):
                break
        else:
            outcome = None
        if outcome is True:
            self._park(conn)
        elif outcome is None:
            self.enqueue_req(conn)
        # False: the connection is closed or a pool thread owns it now

    def _serve_here(self, conn) -> bool | None:
        """Serve the connection's next request on this thread if it is quick, or hand
        it parsed to a pool thread if it is a small write.

        True: served, the connection stays open; False: closed or handed to a pool
        thread; None: not for this thread (incomplete, streamed, may wait)."""
        unreader = conn.parser.unreader
        if HEAD_END not in unreader.buf.getvalue() or _pending(conn.sock):
            self._receive(conn)
        environ, quick = self._take_request(conn)
        if environ is None:
            return None
        if not quick:
            self._to_pool(conn, self._serve_parsed, environ)
            return False
        response = self._respond(environ)
        if response is None:
            self._close(conn)
            return False
        data, keepalive = response
        try:
            sent = conn.sock.send(data)
        except (ssl.SSLWantWriteError, BlockingIOError):
            sent = 0
        except OSError:
            self._close(conn)
            return False
        if sent < len(data):
            # A slow reader or a big response: a pool thread writes the rest. OpenSSL
            # wants a write it refused retried with the same bytes.
            rest = data if isinstance(conn.sock, ssl.SSLSocket) else data[sent:]
            self._to_pool(conn, self._send_blocking, rest, keepalive)
            return False
        if not keepalive:
            self._close(conn)
            return False
        return True

    def _take_request(self, conn) -> tuple[dict | None, bool]:
        """The environ of the next request in the connection's buffer, taken off it, if
        this worker parses it itself; and whether it is quick (a GET that waits on
        nothing) rather than a small write (whole body arrived, one response)."""
        unreader = conn.parser.unreader
        buf = unreader.buf.getvalue()
        end = buf.find(HEAD_END) + len(HEAD_END)
        if end < len(HEAD_END):
            return None, False
        environ, quick = self.quick.environ_of(buf[:end], conn), True
        if environ is None:
            taken = self.quick.environ_with_body(buf, end, conn)
            if taken is None:
                return None, False
            (environ, end), quick = taken, False
        unreader.buf = io.BytesIO()
        unreader.buf.write(buf[end:])
        return environ, quick

    def _respond(self, environ: dict) -> tuple[bytes, bool] | None:
        """The response to a request the worker parsed itself, and whether to keep the
        connection; None when the app failed (logged, as gunicorn does)."""
        self.nr += 1
        try:
            return self.quick.respond(environ, close=self._must_close())
        except Exception:
            self.log.exception("Error handling request")
            return None

    def _must_close(self) -> bool:
        """gunicorn's reasons to close after this response (stopping, too many idle)."""
        if self.nr >= self.max_requests and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        return not self.alive or not self.cfg.keepalive or \
            len(self.keepalived_conns) >= self.max_keepalived

    def _more_arrived(self, conn) -> bool:
        return bool(conn.parser.unreader.buf.getvalue()) or bool(_pending(conn.sock))

    def _receive(self, conn) -> None:
        """Read what has arrived (without waiting) into the parser's buffer."""
        unreader = conn.parser.unreader
        while True:
            try:
                data = conn.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return
            except OSError:
                return                      # the pool thread meets the error and closes
            if not data:
                return                      # the client closed: so does the pool thread
            unreader.buf.seek(0, 2)
            unreader.buf.write(data)
            # Stop once a head is complete and TLS holds nothing more decrypted:
            # anything else is still in the kernel, where the poller sees it.
            if HEAD_END in unreader.buf.getvalue() and not _pending(conn.sock):
                return

    def _park(self, conn) -> None:
        """Back to the poller until the client's next request (gthread's keep-alive)."""
        conn.set_timeout()
        self.keepalived_conns.append(conn)
        self.poller.register(conn.sock, 1, lambda sock: self.on_client_socket_readable(
            conn, sock))

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        conn.close()

    def _to_pool(self, conn, fn, *args) -> None:
        future = self.tpool.submit(fn, conn, *args)
        future.add_done_callback(
            lambda done: self.method_queue.defer(self.finish_request, conn, done))

    def _send_blocking(self, conn, data: bytes, keepalive: bool) -> bool:
        """Send (the rest of) a response on a pool thread; whether the connection stays open."""
        try:
            conn.sock.setblocking(True)
            conn.sock.sendall(data)
        except OSError:
            return False
        return keepalive

    # -- on pool threads -----------------------------------------------------------------

    def _serve_parsed(self, conn, environ: dict) -> bool:
        """Answer a small write the poller parsed (it waits for the store's group
        commit, so not on the poller), then go on as `handle` does."""
        conn.asked_quick = False
        return self._linger(conn, self._answer(conn, environ))

    def _answer(self, conn, environ: dict) -> bool:
        """Run the app for a request the worker parsed itself, and send the response
        in one write; whether the connection stays open."""
        response = self._respond(environ)
        return response is not None and self._send_blocking(conn, *response)

    def enqueue_req(self, conn):
        self._to_pool(conn, self.handle)

    def handle(self, conn):
        return self._linger(conn, super().handle(conn))

    def _linger(self, conn, result):
        """A busy keep-alive connection stays on its pool thread: a client that sends
        its next request within KEEPALIVE_LINGER (or pipelines it) is served at once
        by the same thread, parsed by the worker itself when it can (quickhttp.py),
        else by gunicorn; an idle one goes back to the poller, holding no thread.
        Except after a quick GET (the first on a new connection comes here): such a
        client most likely sends more, and those the poller serves for less; a
        connection kept busy would otherwise never get back to it."""
        # (gunicorn < 23 returns tuples here: then the loop simply never runs)
        while result is True and self.alive and not getattr(conn, "asked_quick", False) and \
                getattr(conn, "initialized", False):
            if _nothing_buffered(conn):
                if not _readable(conn.sock, KEEPALIVE_LINGER):
                    break
                conn.sock.setblocking(False)
                self._receive(conn)
            environ, quick = self._take_request(conn)
            if environ is None:
                result = super().handle(conn)
            else:
                conn.asked_quick = quick
                result = self._answer(conn, environ)
        return result

    def handle_request(self, req, conn):
        """gunicorn 27's `ThreadWorker.handle_request`, with two changes: the response
        is a `OneWriteResponse`, and `conn.asked_quick` says whether the request
        was one the poller could have served. (Its reasons to close are gunicorn's,
        written once in `_must_close`.)"""
        environ = {}
        resp = None
        conn.asked_quick = req.method == "GET" and self.quick.answers_at_once(
            req.path or "", req.query or "")
        try:
            self.cfg.pre_request(self, req)
            request_start = datetime.now()
            resp, environ = wsgi.create(req, conn.sock, conn.client, conn.server, self.cfg,
                                        response_class=OneWriteResponse)
            environ["wsgi.multithread"] = True
            self.nr += 1
            if self._must_close():
                resp.force_close()
            respiter = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(respiter, environ["wsgi.file_wrapper"]):
                    resp.write_file(respiter)
                else:
                    for item in respiter:
                        resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - request_start)
                if hasattr(respiter, "close"):
                    respiter.close()
            if resp.should_close():
                return False
        except OSError:
            raise
        except (Exception, SystemExit):
            if resp and resp.headers_sent:
                # Headers are out: a 500 now would corrupt the response. Close instead.
                self.log.exception("Error handling request")
                util.close_graceful(conn.sock)
                raise StopIteration() from None
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")
        return True

    # -- stopping ------------------------------------------------------------------------

    def handle_exit(self, sig, frame):
        server = getattr(self.wsgi, "extensions", {}).get("supernetes")
        if server is None or not server.components:
            self._stop_serving(server, sig, frame)
            return
        # The embedded scheduler and controllers stop first, while this worker still
        # serves, so they can release their Leases (a peer server takes over at once
        # instead of after the Lease expires). Not in the signal handler itself: the
        # main thread must go on accepting their requests meanwhile.
        def components_then_serving():
            server.stop_components()
            self._stop_serving(server, sig, frame)
        threading.Thread(target=components_then_serving, daemon=True).start()

    def _stop_serving(self, server, sig, frame):
        if server is not None:
            server.cacher.stopped.set()
            threading.Thread(target=server.cacher.stop, daemon=True).start()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig, frame):
        self.handle_exit(sig, frame)
        super().handle_quit(sig, frame)

