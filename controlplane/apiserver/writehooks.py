"""Per-kind hooks around the store write, for what a kind must reserve elsewhere.

Most kinds are written as they are; a Service also takes a cluster IP and node
ports, which must be unique across the cluster (serviceaddrs.py). `resources.py`
calls, for every create, update and delete (Kubernetes' BeginCreate,
BeginUpdate and AfterDelete):

    finish = begin_create(ctx, obj)       after validation, before the store write;
                                          may fill fields in and raise an ApiError
    finish = begin_update(ctx, new, old)  likewise for an update (also status, patch)
    finish(ok)                            after the write: ok says whether it landed
    after_delete(ctx, obj)                once the object is gone from the store

The hooks of each kind are registered on the app's `Server` (`write_hooks`,
keyed by (group, kind)); kinds without hooks get `NONE`, whose calls do nothing.
"""

from __future__ import annotations


def done(ok: bool) -> None:
    """The finish of a write that reserved nothing."""


class NoHooks:
    def begin_create(self, ctx, obj: dict):
        return done

    def begin_update(self, ctx, new: dict, old: dict):
        return done

    def after_delete(self, ctx, obj: dict) -> None:
        pass


NONE = NoHooks()


def of(ctx):
    """The write hooks of the kind `ctx` is about."""
    hooks = getattr(ctx.server, "write_hooks", None) or {}
    return hooks.get((ctx.rt.group, ctx.rt.kind), NONE)
