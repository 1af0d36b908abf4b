"""Images for the pods: pull policies, pull back-off, and image garbage collection.

Everything goes through rootfs-tools' `ImageService` (content store, registry
client, snapshots); this module adds the kubelet's rules on top:

  imagePullPolicy  Never: use what is on the node, else ErrImageNeverPull.
                   IfNotPresent: pull only when the node lacks the image.
                   Always: ask the registry every time (only missing layers are
                   downloaded). An image of the local-only registry `localhost`
                   (built or imported on this node, as Podman names them; a short
                   name such as `busybox` finds `localhost/busybox`) has no
                   registry to ask: Always behaves as IfNotPresent for it.
  pull errors      the first failure is ErrImagePull with the registry's message;
                   until the back-off (10 s doubling to 5 min) has passed the
                   container waits in ImagePullBackOff without pulling again.
  image GC         above `high` of the image filesystem in use, images no container
                   on the node uses are removed, least recently used first, until
                   usage is below `low` (the kubelet's imageGCHigh/LowThreshold).

Pulls of one image are serialised (two pods of a new Deployment pull it once);
pulls of different images run in parallel in the pod workers' threads.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from supernetes.rootfs import reference as refs
from supernetes.rootfs.errors import ImageNotFound, RootfsError
from supernetes.rootfs.images import Image, ImageService

from .backoff import BackoffPolicy

log = logging.getLogger(__name__)

ALWAYS, IF_NOT_PRESENT, NEVER = "Always", "IfNotPresent", "Never"
LOCAL_REGISTRY = "localhost"


class ImagePullError(Exception):
    """The container cannot get its image; `reason` is what its status shows."""

    def __init__(self, reason: str, message: str, retry_at: float | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_at = retry_at


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    message: str = ""


class ImageManager:
    def __init__(self, service: ImageService, backoff: BackoffPolicy | None = None,
                 clock=time.time):
        self.service = service
        self.backoff = backoff or BackoffPolicy()
        self.clock = clock
        self._locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, _Failures] = {}
        self._last_used: dict[str, float] = {}
        self._mutex = threading.Lock()

    def ensure(self, image: str, policy: str = IF_NOT_PRESENT) -> tuple[Image, bool]:
        """The image, pulled if the policy says so; (image, whether it was pulled)."""
        try:
            ref = refs.parse(image)
        except RootfsError as exc:
            raise ImagePullError("InvalidImageName",
                                 f'Failed to apply default image tag "{image}": {exc}') from exc
        with self._lock_for(str(ref)):
            present = self._present(image)
            local_only = ref.registry == LOCAL_REGISTRY or (
                present is not None and refs.parse(present.name).registry == LOCAL_REGISTRY)
            if policy == NEVER or (present is not None and (policy != ALWAYS or local_only)):
                if present is None:
                    raise ImagePullError("ErrImageNeverPull",
                                         f'Container image "{image}" is not present with pull '
                                         "policy of Never")
                self._used(present.name)
                return present, False
            if local_only:
                raise ImagePullError("ErrImagePull", f'Failed to pull image "{image}": '
                                     "no such image on this node, and localhost images are "
                                     "never pulled from a registry")
            return self._pull(image), True

    def _pull(self, image: str) -> Image:
        now = self.clock()
        with self._mutex:
            failures = self._failures.get(image)
        if failures is not None:
            ready_at = failures.last + self._delay(failures.count)
            if now < ready_at:
                raise ImagePullError("ImagePullBackOff", f'Back-off pulling image "{image}"',
                                     retry_at=ready_at)
        try:
            record = self.service.pull(image)
            pulled = self.service.image(record.name)
        except (RootfsError, OSError) as exc:
            with self._mutex:
                failures = self._failures.setdefault(image, _Failures())
                failures.count += 1
                failures.last = self.clock()
                failures.message = str(exc)
                retry_at = failures.last + self._delay(failures.count)
            raise ImagePullError("ErrImagePull", f'Failed to pull image "{image}": {exc}',
                                 retry_at=retry_at) from exc
        with self._mutex:
            self._failures.pop(image, None)
        self._used(pulled.name)
        return pulled

    def _delay(self, failures: int) -> float:
        return min(self.backoff.initial * 2 ** (failures - 1), self.backoff.maximum)

    def _present(self, image: str) -> Image | None:
        try:
            return self.service.image(image)
        except ImageNotFound:
            return None
        except RootfsError as exc:
            log.warning("image %s is damaged in the store: %s", image, exc)
            return None

    def _lock_for(self, name: str) -> threading.Lock:
        with self._mutex:
            return self._locks.setdefault(name, threading.Lock())

    def _used(self, name: str) -> None:
        with self._mutex:
            self._last_used[name] = self.clock()

    # --- garbage collection --------------------------------------------------------------

    def disk_usage(self) -> float:
        """The fraction of the image filesystem in use."""
        fs = os.statvfs(self.service.store.root)
        return 1 - fs.f_bavail / fs.f_blocks if fs.f_blocks else 0.0

    def collect_garbage(self, in_use: set[str], high: float, low: float,
                        usage=None) -> list[str]:
        """Remove unused images while usage is above `low`, once it passed `high`.

        `in_use` holds image names or IDs that containers on the node run;
        `usage` (for tests) returns the fraction in use. Returns what was removed.
        """
        usage = usage or self.disk_usage
        if usage() <= high:
            return []
        removed = []
        candidates = []
        for image in self.service.images():
            if image.name in in_use or image.id in in_use:
                continue
            with self._mutex:
                last = self._last_used.get(image.name, 0.0)
            candidates.append((last, image.record.added or "", image.name))
        for _, _, name in sorted(candidates):
            if usage() <= low:
                break
            try:
                self.service.remove(name)
                removed.append(name)
                log.info("image GC removed %s", name)
            except RootfsError as exc:
                log.warning("image GC could not remove %s: %s", name, exc)
        return removed
