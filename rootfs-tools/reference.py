"""Image references, parsed and normalised the way Docker does it.

    busybox                        -> docker.io/library/busybox:latest
    user/app:1.2                   -> docker.io/user/app:1.2
    127.0.0.1:5000/team/app        -> 127.0.0.1:5000/team/app:latest
    localhost/app@sha256:<hex>     -> localhost/app@sha256:<hex>

The first path component names a registry only when it looks like a host: it
contains a `.` or a `:`, or is `localhost` (so `library/busybox` is a Docker Hub
repository, `registry.local/busybox` is not). The grammar is the one of
distribution/reference: lowercase path components joined by `.`, `_`, `__` or
dashes, tags of at most 128 word characters, names of at most 255 characters.
A reference with neither tag nor digest gets the tag `latest`.
"""

import dataclasses
import ipaddress
import re

from . import digest as digests
from .errors import FormatError, InvalidReference

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
# Docker Hub's canonical name is docker.io, but its API answers on another host.
_API_HOSTS = {"docker.io": "registry-1.docker.io"}
_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io"}

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_HOST_LABEL = re.compile(r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])")
_DOMAIN = re.compile(
    rf"(?:{_HOST_LABEL.pattern}(?:\.{_HOST_LABEL.pattern})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
)
_MAX_NAME = 255


@dataclasses.dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """`registry/repository`, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """The host:port that answers the distribution API for this registry."""
        return _API_HOSTS.get(self.registry, self.registry)

    @property
    def object(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> "Reference":
        return dataclasses.replace(self, tag=tag, digest=None)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse(text: str) -> Reference:
    """Parse and normalise `text`; raise InvalidReference with the reason when it is not one."""
    if not isinstance(text, str) or not text:
        raise InvalidReference("invalid reference: empty")
    remainder, digest = text, None
    if "@" in remainder:
        remainder, _, digest = remainder.partition("@")
        try:
            digests.validate(digest)
        except FormatError as exc:
            raise InvalidReference(f"invalid reference {text!r}: {exc}") from exc

    tag = None
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:  # a colon after the last slash separates the tag, not a port
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(f"invalid reference {text!r}: bad tag {tag!r}")

    registry, path = _split_registry(remainder)
    if not path:
        raise InvalidReference(f"invalid reference {text!r}: no repository name")
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            hint = " (repository names must be lowercase)" if component.lower() != component else ""
            raise InvalidReference(
                f"invalid reference {text!r}: bad path component {component!r}{hint}")
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    if len(f"{registry}/{path}") > _MAX_NAME:
        raise InvalidReference(f"invalid reference {text!r}: name longer than {_MAX_NAME}")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(registry, path, tag, digest)


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    looks_like_host = "." in first or ":" in first or first == "localhost"
    if not sep or not looks_like_host:
        return DEFAULT_REGISTRY, name
    if not _DOMAIN.fullmatch(first):
        raise InvalidReference(f"invalid reference {name!r}: bad registry host {first!r}")
    if first in _HUB_ALIASES:
        first = DEFAULT_REGISTRY
    return first, rest


def is_loopback(registry: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1, with or without a port."""
    host = registry
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
