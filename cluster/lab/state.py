"""lab.json: what a lab is and what it made, kept in its data dir.

Written before each step that makes something (so a `lab down` after a crash
mid-way still finds it) and rewritten atomically (write a temporary file, then
rename). It holds the `LabConfig`, the host port of the API relay, whether the
uplink exists, and per machine:

    pid       the host PID of the machine's launcher (`unshare --fork`), the
              parent of its init; its exit means the machine is gone
    init      the host PID of the machine's init (PID 1 inside it)
    cgroups   the cgroup directories of the init: the agent's pods live below
              `<dir>/superlet-<node>`, swept after the machine dies
    booted    when it last booted (time.time())

A machine with no record, or whose launcher is not running, is stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import LabError
from .config import LabConfig

STATE_FILE = "lab.json"


@dataclass
class LabState:
    config: LabConfig
    api_port: int = 0
    uplink: bool = False
    host_forwarding: str | None = None   # the host's ip_forward before the uplink set it
    machines: dict[str, dict] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return Path(self.config.data_dir)

    def save(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        body = {"config": self.config.to_dict(), "apiPort": self.api_port,
                "uplink": self.uplink, "hostForwarding": self.host_forwarding,
                "machines": self.machines}
        tmp = self.data / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(body, indent=2) + "\n")
        os.replace(tmp, self.data / STATE_FILE)

    @classmethod
    def load(cls, data_dir: str) -> LabState:
        path = Path(data_dir).absolute() / STATE_FILE
        try:
            body = json.loads(path.read_text())
        except FileNotFoundError:
            raise LabError(f"no lab in {path.parent} (no {STATE_FILE}): "
                           "`supernetes lab up` makes one") from None
        except (OSError, ValueError) as exc:
            raise LabError(f"cannot read {path}: {exc}") from exc
        config = LabConfig.from_dict(body.get("config") or {})
        config.data_dir = str(path.parent)
        return cls(config=config, api_port=body.get("apiPort", 0),
                   uplink=body.get("uplink", False),
                   host_forwarding=body.get("hostForwarding"),
                   machines=body.get("machines") or {})

    @staticmethod
    def exists(data_dir: str) -> bool:
        return (Path(data_dir).absolute() / STATE_FILE).exists()

    # --- paths in the data dir ----------------------------------------------------------

    def machine_dir(self, machine: str) -> Path:
        return self.data / machine

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig for the host: the API through the loopback relay."""
        return self.data / "kubeconfig"

    @property
    def server_data(self) -> Path:
        return self.machine_dir("cp") / "server"

    @property
    def images(self) -> Path:
        return self.data / "images"
