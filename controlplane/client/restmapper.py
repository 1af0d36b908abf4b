"""Which URL serves a kind: apiVersion + kind, or a name a user typed, to a resource.

Two sources, in order:
  * the type registry of `supernetes.controlplane.api` (the same table the API
    server is built from): no round trip, so controllers and the agent resolve
    `("apps/v1", "Deployment")` for free;
  * discovery, for anything the registry does not know (another server version, a
    resource added later): the aggregated form kubectl 1.27+ asks for
    (`/api`, `/apis` as `APIGroupDiscoveryList`), else the classic walk of
    `/api/v1`, `/apis` and every group version. Fetched once per mapper.

Names resolve as kubectl resolves them: plural, singular, short name or kind, any
case, optionally qualified by group (`deployments.apps`) or version and group
(`deployments.v1.apps`); the core group wins a tie, as do earlier groups in
discovery order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ApiError, UnknownResource

try:
    from supernetes.controlplane.api import registry as _registry
except ImportError:  # pragma: no cover - until the api package lands on this branch
    _registry = None

AGGREGATED_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                     "application/json")


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    kind: str
    plural: str
    singular: str = ""
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def qualified(self) -> str:
        """`pods`, `deployments.apps`: how kubectl names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_name(self) -> str:
        """`pod`, `deployment.apps`: the prefix of `-o name` output."""
        lower = self.kind.lower()
        return f"{lower}.{self.group}" if self.group else lower

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [base]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)

    @staticmethod
    def from_registry(rt) -> ResourceInfo:
        return ResourceInfo(group=rt.group, version=rt.version, kind=rt.kind, plural=rt.plural,
                            singular=rt.singular, namespaced=rt.namespaced,
                            short_names=tuple(rt.short_names), categories=tuple(rt.categories),
                            subresources=tuple(rt.subresources))


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class RestMapper:
    """Resolves kinds and names to resources; thread-safe, discovery fetched lazily once."""

    def __init__(self, get_json: Callable[..., dict], *, use_registry: bool = True):
        self._get_json = get_json
        self._use_registry = use_registry and _registry is not None
        self._lock = threading.Lock()
        self._discovered: list[ResourceInfo] | None = None

    # -- by apiVersion and kind ------------------------------------------------------

    def for_kind(self, api_version: str, kind: str) -> ResourceInfo:
        if self._use_registry:
            rt = _registry.by_kind(api_version, kind)
            if rt is not None:
                return ResourceInfo.from_registry(rt)
        group, version = split_api_version(api_version)
        for info in self.discover():
            if info.group == group and info.version == version and info.kind == kind:
                return info
        raise UnknownResource(f'no resource of kind "{kind}" in "{api_version}"')

    # -- by a name a user typed ------------------------------------------------------

    def for_name(self, name: str) -> ResourceInfo:
        """`po`, `pods`, `Pod`, `deploy`, `deployments.apps`, `deployments.v1.apps`."""
        matches = self._match(name, self._registry_infos()) if self._use_registry else []
        if not matches:
            matches = self._match(name, self.discover())
        if not matches:
            raise UnknownResource(f'the server doesn\'t have a resource type "{name}"')
        return matches[0]

    def for_category(self, category: str) -> list[ResourceInfo]:
        return [i for i in self.discover() if category in i.categories]

    def _registry_infos(self) -> list[ResourceInfo]:
        return [ResourceInfo.from_registry(rt) for rt in _registry.all_types()]

    @staticmethod
    def _match(name: str, infos: list[ResourceInfo]) -> list[ResourceInfo]:
        lowered = name.lower()
        resource, _, qualifier = lowered.partition(".")
        version = group = None
        if qualifier:
            first, _, rest = qualifier.partition(".")
            if rest and first.startswith("v") and first[1:2].isdigit():
                version, group = first, rest
            else:
                group = qualifier
        exact = name.partition(".")[0]
        found = []
        for info in infos:
            if group is not None and info.group != group:
                continue
            if version is not None and info.version != version:
                continue
            names = {info.plural, info.singular or info.kind.lower(), info.kind.lower(),
                     *info.short_names}
            if resource in names or exact == info.kind:
                found.append(info)
        # Prefer the core group, then the order the server listed groups in.
        found.sort(key=lambda i: i.group != "")
        return found

    # -- discovery -----------------------------------------------------------------

    def discover(self) -> list[ResourceInfo]:
        with self._lock:
            if self._discovered is None:
                self._discovered = self._fetch()
            return self._discovered

    def invalidate(self) -> None:
        with self._lock:
            self._discovered = None

    def _fetch(self) -> list[ResourceInfo]:
        infos: list[ResourceInfo] = []
        for path in ("/api", "/apis"):
            try:
                doc = self._get_json(path, accept=AGGREGATED_ACCEPT)
            except ApiError:
                continue
            if doc.get("kind") == "APIGroupDiscoveryList":
                infos.extend(_from_aggregated(doc))
            elif doc.get("kind") == "APIVersions":
                for version in doc.get("versions") or []:
                    infos.extend(self._from_list("", version, f"/api/{version}"))
            elif doc.get("kind") == "APIGroupList":
                for grp in doc.get("groups") or []:
                    preferred = (grp.get("preferredVersion") or {}).get("version")
                    versions = [v["version"] for v in grp.get("versions") or []]
                    versions.sort(key=lambda v: v != preferred)
                    for version in versions:
                        infos.extend(self._from_list(grp["name"], version,
                                                     f"/apis/{grp['name']}/{version}"))
        return infos

    def _from_list(self, group: str, version: str, path: str) -> list[ResourceInfo]:
        try:
            doc = self._get_json(path)
        except ApiError:
            return []
        infos, subs = [], {}
        for res in doc.get("resources") or []:
            name = res["name"]
            if "/" in name:
                parent, _, sub = name.partition("/")
                subs.setdefault(parent, []).append(sub)
                continue
            infos.append(dict(group=group, version=version, kind=res["kind"], plural=name,
                              singular=res.get("singularName") or res["kind"].lower(),
                              namespaced=bool(res.get("namespaced")),
                              short_names=tuple(res.get("shortNames") or ()),
                              categories=tuple(res.get("categories") or ()),
                              verbs=tuple(res.get("verbs") or ())))
        return [ResourceInfo(**i, subresources=tuple(subs.get(i["plural"], ()))) for i in infos]


def _from_aggregated(doc: dict) -> list[ResourceInfo]:
    infos = []
    for grp in doc.get("items") or []:
        group = (grp.get("metadata") or {}).get("name", "")
        for ver in grp.get("versions") or []:
            for res in ver.get("resources") or []:
                kind = (res.get("responseKind") or {}).get("kind", "")
                infos.append(ResourceInfo(
                    group=group, version=ver["version"], kind=kind, plural=res["resource"],
                    singular=res.get("singularResource") or kind.lower(),
                    namespaced=res.get("scope") == "Namespaced",
                    short_names=tuple(res.get("shortNames") or ()),
                    categories=tuple(res.get("categories") or ()),
                    subresources=tuple(s["subresource"] for s in res.get("subresources") or ()),
                    verbs=tuple(res.get("verbs") or ())))
    return infos
