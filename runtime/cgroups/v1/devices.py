"""v1 devices controller: which device nodes the container may open or create.

Written directly: each OCI rule maps to one line in `devices.allow` or
`devices.deny`, applied in order. cgroupspy's `DeviceAccess` cannot express an
empty access set and spells "all" in a way the kernel only half-parses, so the
lines are formatted here.

Kernel quirk: a rule of type `a` is special: written to `devices.deny` it drops
every exception and denies everything, to `devices.allow` it allows everything,
whatever major, minor and access follow. The OCI default list starts with such a
deny-all, then allows the standard nodes (/dev/null, /dev/zero, ...).
"""

from __future__ import annotations

from .. import fs
from ..base import DeviceRule, Resources
from .controller import Controller


def rule_line(rule: DeviceRule) -> str:
    if rule.type == "a":
        return "a"
    major = "*" if rule.major is None else str(rule.major)
    minor = "*" if rule.minor is None else str(rule.minor)
    return f"{rule.type} {major}:{minor} {rule.access}"


class Devices(Controller):
    name = "devices"

    def wants(self, resources: Resources) -> bool:
        return resources.devices is not None

    def apply(self, directory: str, resources: Resources) -> None:
        for rule in resources.devices or []:
            fs.write(directory, "devices.allow" if rule.allow else "devices.deny",
                     rule_line(rule))
