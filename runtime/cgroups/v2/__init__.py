"""The cgroup v2 driver: one directory in the unified hierarchy.

`manager.V2Manager` creates and delegates, `resources` converts OCI limits into
v2 files (runc's conversions), `devices` compiles device rules into the eBPF
program v2 uses instead of `devices.allow`.
"""

from .manager import SUPERVISOR_LEAF, V2Manager

__all__ = ["SUPERVISOR_LEAF", "V2Manager"]
