"""`superctl exec`: run a command in a container, over the websocket exec protocol.

    superctl exec web-0 -- ls /
    superctl exec -it web-0 -c app -- sh
    superctl exec deploy/web -- env

Spoken as kubectl speaks it (`v5.channel.k8s.io`, falling back to v4; see
`client.remotecommand`). With `-t` and a terminal on stdin, the terminal is put
in raw mode for the session (restored on exit, whatever happens) and its size is
sent at start and on every SIGWINCH. The exit status is the command's; kubectl's
`command terminated with exit code N` goes to stderr.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import termios
import tty

from supernetes.controlplane.client import StreamError

from .context import CtlError, Ctx
from .logs import default_container, pod_for


def register(sub, parent) -> None:
    p = sub.add_parser("exec", parents=[parent], help="Execute a command in a container")
    p.add_argument("target", metavar="POD | TYPE/NAME")
    p.add_argument("command", nargs="*", metavar="-- COMMAND [args...]")
    p.add_argument("-c", "--container")
    p.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the container")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a TTY")
    p.add_argument("-q", "--quiet", action="store_true", help="only the command's own output")
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    a = ctx.args
    if not a.command:
        raise CtlError("you must specify at least one command for the container")
    pod = pod_for(ctx, a.target)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise CtlError(f"cannot exec into a container in a completed pod; current phase is "
                       f"{phase}")
    container = default_container(ctx, pod, a.container)
    stdin = sys.stdin.buffer if a.stdin else None
    use_tty = a.tty
    if use_tty and not (a.stdin and sys.stdin.isatty()):
        if not a.quiet:
            ctx.warn("Unable to use a TTY - input is not a terminal or the right kind of file")
        use_tty = False
    session = ctx.client.exec(pod["metadata"]["name"], pod["metadata"]["namespace"], a.command,
                              container=container, stdin=a.stdin, tty=use_tty)
    out = getattr(ctx.out, "buffer", None) or sys.stdout.buffer
    err = getattr(ctx.err, "buffer", None) or sys.stderr.buffer
    if use_tty:
        code = _with_raw_terminal(session, stdin, out, err)
    else:
        code = session.run(stdin, out, err)
    if code and not a.quiet:
        ctx.warn(f"command terminated with exit code {code}")
    return code


def _with_raw_terminal(session, stdin, out, err) -> int:
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)

    def send_size(*_):
        size = shutil.get_terminal_size()
        try:
            session.resize(size.columns, size.lines)
        except (StreamError, OSError):     # the session is closing; a lost resize is harmless
            pass

    previous = signal.signal(signal.SIGWINCH, send_size)
    try:
        # TCSANOW, not setraw's default TCSAFLUSH: keys typed before the session
        # opened stay queued for the container instead of being thrown away.
        tty.setraw(fd, termios.TCSANOW)
        send_size()
        return session.run(os.fdopen(os.dup(fd), "rb", buffering=0), out, err)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
