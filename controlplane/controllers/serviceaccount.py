"""The ServiceAccount controller: every active namespace has a `default` ServiceAccount.

Pods name `default` as their service account unless they say otherwise, and tools
(`kubectl create deployment`, Helm charts) expect it to exist. A namespace that
appears gets one; a `default` that is deleted comes back; a Terminating namespace
gets none. Tokens are not issued (no token controller).
"""

from __future__ import annotations

from supernetes.controlplane.client import AlreadyExists, ApiError, NotFound

from . import podutil
from .base import Controller, handlers
from .podcontrol import namespace_terminating

DEFAULT = "default"


class ServiceAccountController(Controller):
    name = "serviceaccount"
    component = "service-account-controller"

    def setup(self) -> None:
        self.namespaces = self.informer("v1", "Namespace")
        self.accounts = self.informer("v1", "ServiceAccount")
        self.namespaces.add_handler(**handlers(self.enqueue, on_delete=lambda ns: None))
        self.accounts.add_handler(on_delete=self._account_deleted)
        self.account_resource = self.resource("v1", "ServiceAccount")

    def _account_deleted(self, account: dict) -> None:
        meta = podutil.meta(account)
        if meta.get("name") == DEFAULT and meta.get("namespace"):
            self.queue.add(meta["namespace"])

    def sync(self, key: str) -> None:
        ns = self.namespaces.cache.get(key)
        if ns is None or podutil.terminating(ns) or \
                (ns.get("status") or {}).get("phase") == "Terminating":
            return
        if self.accounts.cache.get_by_name(DEFAULT, key) is not None:
            return
        try:
            self.account_resource.create({"apiVersion": "v1", "kind": "ServiceAccount",
                                          "metadata": {"name": DEFAULT, "namespace": key}}, key)
        except AlreadyExists:
            pass
        except NotFound:
            pass                        # the namespace went meanwhile
        except ApiError as exc:
            if not namespace_terminating(exc):
                raise
