"""Run one control-plane component in the foreground, the way each command line does.

`supernetes scheduler`, `controller-manager` and `dns` share the shape: set up
logging, build and check a config, run until SIGTERM or Ctrl-C, and turn the
component's own errors into one line on stderr and exit code 1.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable


def run_component(prog: str, log_level: str, errors: tuple[type[Exception], ...],
                  make_config: Callable[[], object], run: Callable[..., None]) -> int:
    """`run(config, stop=event)` until SIGTERM (0) or Ctrl-C (130); `errors` -> 1."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(message)s")
    try:
        config = make_config()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        run(config, stop=stop)
    except errors as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
