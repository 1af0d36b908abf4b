"""`python -m supernetes.agent.proxy run|explain|cleanup`: the proxy on its own.

The Superlet embeds the proxy (ServiceProxy); this entry point runs it as its
own process, as kube-proxy runs beside a kubelet, and lets a learner look:

    explain            the table the proxy would write now, from the API's state
    explain --kernel   the table the kernel holds now
    run                keep the node's rules current until SIGTERM
    cleanup            remove the proxy's table and route (after `run` is stopped)

Errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ..network import nft
from . import rules
from .proxier import ProxyConfig, ProxyError, ServiceProxy


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m supernetes.agent.proxy",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["run", "explain", "cleanup"])
    parser.add_argument("--kubeconfig", help="how to reach the API server (kubectl's rules "
                                             "when omitted)")
    parser.add_argument("--node-name", default="", help="this node (externalTrafficPolicy "
                                                        "Local picks its endpoints)")
    parser.add_argument("--netns", help="the node's network namespace (a path); default: "
                                        "the current one")
    parser.add_argument("--cluster-cidr", default="10.244.0.0/16")
    parser.add_argument("--service-cidr", default="10.96.0.0/12")
    parser.add_argument("--bridge", default="super0")
    parser.add_argument("--kernel", action="store_true",
                        help="explain: show the table in the kernel, not the one to write")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ProxyConfig(node_name=args.node_name, netns=args.netns,
                         cluster_cidr=args.cluster_cidr, service_cidr=args.service_cidr,
                         bridge=args.bridge)
    try:
        if args.command == "explain" and args.kernel:
            print(nft.list_table(*rules.TABLE, netns=args.netns), end="")
            return 0
        if args.command == "cleanup":
            ServiceProxy.remove(config)
            return 0
        from supernetes.controlplane.client import Client
        client = Client.from_kubeconfig(args.kubeconfig)
        proxy = ServiceProxy(client, config)
        if args.command == "explain":
            proxy.factory.start()
            if not proxy.factory.wait_for_sync(30):
                raise ProxyError("the API's Services and endpoints could not be listed")
            print(proxy.explain(), end="")
            proxy.factory.stop()
            return 0
        return _run(proxy)
    except (ProxyError, nft.RuleError, OSError) as exc:
        print(f"proxy: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the client's errors: one line, never a traceback
        print(f"proxy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _run(proxy: ServiceProxy) -> int:
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    proxy.start()
    stopping.wait()
    proxy.stop()
    return 0
