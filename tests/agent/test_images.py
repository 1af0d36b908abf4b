"""Pull policies, pull back-off and image GC on a real image store (no registry needed:
the failures come from a registry address nothing listens on)."""

import pytest

from supernetes.agent.backoff import BackoffPolicy
from supernetes.agent.images import ImageManager, ImagePullError
from supernetes.rootfs.images import ImageService

NOWHERE = "127.0.0.1:9/team/app:1.0"  # the discard port: connection refused at once


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def manager(tmp_path, busybox_layout):
    service = ImageService(str(tmp_path / "images"), driver="native", progress=False)
    service.import_(busybox_layout)
    clock = Clock()
    manager = ImageManager(service, BackoffPolicy(initial=10, maximum=40), clock=clock)
    manager.clock_ = clock
    return manager


@pytest.mark.parametrize("policy", ["Never", "IfNotPresent", "Always"])
def test_a_local_image_is_used_as_it_is_whatever_the_policy(manager, policy):
    image, pulled = manager.ensure("busybox", policy)  # short name -> localhost/busybox
    assert image.name == "localhost/busybox:latest" and not pulled


def test_never_refuses_an_image_the_node_lacks(manager):
    with pytest.raises(ImagePullError) as failure:
        manager.ensure("example.com/nope:1", "Never")
    assert failure.value.reason == "ErrImageNeverPull"
    assert "is not present with pull policy of Never" in failure.value.message


def test_a_failed_pull_is_errimagepull_then_backs_off_then_retries(manager):
    with pytest.raises(ImagePullError) as first:
        manager.ensure(NOWHERE, "IfNotPresent")
    assert first.value.reason == "ErrImagePull"
    assert first.value.message.startswith(f'Failed to pull image "{NOWHERE}": ')
    assert first.value.retry_at == 1010.0
    manager.clock_.now += 5
    with pytest.raises(ImagePullError) as waiting:
        manager.ensure(NOWHERE, "IfNotPresent")
    assert waiting.value.reason == "ImagePullBackOff"
    assert waiting.value.message == f'Back-off pulling image "{NOWHERE}"'
    manager.clock_.now += 6
    with pytest.raises(ImagePullError) as again:
        manager.ensure(NOWHERE, "IfNotPresent")
    assert again.value.reason == "ErrImagePull"
    assert again.value.retry_at == manager.clock_.now + 20  # the delay doubled


def test_an_invalid_reference_is_invalidimagename(manager):
    with pytest.raises(ImagePullError) as failure:
        manager.ensure("UPPER/case:bad tag", "IfNotPresent")
    assert failure.value.reason == "InvalidImageName"


def test_image_gc_removes_only_unused_images_and_only_above_the_threshold(manager, tmp_path,
                                                                          busybox_layout):
    manager.service.import_(busybox_layout, name="localhost/spare:1")
    usage = iter([0.5])
    assert manager.collect_garbage(set(), high=0.85, low=0.80, usage=lambda: next(usage)) == []
    levels = iter([0.9, 0.9, 0.9, 0.7])
    removed = manager.collect_garbage({"localhost/busybox:latest"}, high=0.85, low=0.80,
                                      usage=lambda: next(levels))
    assert removed == ["localhost/spare:1"]
    assert [i.name for i in manager.service.images()] == ["localhost/busybox:latest"]
