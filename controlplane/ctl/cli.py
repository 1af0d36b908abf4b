"""superctl: the user's command line for a Supernetes (or any Kubernetes) API server.

kubectl's verbs and habits. The entry is thin: flags -> `Ctx` (kubeconfig,
client) -> one function per verb; each verb family lives in its own module and
registers its parser here. Global flags work before or after the verb
(`superctl -n kube-system get pods` and `superctl get pods -n kube-system`).
Every failure ends as one line on stderr and a non-zero exit (see `errors`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from supernetes.controlplane.client import ClientError

from . import (
    apply,
    completion,
    config,
    create,
    delete,
    describe,
    edit,
    events,
    execute,
    get,
    info,
    labels,
    logs,
    nodes,
    rollout,
    scale,
    top,
)
from .context import CtlError, Ctx
from .errors import format_error

VERB_MODULES = (get, describe, apply, create, delete, edit, scale, rollout, logs, execute, top,
                nodes, labels, events, info, config, completion)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 1, as kubectl's."""

    def error(self, message: str):
        self.exit(1, f"error: {message}\nSee '{self.prog} --help' for usage.\n")


def _global_flags(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    add = parser.add_argument
    add("--kubeconfig", default=default, help="path to the kubeconfig file to use")
    add("--context", default=default, help="the kubeconfig context to use")
    add("--cluster", default=default, help="the kubeconfig cluster to use")
    add("--user", default=default, help="the kubeconfig user to use")
    add("-n", "--namespace", default=default, help="the namespace for this request")
    add("-s", "--server", default=default, help="the address and port of the API server")
    add("--token", default=default, help="bearer token for authentication")
    add("--certificate-authority", default=default, help="path to a CA certificate file")
    add("--client-certificate", default=default, help="path to a client certificate file")
    add("--client-key", default=default, help="path to a client key file")
    add("--tls-server-name", default=default, help="server name for certificate validation")
    add("--insecure-skip-tls-verify", action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="do not check the server's certificate (insecure)")
    add("--request-timeout", default=default,
        help="how long to wait for one request (0: no limit; 30s, 1m)")
    add("-v", "--v", dest="verbosity", type=int, default=argparse.SUPPRESS if suppress else 0,
        help="log verbosity (6+: requests)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="superctl", description="superctl controls a Supernetes cluster "
                    "(and speaks to any Kubernetes API server) the way kubectl does.")
    _global_flags(parser, suppress=False)
    parent = Parser(add_help=False)
    _global_flags(parent, suppress=True)
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=Parser)
    for module in VERB_MODULES:
        module.register(sub, parent)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv[:1] == ["__complete"]:
        # The completion scripts' hidden helper: words as typed, never a parse error.
        args = parser.parse_args([])
        words = argv[1:]
        for flag in ("--kubeconfig", "--context"):
            if flag in words[:-1]:
                setattr(args, flag[2:], words[words.index(flag) + 1])
        return completion.complete(Ctx(args), words)
    # Everything after `--` is a command for a container (exec, create deployment):
    # split it off before argparse, which mishandles `--` below nested subcommands.
    tail: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, tail = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    if tail:
        if not hasattr(args, "command"):
            parser.error(f"unexpected arguments after --: {' '.join(tail)}")
        args.command = list(args.command or []) + tail
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if args.verbosity >= 6:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    # A closed pipe (`superctl get pods | head`) is no error worth a traceback.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ctx = Ctx(args)
    try:
        return int(args.func(ctx) or 0)
    except KeyboardInterrupt:
        return 130
    except (CtlError, ClientError) as exc:
        sys.stdout.flush()
        ctx.warn(format_error(exc))
        return getattr(exc, "exit_code", 1)


if __name__ == "__main__":
    sys.exit(main())
